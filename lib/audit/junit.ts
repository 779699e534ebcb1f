/**
 * A small structural validator for JUnit XML as CI systems read it (the common "Jenkins/Ant" shape):
 * `testsuites > testsuite > testcase > (failure | error | skipped | properties | system-out | system-err)`, with
 * numeric counters that agree with the test cases. It is not a schema validator; it catches the ways a report goes
 * wrong in practice (empty, truncated, counters out of step, a check that is not a test case).
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

export class XmlSyntaxError extends Error {
  override name = 'XmlSyntaxError';
}

function unescape(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (m, e: string) => {
    if (e[0] === '#')
      return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e.toLowerCase()] ?? m;
  });
}

/** Parse well-formed XML (elements, attributes, text, CDATA, comments, declarations) into a tree. */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const fail = (msg: string): never => {
    const line = xml.slice(0, i).split('\n').length;
    throw new XmlSyntaxError(`${msg} (line ${line})`);
  };
  while (i < xml.length) {
    if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i);
      if (end < 0) fail('unterminated declaration');
      i = end + 2;
    } else if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i);
      if (end < 0) fail('unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i);
      if (end < 0) fail('unterminated CDATA section');
      if (!stack.length) fail('CDATA outside the root element');
      stack[stack.length - 1].text += xml.slice(i + 9, end);
      i = end + 3;
    } else if (xml.startsWith('<!', i)) {
      const end = xml.indexOf('>', i);
      if (end < 0) fail('unterminated <! declaration');
      i = end + 1;
    } else if (xml.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(xml.slice(i, i + 200));
      if (!m) fail('malformed closing tag');
      const open = stack.pop();
      if (!open || open.name !== m![1]) fail(`closing tag </${m![1]}> does not match <${open?.name ?? '(none)'}>`);
      i += m![0].length;
    } else if (xml[i] === '<') {
      const m = /^<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(
        xml.slice(i),
      );
      if (!m) fail('malformed start tag');
      const attrs: Record<string, string> = {};
      for (const a of m![2].matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        if (a[1] in attrs) fail(`duplicate attribute ${a[1]} on <${m![1]}>`);
        attrs[a[1]] = unescape(a[2] ?? a[3] ?? '');
      }
      const el: XmlElement = { name: m![1], attrs, children: [], text: '' };
      if (stack.length) stack[stack.length - 1].children.push(el);
      else if (root) fail('more than one root element');
      else root = el;
      if (!m![3]) stack.push(el);
      i += m![0].length;
    } else {
      const next = xml.indexOf('<', i);
      const text = xml.slice(i, next < 0 ? xml.length : next);
      if (stack.length) stack[stack.length - 1].text += unescape(text);
      else if (text.trim()) fail('text outside the root element');
      i = next < 0 ? xml.length : next;
    }
  }
  if (stack.length) fail(`unclosed <${stack[stack.length - 1].name}>`);
  if (!root) throw new XmlSyntaxError('no root element (empty document)');
  return root;
}

export interface JunitCase {
  suite: string;
  classname: string;
  name: string;
  file?: string;
  status: 'passed' | 'failed' | 'error' | 'skipped';
  properties: Array<{ name: string; value: string }>;
}

export interface JunitReport {
  /** Structural problems, one line each; empty when the report has the expected shape. */
  problems: string[];
  cases: JunitCase[];
}

const CASE_CHILDREN = new Set(['failure', 'error', 'skipped', 'properties', 'system-out', 'system-err']);
const SUITE_CHILDREN = new Set(['testcase', 'properties', 'system-out', 'system-err', 'testsuite']);

function isCount(v: string | undefined): boolean {
  return v !== undefined && /^\d+$/.test(v);
}
function isTime(v: string | undefined): boolean {
  return v === undefined || /^\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v);
}

