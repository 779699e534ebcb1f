/**
 * The run's junit.xml, written from checks.json (or, after a rerun, from the effective view) rather than by vitest's
 * reporter, so that it carries what JUnit viewers show well:
 * - `classname` = the check's family (registry id: `row-counts`, `orphans`, …), `file` = its spec;
 * - suite-level properties: run id, mode, the redacted target, rerun-of, selection, warnings;
 * - each evidence annotation as its own property with a distinct name (`evidence.1`, `evidence.2`, …; viewers merge
 *   properties of the same name), warnings as `warning.N` and in `<system-out>`, full lists as `full-list`;
 * - a skipped check's reason in `<skipped message>`.
 */
import type { CheckRecord } from './reporter.ts';
import { findingMessage } from './text.ts';

export interface JunitRun {
  suiteName: string;
  /** Suite-level properties, in order (run id, mode, target, …). */
  properties: Array<[string, string]>;
  checks: Array<CheckRecord & { fromRun?: string }>;
  timestamp?: string;
}

/** XML attribute/text escaping; characters XML 1.0 forbids are dropped. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Property names for a check's annotations: `<type>.<n>` counted per type, so no two share a name. */
export function annotationProperties(c: Pick<CheckRecord, 'annotations'>): Array<[string, string]> {
  const seen = new Map<string, number>();
  return c.annotations.map((a) => {
    const n = (seen.get(a.type) ?? 0) + 1;
    seen.set(a.type, n);
    return [`${a.type}.${n}`, a.message] as [string, string];
  });
}

/** The JUnit XML text of a run (one `<testsuite>` inside `<testsuites>`). */
export function junitXml(run: JunitRun): string {
  const cases = run.checks;
  const failures = cases.filter((c) => c.state === 'failed').length;
  const skipped = cases.filter((c) => c.state !== 'passed' && c.state !== 'failed').length;
  const time = (cases.reduce((t, c) => t + (c.durationMs ?? 0), 0) / 1000).toFixed(3);
  const warnings = cases.filter((c) => c.warning);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8" ?>'];
  out.push(
    `<testsuites name="${xmlEscape(run.suiteName)}" tests="${cases.length}" failures="${failures}" errors="0" time="${time}">`,
  );
  out.push(
    `  <testsuite name="${xmlEscape(run.suiteName)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${time}"${run.timestamp ? ` timestamp="${xmlEscape(run.timestamp)}"` : ''}>`,
  );
  out.push('    <properties>');
  for (const [k, v] of [...run.properties, ['warnings', String(warnings.length)] as [string, string]])
    out.push(`      <property name="${xmlEscape(k)}" value="${xmlEscape(v)}"/>`);
  out.push('    </properties>');
  for (const c of cases) {
    const family = c.family ?? 'other';
    const attrs = `classname="${xmlEscape(family)}" name="${xmlEscape(c.name)}" file="${xmlEscape(c.file)}" time="${((c.durationMs ?? 0) / 1000).toFixed(3)}"`;
    const props = annotationProperties(c);
    if (c.fromRun) props.unshift(['result-from-run', c.fromRun]);
    const body: string[] = [];
    if (props.length) {
      body.push('      <properties>');
      for (const [k, v] of props) body.push(`        <property name="${xmlEscape(k)}" value="${xmlEscape(v)}"/>`);
      body.push('      </properties>');
    }
    if (c.state === 'failed') {
      const msg = findingMessage(c.errors[0] ?? 'failed');
      body.push(
        `      <failure message="${xmlEscape(msg.split('\n')[0])}" type="CheckFailed">${xmlEscape(c.errors.join('\n\n'))}</failure>`,
      );
    } else if (c.state !== 'passed') {
      const why =
        c.note ?? (c.selected === false ? 'not selected by the rerun filter' : /\(([^()]*)\)$/.exec(c.name)?.[1]);
      body.push(`      <skipped${why ? ` message="${xmlEscape(why)}"` : ''}/>`);
    }
    const warn = c.annotations.filter((a) => a.type === 'warning');
    if (warn.length)
      body.push(`      <system-out>${xmlEscape(warn.map((w) => `WARNING: ${w.message}`).join('\n'))}</system-out>`);
    out.push(body.length ? `    <testcase ${attrs}>\n${body.join('\n')}\n    </testcase>` : `    <testcase ${attrs}/>`);
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}
