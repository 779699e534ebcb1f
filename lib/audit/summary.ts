/**
 * The human summary printed at the end of every run: what was copied and how long it took, what was checked, the
 * failures by name, where the reports are and how to look at them. Built from the manifest, so what the operator
 * reads on the terminal is what the audit trail records.
 */
import fs from 'node:fs';
import path from 'node:path';
import { formatBytes, formatDuration, plural } from '../core/format.ts';
import type { Manifest } from './manifest.ts';
import { failedText } from './totals.ts';
import { findingMessage, wrapText } from './text.ts';
import { detailLine } from '../core/display.ts';

export interface SummaryPaths {
  runDir: string;
  reportsDir: string;
  workDir: string;
  /** Whether the `latest` pointer now names this run. */
  isLatest: boolean;
}

/** The command that serves a run's HTML report (it cannot be opened as a file:// page). */
export function htmlViewCommand(runDir: string): string {
  const rel = path.relative(process.cwd(), path.join(runDir, 'html'));
  const shown = rel && !rel.startsWith('..') ? rel : path.join(runDir, 'html');
  return `npx vite preview --outDir ${shown.includes(' ') ? JSON.stringify(shown) : shown}`;
}

/**
 * A check's message for a line that already names the check: vitest's matcher tail dropped (findingMessage) and a
 * leading `<name>: ` (the check's own name, repeated inside its message) left out.
 */
export function messageAfterName(name: string, message: string): string {
  const m = findingMessage(message);
  return m.startsWith(`${name}: `) ? m.slice(name.length + 2) : m;
}

/** Report files (among those a run writes) that exist in `runDir`, in the order they are listed. */
export function existingReportFiles(runDir: string): string[] {
  return ['junit.xml', 'results.json', 'checks.json', 'effective.json', 'html/', 'manifest.json'].filter((f) =>
    fs.existsSync(path.join(runDir, f)),
  );
}

/** The run's checks left no checks.json (the manifest's audit problems say so): its totals are unknown, not zero. */
function totalsUnrecorded(m: Partial<Pick<Manifest, 'auditProblems'>>): boolean {
  return m.auditProblems?.some((p) => p.startsWith('checks.json is missing')) ?? false;
}

/**
 * The closing line CI log parsers recognise: `N passed, N failed, N skipped`. When the checks' results could not be
 * recorded (no checks.json, e.g. a full disk: the manifest's audit problems say so) it says that instead, with the
 * exit code, never a clean-looking "0 failed" (issue 26).
 */
export function closingLine(
  m: Pick<Manifest, 'totals'> & Partial<Pick<Manifest, 'auditProblems' | 'exitCode'>>,
): string {
  if (totalsUnrecorded(m))
    return `checks: the totals could not be recorded (checks.json is missing, see the notes above); exit ${m.exitCode ?? '?'}`;
  const w = m.totals.warnings ?? 0;
  return `${m.totals.passed} passed, ${m.totals.failed} failed, ${m.totals.skipped} skipped${w ? `, ${plural(w, 'warning')}` : ''}`;
}

/**
 * The summary printed at the end of a run, one string per line: title (run id, mode, duration, exit code), phases,
 * failures with their messages, where the reports are and how to view the HTML one, `notes`, and last the closing
 * line `N passed, N failed, N skipped` that CI log parsers read.
 */
export function formatSummary(m: Manifest, p: SummaryPaths, notes: string[] = []): string[] {
  const lines: string[] = [];
  const title = `rehearsal ${m.runId}: ${m.mode}${m.rerunOf ? ` (rerun of ${m.rerunOf})` : ''}, ${formatDuration(m.durationMs)}, exit ${m.exitCode}`;
  lines.push('', `── summary ${'─'.repeat(Math.max(0, Math.min(100, title.length) - 11))}`, title);
  lines.push(...copyLines(m), ...outcomeLines(m, notes), ...whereLines(p));
  lines.push(closingLine(m));
  return lines;
}

/** What was copied: the phases with their durations and reasons, the dump, what the plan checks. */
function copyLines(m: Manifest): string[] {
  const lines: string[] = [];
  // What was copied.
  const ran = m.phases.filter((ph) => ph.status !== 'skipped');
  if (m.mode !== 'full') {
    lines.push(`copy:     none (${m.mode === 'rerun' ? '--rerun-failed' : '--verify-only'}: checks only)`);
  } else if (!m.phases.length) {
    lines.push('copy:     no phase recorded (global setup did not run; see the output above)');
  } else if (!ran.length) {
    lines.push('copy:     every phase was skipped');
  }
  if (m.phases.length && (m.mode === 'full' || ran.length)) {
    lines.push('phases:');
    const w = Math.max(...m.phases.map((ph) => ph.name.length));
    for (const ph of m.phases) {
      const d = formatDuration(ph.durationMs);
      lines.push(
        `  ${ph.name.padEnd(w)}  ${ph.status.padEnd(11)} ${d.padStart(9)}${ph.reason ? `  ${ph.reason}` : ''}`,
      );
      for (const h of ph.serverHints ?? []) lines.push(`  ${' '.repeat(w)}  server said: ${h}`);
    }
  }
  if (m.dump) {
    const toc = m.dump.toc
      ? Object.entries(m.dump.toc)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ')
      : '';
    lines.push(
      `dump:     ${m.dump.provided ? 'provided ' : ''}${m.dump.format}${m.dump.bytes !== undefined ? `, ${formatBytes(m.dump.bytes)}` : ''}` +
        `${m.dump.sha256 ? `, sha256 ${m.dump.sha256.slice(0, 16)}…` : ''}${toc ? `; TOC: ${toc}` : ''}`,
    );
  }
  if (m.plan) {
    lines.push(
      `checked:  ${m.plan.tables} table(s) (from ${m.plan.tablesFrom}), ${m.plan.relations} relation(s), ` +
        `${m.plan.assetSample.items} sampled asset path(s) (seed ${m.plan.assetSample.seed})`,
    );
  } else if (m.planError) {
    lines.push(`checked:  no plan: ${m.planError}`);
  }

  return lines;
}