/** Parse and check a JUnit XML report; never throws (a syntax error is a problem). */
export function validateJunit(xml: string): JunitReport {
  const problems: string[] = [];
  const cases: JunitCase[] = [];
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (e) {
    return { problems: [`not well-formed XML: ${(e as Error).message}`], cases };
  }
  let suites: XmlElement[];
  if (root.name === 'testsuites') {
    suites = root.children.filter((c) => c.name === 'testsuite');
    const other = root.children.filter((c) => c.name !== 'testsuite');
    if (other.length) problems.push(`<testsuites> contains <${other[0].name}>; only <testsuite> is expected`);
  } else if (root.name === 'testsuite') {
    suites = [root];
  } else {
    return { problems: [`root element is <${root.name}>; expected <testsuites> or <testsuite>`], cases };
  }
  let total = 0;
  let totalFailures = 0;
  let totalErrors = 0;
  for (const s of suites) {
    const where = `<testsuite name="${s.attrs.name ?? ''}">`;
    if (!s.attrs.name) problems.push(`a <testsuite> has no name attribute`);
    for (const a of ['tests', 'failures', 'errors']) {
      if (!isCount(s.attrs[a])) problems.push(`${where}: ${a}="${s.attrs[a] ?? ''}" is not a count`);
    }
    if (s.attrs.skipped !== undefined && !isCount(s.attrs.skipped))
      problems.push(`${where}: skipped="${s.attrs.skipped}" is not a count`);
    if (!isTime(s.attrs.time)) problems.push(`${where}: time="${s.attrs.time}" is not a number of seconds`);
    for (const c of s.children)
      if (!SUITE_CHILDREN.has(c.name)) problems.push(`${where} contains unexpected <${c.name}>`);
    const tcs = s.children.filter((c) => c.name === 'testcase');
    let failures = 0;
    let errors = 0;
    let skipped = 0;
    for (const tc of tcs) {
      const name = tc.attrs.name;
      const cwhere = `${where} <testcase name="${name ?? ''}">`;
      if (!name) problems.push(`${where}: a <testcase> has no name attribute`);
      if (tc.attrs.classname === undefined) problems.push(`${cwhere}: no classname attribute`);
      if (!isTime(tc.attrs.time)) problems.push(`${cwhere}: time="${tc.attrs.time}" is not a number of seconds`);
      for (const c of tc.children)
        if (!CASE_CHILDREN.has(c.name)) problems.push(`${cwhere} contains unexpected <${c.name}>`);
      const failed = tc.children.some((c) => c.name === 'failure');
      const errored = tc.children.some((c) => c.name === 'error');
      const skip = tc.children.some((c) => c.name === 'skipped');
      if (skip && (failed || errored)) problems.push(`${cwhere} is both skipped and failed`);
      failures += failed ? 1 : 0;
      errors += errored ? 1 : 0;
      skipped += skip ? 1 : 0;
      const properties: JunitCase['properties'] = [];
      for (const ps of tc.children.filter((c) => c.name === 'properties')) {
        for (const p of ps.children) {
          if (p.name !== 'property' || p.attrs.name === undefined)
            problems.push(`${cwhere}: <properties> must hold <property name=...>`);
          else properties.push({ name: p.attrs.name, value: p.attrs.value ?? p.text.trim() });
        }
      }
      cases.push({
        suite: s.attrs.name ?? '',
        classname: tc.attrs.classname ?? '',
        name: name ?? '',
        file: tc.attrs.file,
        status: failed ? 'failed' : errored ? 'error' : skip ? 'skipped' : 'passed',
        properties,
      });
    }
    if (isCount(s.attrs.tests) && Number(s.attrs.tests) !== tcs.length)
      problems.push(`${where}: tests="${s.attrs.tests}" but it holds ${tcs.length} <testcase>`);
    if (isCount(s.attrs.failures) && Number(s.attrs.failures) !== failures)
      problems.push(`${where}: failures="${s.attrs.failures}" but ${failures} test case(s) have <failure>`);
    if (isCount(s.attrs.errors) && Number(s.attrs.errors) !== errors)
      problems.push(`${where}: errors="${s.attrs.errors}" but ${errors} test case(s) have <error>`);
    if (isCount(s.attrs.skipped) && Number(s.attrs.skipped) !== skipped)
      problems.push(`${where}: skipped="${s.attrs.skipped}" but ${skipped} test case(s) have <skipped>`);
    total += tcs.length;
    totalFailures += failures;
    totalErrors += errors;
  }
  if (root.name === 'testsuites') {
    const a = root.attrs;
    if (a.tests !== undefined && Number(a.tests) !== total)
      problems.push(`<testsuites>: tests="${a.tests}" but the suites hold ${total} <testcase>`);
    if (a.failures !== undefined && Number(a.failures) !== totalFailures)
      problems.push(`<testsuites>: failures="${a.failures}" but ${totalFailures} test case(s) failed`);
    if (a.errors !== undefined && Number(a.errors) !== totalErrors)
      problems.push(`<testsuites>: errors="${a.errors}" but ${totalErrors} test case(s) have <error>`);
  }
  return { problems, cases };
}
