/**
 * A small structural validator for JUnit XML as CI systems read it (the common "Jenkins/Ant" shape):
 * `testsuites > testsuite > testcase > (failure | error | skipped | properties | system-out | system-err)`, with
 * numeric counters that agree with the test cases. It is not a schema validator; it catches the ways a report goes
 * wrong in practice (empty, truncated, counters out of step, a check that is not a test case). The XML itself is
 * read by fast-xml-parser; the rules below are the JUnit ones.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** XML that is not well-formed; the message says what and on which line. */
export class XmlSyntaxError extends Error {
  override name = 'XmlSyntaxError';
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  cdataPropName: '#cdata',
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  htmlEntities: true,
});

/** fast-xml-parser's validation message, in this module's words (the tests and finalizeRun's problems use them). */
function syntaxMessage(msg: string): string {
  let m: RegExpExecArray | null;
  if ((m = /^Expected closing tag '([^']+)'.* instead of closing tag '([^']+)'/.exec(msg)))
    return `closing tag </${m[2]}> does not match <${m[1]}>`;
  if ((m = /^Unclosed tag '([^']+)'/.exec(msg))) return `unclosed <${m[1]}>`;
  if ((m = /^Attribute '([^']+)' is repeated/.exec(msg))) return `duplicate attribute ${m[1]}`;
  if (/^Attribute /.test(msg)) return `malformed start tag: ${msg}`;
  return msg;
}

type Node = Record<string, unknown> & { ':@'?: Record<string, string> };

function toElement(node: Node): XmlElement | string {
  const key = Object.keys(node).find((k) => k !== ':@')!;
  const body = node[key] as Node[];
  if (key === '#text') return String(body);
  if (key === '#cdata') return body.map((n) => String(n['#text'] ?? '')).join('');
  const el: XmlElement = { name: key, attrs: { ...(node[':@'] ?? {}) }, children: [], text: '' };
  for (const child of body) {
    const c = toElement(child);
    if (typeof c === 'string') el.text += c;
    else el.children.push(c);
  }
  return el;
}

/**
 * Parse well-formed XML (elements, attributes, text, CDATA; comments and declarations dropped) into a tree, with
 * fast-xml-parser: its validator first (a syntax error throws XmlSyntaxError with the message and line), then its
 * parser in document order. Entities are decoded in attributes and text; text and CDATA of an element are joined.
 */
export function parseXml(xml: string): XmlElement {
  if (!xml.trim()) throw new XmlSyntaxError('no root element (empty document)');
  const v = XMLValidator.validate(xml);
  if (v !== true) throw new XmlSyntaxError(`${syntaxMessage(v.err.msg)} (line ${v.err.line})`);
  const nodes = (parser.parse(xml) as Node[]).map(toElement);
  const roots = nodes.filter((n): n is XmlElement => typeof n !== 'string');
  if (nodes.some((n) => typeof n === 'string' && n.trim())) throw new XmlSyntaxError('text outside the root element');
  if (roots.length > 1) throw new XmlSyntaxError('more than one root element');
  if (!roots.length) throw new XmlSyntaxError('no root element (empty document)');
  return roots[0];
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
  for (const suite of suites) {
    const counts = checkSuite(suite, problems, cases);
    total += counts.tests;
    totalFailures += counts.failures;
    totalErrors += counts.errors;
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

/** One <testsuite>: its attributes and counts checked (problems appended), its test cases appended to `cases`. */
function checkSuite(
  s: XmlElement,
  problems: string[],
  cases: JunitCase[],
): { tests: number; failures: number; errors: number } {
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
  for (const tc of tcs) cases.push(checkCase(tc, s, where, problems));
  const having = (child: string) => tcs.filter((tc) => tc.children.some((c) => c.name === child)).length;
  const failures = having('failure');
  const errors = having('error');
  const skipped = having('skipped');
  const claim = (attr: string, n: number, what: string) => {
    if (isCount(s.attrs[attr]) && Number(s.attrs[attr]) !== n)
      problems.push(`${where}: ${attr}="${s.attrs[attr]}" but ${what}`);
  };
  claim('tests', tcs.length, `it holds ${tcs.length} <testcase>`);
  claim('failures', failures, `${failures} test case(s) have <failure>`);
  claim('errors', errors, `${errors} test case(s) have <error>`);
  claim('skipped', skipped, `${skipped} test case(s) have <skipped>`);
  return { tests: tcs.length, failures, errors };
}

/** One <testcase>: its attributes and children checked (problems appended); returns what it says. */
function checkCase(tc: XmlElement, s: XmlElement, where: string, problems: string[]): JunitCase {
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
  const properties: JunitCase['properties'] = [];
  for (const ps of tc.children.filter((c) => c.name === 'properties')) {
    for (const p of ps.children) {
      if (p.name !== 'property' || p.attrs.name === undefined)
        problems.push(`${cwhere}: <properties> must hold <property name=...>`);
      else properties.push({ name: p.attrs.name, value: p.attrs.value ?? p.text.trim() });
    }
  }
  return {
    suite: s.attrs.name ?? '',
    classname: tc.attrs.classname ?? '',
    name: name ?? '',
    file: tc.attrs.file,
    status: failed ? 'failed' : errored ? 'error' : skip ? 'skipped' : 'passed',
    properties,
  };
}
