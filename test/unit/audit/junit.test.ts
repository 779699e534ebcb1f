import { describe, expect, test } from 'vitest';
import { parseXml, validateJunit } from '../../../lib/audit/junit.ts';

const GOOD = `<?xml version="1.0" encoding="UTF-8" ?>
<!-- written by a reporter -->
<testsuites name="migration-rehearsal" tests="3" failures="1" errors="0" time="0.5">
  <testsuite name="specs/health.spec.ts" timestamp="2026-01-01T00:00:00Z" hostname="h" tests="3" failures="1" errors="0" skipped="1" time="0.5">
    <testcase classname="specs/health.spec.ts" file="specs/health.spec.ts" name="health GET /health?a=1&amp;b=&quot;2&quot;" time="0.1">
      <properties>
        <property name="evidence" value="HTTP 200 in 3 ms"></property>
      </properties>
    </testcase>
    <testcase classname="specs/health.spec.ts" name="row count public.users" time="0.2">
      <failure message="expected 30, got 29" type="AssertionError"><![CDATA[AssertionError: expected <30> rows]]></failure>
      <failure message="second soft failure" type="AssertionError">two</failure>
    </testcase>
    <testcase classname="specs/health.spec.ts" name="phase dump (not run)" time="0">
      <skipped/>
    </testcase>
    <system-out>out</system-out>
  </testsuite>
</testsuites>
`;

describe('parseXml', () => {
  test('reads elements, attributes with entities, CDATA and text', () => {
    const root = parseXml(GOOD);
    expect(root.name).toBe('testsuites');
    const cases = root.children[0].children.filter((c) => c.name === 'testcase');
    expect(cases[0].attrs.name).toBe('health GET /health?a=1&b="2"');
    expect(cases[1].children[0].text).toBe('AssertionError: expected <30> rows');
  });

  test.each([
    ['', /no root element/],
    ['<a><b></a>', /does not match/],
    ['<a>', /unclosed <a>/],
    ['<a/><b/>', /more than one root/],
    ['<a x="1" x="2"/>', /duplicate attribute/],
    ['<a x=1/>', /malformed start tag/],
  ])('rejects %j', (xml, message) => {
    expect(() => parseXml(xml)).toThrow(message);
  });
});

describe('validateJunit', () => {
  test('accepts the common shape and lists every test case with its status and properties', () => {
    const r = validateJunit(GOOD);
    expect(r.problems).toEqual([]);
    expect(r.cases.map((c) => [c.name, c.status])).toEqual([
      ['health GET /health?a=1&b="2"', 'passed'],
      ['row count public.users', 'failed'],
      ['phase dump (not run)', 'skipped'],
    ]);
    expect(r.cases[0].properties).toEqual([{ name: 'evidence', value: 'HTTP 200 in 3 ms' }]);
  });

  test('accepts a single <testsuite> root', () => {
    expect(
      validateJunit(
        '<testsuite name="x" tests="1" failures="0" errors="0"><testcase classname="c" name="n"/></testsuite>',
      ).problems,
    ).toEqual([]);
  });

  test.each([
    ['an empty file', '', /not well-formed XML: no root element/],
    ['a truncated file', GOOD.slice(0, GOOD.length / 2), /not well-formed XML/],
    ['another root', '<results/>', /root element is <results>/],
    [
      'counters out of step',
      GOOD.replace('tests="3" failures="1" errors="0" skipped="1"', 'tests="4" failures="1" errors="0" skipped="1"'),
      /tests="4" but it holds 3 <testcase>/,
    ],
    [
      'a wrong failure count',
      GOOD.replace('tests="3" failures="1" errors="0" time="0.5"', 'tests="3" failures="0" errors="0" time="0.5"'),
      /<testsuites>: failures="0" but 1 test case\(s\) failed/,
    ],
    [
      'a wrong skipped count',
      GOOD.replace('skipped="1"', 'skipped="0"'),
      /skipped="0" but 1 test case\(s\) have <skipped>/,
    ],
    [
      'a test case without a name',
      GOOD.replace('name="row count public.users"', ''),
      /a <testcase> has no name attribute/,
    ],
    [
      'a test case without a classname',
      GOOD.replace('classname="specs/health.spec.ts" name="row count', 'name="row count'),
      /no classname attribute/,
    ],
    [
      'a non-numeric counter',
      GOOD.replace('errors="0" skipped', 'errors="none" skipped'),
      /errors="none" is not a count/,
    ],
    ['an unexpected child', GOOD.replace('<skipped/>', '<skipped/><oops/>'), /contains unexpected <oops>/],
    ['a bad time', GOOD.replace('time="0.2"', 'time="fast"'), /time="fast" is not a number/],
  ])('reports %s', (_what, xml, problem) => {
    const r = validateJunit(xml);
    expect(r.problems.join('\n')).toMatch(problem);
  });
});
