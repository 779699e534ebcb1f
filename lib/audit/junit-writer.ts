/**
 * The run's junit.xml, written from checks.json (or, after a rerun, from the effective view) rather than by vitest's
 * reporter, so that it carries what JUnit viewers (GitLab, Jenkins, xunit-viewer) show:
 * - `classname` = the check's family (registry id: `row-counts`, `orphans`, …), `file` = its spec, `name` = the
 *   check's stable name (a skipped check's reason is never part of it);
 * - suite-level properties: run id, mode, the redacted source and target, the tool's provenance, rerun-of, selection;
 * - every check's evidence, warnings and full-list pointers in `<system-out>` (what CI pages display), and as
 *   per-case properties (`evidence.1`, `evidence.2`, …; viewers merge properties of the same name);
 * - a failure's first line as `message`, the whole finding as its text; a skipped check's reason in `<skipped message>`;
 * - a copy phase's `time` = the phase's real duration (state.json), not the few ms its test case took to read it.
 */
import type { CheckRecord } from './reporter.ts';
import { findingMessage } from './text.ts';
import { failingTests, tally } from './totals.ts';

export interface JunitRun {
  suiteName: string;
  /** Suite-level properties, in order (run id, mode, target, …). */
  properties: Array<[string, string]>;
  checks: Array<CheckRecord & { fromRun?: string }>;
  timestamp?: string;
  /** Real durations of the copy phases (ms), by phase name: `phase <name>` test cases take these as their time. */
  phaseDurations?: Record<string, number>;
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

/** A check's time in ms: a copy phase's real duration when known, else the test case's. */
export function caseMs(
  c: Pick<CheckRecord, 'name' | 'durationMs'>,
  phaseDurations: Record<string, number> = {},
): number {
  const phase = /^phase (\S+)$/.exec(c.name)?.[1];
  return (phase !== undefined ? phaseDurations[phase] : undefined) ?? c.durationMs ?? 0;
}

/** The `<system-out>` text of a check: its evidence, warnings and full-list pointers, one per line. */
export function systemOut(c: Pick<CheckRecord, 'annotations' | 'note' | 'state'>): string {
  const lines = c.annotations.map((a) =>
    a.type === 'evidence' ? a.message : `${a.type === 'warning' ? 'WARNING' : a.type}: ${a.message}`,
  );
  if (c.note && c.state !== 'passed' && c.state !== 'failed') lines.push(`skipped: ${c.note}`);
  return lines.join('\n');
}

function skipReason(c: CheckRecord): string | undefined {
  return c.note ?? (c.selected === false ? 'not selected by the rerun filter' : undefined);
}

function testcaseXml(c: CheckRecord & { fromRun?: string }, phaseDurations?: Record<string, number>): string {
  const attrs =
    `classname="${xmlEscape(c.family ?? 'other')}" name="${xmlEscape(c.name)}" file="${xmlEscape(c.file)}" ` +
    `time="${(caseMs(c, phaseDurations) / 1000).toFixed(3)}"`;
  const props = annotationProperties(c);
  if (c.fromRun) props.unshift(['result-from-run', c.fromRun]);
  const body: string[] = [];
  if (props.length) {
    body.push('      <properties>');
    for (const [k, v] of props) body.push(`        <property name="${xmlEscape(k)}" value="${xmlEscape(v)}"/>`);
    body.push('      </properties>');
  }
  if (c.state === 'failed') {
    const findings = c.errors.map((e) => findingMessage(e));
    const msg = (findings[0] ?? 'failed').split('\n')[0];
    body.push(
      `      <failure message="${xmlEscape(msg)}" type="CheckFailed">${xmlEscape(findings.join('\n\n') || msg)}</failure>`,
    );
  } else if (c.state !== 'passed') {
    const why = skipReason(c);
    body.push(`      <skipped${why ? ` message="${xmlEscape(why)}"` : ''}/>`);
  }
  const out = systemOut(c);
  if (out) body.push(`      <system-out>${xmlEscape(out)}</system-out>`);
  return body.length ? `    <testcase ${attrs}>\n${body.join('\n')}\n    </testcase>` : `    <testcase ${attrs}/>`;
}

/** The JUnit XML text of a run (one `<testsuite>` inside `<testsuites>`). */
export function junitXml(run: JunitRun): string {
  const cases = run.checks;
  const t = tally(cases);
  const skipped = t.skipped + t.notSelected;
  const time = (cases.reduce((s, c) => s + caseMs(c, run.phaseDurations), 0) / 1000).toFixed(3);
  const name = xmlEscape(run.suiteName);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8" ?>'];
  out.push(
    `<testsuites name="${name}" tests="${cases.length}" failures="${failingTests(t)}" errors="0" time="${time}">`,
  );
  out.push(
    `  <testsuite name="${name}" tests="${cases.length}" failures="${failingTests(t)}" errors="0" skipped="${skipped}" time="${time}"${run.timestamp ? ` timestamp="${xmlEscape(run.timestamp)}"` : ''}>`,
  );
  out.push('    <properties>');
  for (const [k, v] of [...run.properties, ['warnings', String(t.warnings)] as [string, string]])
    out.push(`      <property name="${xmlEscape(k)}" value="${xmlEscape(v)}"/>`);
  out.push('    </properties>');
  for (const c of cases) out.push(testcaseXml(c, run.phaseDurations));
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}

/**
 * The junit.xml of a run that was interrupted (a signal, exit ≥ 128) before its checks reported: one failing test
 * case `run interrupted` that says so, so CI shows a red, explained run instead of the previous run's green report.
 */
export function interruptedJunitXml(run: Omit<JunitRun, 'checks'> & { exitCode: number; reason: string }): string {
  return junitXml({
    ...run,
    checks: [
      {
        file: 'migration-rehearsal',
        name: 'run interrupted',
        fullName: 'run interrupted',
        state: 'failed',
        family: 'run',
        errors: [`the rehearsal was interrupted (exit ${run.exitCode}): ${run.reason}`],
        annotations: [{ type: 'evidence', message: run.reason }],
      },
    ],
  });
}