/** The outcome: totals, the effective view, warnings, failures, a rerun's result and the notes. */
function outcomeLines(m: Manifest, notes: string[]): string[] {
  const lines: string[] = [];
  // Outcome.
  const t = m.totals;
  lines.push(
    totalsUnrecorded(m)
      ? 'checks:   not recorded (checks.json is missing)'
      : `checks:   ${t.passed} passed, ${failedText(t)}, ${t.skipped} skipped, ${plural(t.warnings ?? 0, 'warning')}${t.notSelected ? ` (${t.notSelected} not selected by the rerun filter)` : ''}`,
  );
  if (m.effective) {
    const e = m.effective.totals;
    lines.push(
      `effective: ${e.passed} passed, ${e.failed} failed, ${e.skipped} skipped, ${plural(e.warnings ?? 0, 'warning')} over runs ${m.effective.runs.join(' → ')} (effective.json; junit.xml shows this view)`,
    );
  }
  if (m.warnings?.length) {
    lines.push('warnings:');
    for (const w of m.warnings.slice(0, 20))
      lines.push(
        ...wrapText(`${w.name}: ${messageAfterName(w.name, w.message)}`, 118, '  ⚠ ', '    ').map((l, i) =>
          i ? detailLine(l) : l,
        ),
      );
    if (m.warnings.length > 20) lines.push(`  … and ${m.warnings.length - 20} more (see report.html)`);
  }
  if (m.failures.length) lines.push(...failureLines(m));
  if (m.rerun) {
    const r = m.rerun;
    lines.push(
      `rerun:    ${r.nowPassing.length} of ${r.previouslyFailed.length} previously failed check(s) now pass (run ${r.of})`,
    );
    for (const n of r.stillFailing) lines.push(`  still failing: ${n}`);
    for (const n of r.notRun) lines.push(`  not run (no check by that name any more): ${n}`);
  }
  for (const n of notes) lines.push(`note:     ${n}`);

  return lines;
}

/** Where it all is: the report files, `latest`, the manifest copy and how to view the HTML report. */
function whereLines(p: SummaryPaths): string[] {
  const lines: string[] = [];
  // Where it all is.
  // Only a report that was written is offered (a full REPORTS_DIR or an interrupted run may leave none).
  const html = path.join(p.runDir, 'report.html');
  lines.push(
    fs.existsSync(html)
      ? `report:   ${html}  (open it in a browser; summary.md for a PR comment)`
      : `report:   not written (report.html is missing from ${p.runDir}: see the notes above)`,
  );
  // Only the files that exist: an interrupted run may have written none of vitest's.
  const files = existingReportFiles(p.runDir);
  lines.push(`reports:  ${p.runDir}  (${files.length ? files.join(', ') : 'no report files were written'})`);
  if (p.isLatest) {
    lines.push(
      `          ${path.join(p.reportsDir, 'latest')} → this run; CI copy: ${path.join(p.reportsDir, 'junit.xml')}`,
    );
  }
  lines.push(`          manifest copy: ${path.join(p.workDir, 'manifest.json')}`);
  // `npm run report` serves REPORTS_DIR/latest; say which REPORTS_DIR when it is not the default one.
  const reportCmd =
    path.resolve(p.reportsDir) === path.resolve('reports')
      ? 'npm run report'
      : `REPORTS_DIR=${p.reportsDir} npm run report`;
  if (fs.existsSync(path.join(p.runDir, 'html')))
    lines.push(`view:     ${htmlViewCommand(p.runDir)}   (or: ${reportCmd}, for the latest run)`);
  return lines;
}

/**
 * A message's first line for a one-line list; a line that only introduces a list (`refused before any write …:`)
 * gets the list's first item after it, so a failed phase's line says why (`… : DST_DROP_SCHEMA=1 refused …`).
 */
export function firstReasonLine(message: string): string {
  const [first = '', next] = message.split('\n');
  return /:\s*$/.test(first) && next !== undefined ? `${first.trimEnd()} ${next.trim().replace(/^- /, '')}` : first;
}

/**
 * The `failed:` block: each cause once (`✗`), the failures that follow from it listed under it (`↳`, with what they
 * said), so one missing file reads as one red with its consequences, not three independent failures.
 */
function failureLines(m: Manifest): string[] {
  const lines = ['failed:'];
  const line = (f: Manifest['failures'][number], mark: string) => {
    const why = f.error ? ` — ${firstReasonLine(messageAfterName(f.name, f.error))}` : '';
    const list = m.fullLists?.[f.name];
    // One line per failure, never cut (a terminal or log viewer wraps it; grep finds it whole).
    return `${mark} ${f.name}  (${f.file})${why}${list ? ` [full list: ${list}]` : ''}`;
  };
  const causes = m.failures.filter((f) => f.causedBy === undefined);
  for (const f of causes.slice(0, 50)) {
    lines.push(line(f, '  ✗'));
    for (const k of m.failures.filter((x) => x.causedBy === f.name)) lines.push(line(k, '      ↳ consequence:'));
  }
  if (causes.length > 50) lines.push(`  … and ${causes.length - 50} more (see junit.xml)`);
  return lines;
}
