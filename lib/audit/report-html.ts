/**
 * The rehearsal report a person reads: `report.html`, one self-contained file in every run folder (inline CSS, no
 * script, no font or image from anywhere: it opens from file://, from a CI artifact or an e-mail attachment), and
 * `summary.md`, the same story short enough for a PR comment or a chat message.
 *
 * Built from the manifest and the check records only (what the audit trail says, nothing else). Order of the page:
 * verdict and run facts (source and target redacted, the tool's version and commit, vitest, node, host, operator) →
 * failures first, each with its whole evidence (message, every annotation, the full list inline up to a limit) →
 * warnings and pre-existing source defects → pictures (inline SVG drawn by lib/audit/charts.ts: phase timeline,
 * tables largest first, asset census, the last runs with the downtime estimate) → the effective view after reruns →
 * copy phases (durations, dump size and sha256) → checks by family with counts, every check's evidence on expand
 * (<details>) → report-file hashes. Long keys and paths wrap;
 * nothing needs a horizontal scroll.
 */
import fs from 'node:fs';
import path from 'node:path';
import { formatBytes, formatDuration, plural } from '../core/format.ts';
import { htmlMessage, htmlText, markdownCode, markdownMessage, markdownText } from '../core/escape.ts';
import { escapeNameBytes } from '../checks/shared/asset-paths.ts';
import { FAMILIES } from '../checks/registry.ts';
import type { EffectiveView } from './effective.ts';
import type { Manifest } from './manifest.ts';
import type { CheckRecord } from './reporter.ts';
import { findingMessage } from './text.ts';
import { CENSUS_PARTS, phaseSpans } from './report-data.ts';
import { censusBarSvg, historyChartSvg, phaseTimelineSvg, tableChartSvg } from './charts.ts';
import { historyEntry } from './history.ts';
import { consequencesByCause } from './causes.ts';
import { failedText, isWarning, tally, type RunTotals } from './totals.ts';
import type { HistoryRun } from './history.ts';

export const REPORT_HTML = 'report.html';
export const SUMMARY_MD = 'summary.md';

/** Lines of a full list shown inline in report.html (the file beside it has them all). */
export const INLINE_LIST_LINES = 500;

/** Tables drawn on the tables chart (largest first); the rest are counted in its title. */
export const TABLES_CHARTED = 30;

export interface ReportInput {
  manifest: Manifest;
  checks: CheckRecord[];
  effective?: EffectiveView;
  /** The run folder: full lists are read from it (failures/*.txt). */
  runDir: string;
  /** Earlier full rehearsals (oldest first) for the history chart; this run is added when it was a full one. */
  history?: HistoryRun[];
}

/** Any value shown in report.html, as HTML text or a quoted attribute (lib/core/escape.ts htmlText: names from a
 * database or a file system never become markup, and their control characters are shown escaped). */
function esc(s: string | number | undefined): string {
  return htmlText(String(s ?? ''));
}

function familyLabel(id: string | undefined): string {
  return FAMILIES.find((f) => f.id === id)?.label ?? id ?? 'other';
}

/** The full-list path an annotation names (`failures/x.txt: 12 item(s)` → `failures/x.txt`). */
export function fullListPath(c: Pick<CheckRecord, 'annotations'>): string | undefined {
  const a = c.annotations.find((x) => x.type === 'full-list');
  return a ? /^(\S+\.txt):/.exec(a.message)?.[1] : undefined;
}

function verdictOf(m: Manifest): { word: string; cls: string } {
  if (m.exitCode === 0) return { word: (m.totals.warnings ?? 0) > 0 ? 'PASSED with warnings' : 'PASSED', cls: 'ok' };
  if (m.exitCode === 1) return { word: 'FAILED: a check failed', cls: 'bad' };
  if (m.exitCode === 2) return { word: 'REFUSED: configuration or preflight (nothing was touched)', cls: 'bad' };
  if (m.exitCode === 3) return { word: 'FAILED: a copy phase failed', cls: 'bad' };
  return { word: `STOPPED (exit ${m.exitCode})`, cls: 'bad' };
}

const CSS = `
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:#1d2327;margin:0;background:#f6f7f7}
main{max-width:1100px;margin:0 auto;padding:16px 20px 48px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ccd0d4;padding-bottom:4px}
h3{font-size:15px;margin:0 0 6px;overflow-wrap:anywhere}
.verdict{padding:10px 14px;border-radius:6px;font-weight:600;font-size:17px}
.verdict.ok{background:#e7f6ec;color:#0a5c2b;border:1px solid #9bd3ad}.verdict.bad{background:#fcebea;color:#8a1f11;border:1px solid #e5a29a}
table{border-collapse:collapse;width:100%;table-layout:fixed;background:#fff}
td,th{border:1px solid #dcdcde;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere;word-break:break-word}
th{background:#f0f0f1;font-weight:600}
.facts td:first-child{width:180px;font-weight:600}
.counts span{display:inline-block;margin-right:14px;font-weight:600}
.pass{color:#0a5c2b}.fail{color:#a00}.skip{color:#555}.warn{color:#8a5a00}
.card{background:#fff;border:1px solid #dcdcde;border-left:5px solid #a00;border-radius:4px;padding:10px 12px;margin:10px 0}
.card.warn{border-left-color:#d9a400}
.consequences{margin-left:24px}.consequences .card{border-left-color:#d98080}
pre,code,.mono{font:13px/1.4 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
pre{white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word;margin:6px 0;background:#f6f7f7;padding:6px 8px;border-radius:3px;max-width:100%}
ul.ev{margin:4px 0 4px 18px;padding:0}ul.ev li{overflow-wrap:anywhere;word-break:break-word}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}
details.evidence{margin:0}details.evidence summary{font-weight:400}
figure.chart{margin:12px 0;background:#fff;border:1px solid #dcdcde;border-radius:4px;padding:8px;max-width:100%;overflow:hidden}
figure.chart svg{max-width:100%;height:auto}figcaption{margin-bottom:6px;overflow-wrap:anywhere}
.small{color:#50575e;font-size:13px}
`;

function stateWord(c: Pick<CheckRecord, 'state' | 'warning'>): string {
  if (c.state === 'passed') return c.warning ? '<span class="warn">warning</span>' : '<span class="pass">passed</span>';
  if (c.state === 'failed') return '<span class="fail">FAILED</span>';
  return '<span class="skip">not run</span>';
}

/**
 * A full-list file's lines as text. A path list holds each name's exact bytes (lib/checks/shared/full-list.ts
 * writePathList), which need not be UTF-8: when the file is not valid UTF-8, every line is shown byte-exact as the
 * console shows names (`caf\xE9.jpg`, a backslash as `\\`; lib/checks/shared/asset-paths.ts escapeNameBytes), never
 * with U+FFFD replacement characters. A valid UTF-8 file is shown as written.
 */
export function listLines(bytes: Buffer): string[] {
  const text = bytes.toString('utf8');
  const valid = Buffer.from(text, 'utf8').equals(bytes);
  const body = valid ? text : bytes.toString('latin1');
  const lines = body.replace(/\n$/, '').split('\n');
  return valid ? lines : lines.map((l) => escapeNameBytes(Buffer.from(l, 'latin1')));
}

function listInline(runDir: string, rel: string): string {
  const file = path.join(runDir, rel);
  if (!fs.existsSync(file)) return `<p class="small">full list ${esc(rel)} (missing)</p>`;
  const lines = listLines(fs.readFileSync(file));
  const shown = lines.slice(0, INLINE_LIST_LINES);
  return (
    `<p class="small">Full list: <a href="${esc(rel)}">${esc(rel)}</a> (${lines.filter((l) => !l.startsWith('#')).length} item(s), one per line)</p>` +
    `<pre class="full-list">${shown.map(esc).join('\n')}${lines.length > shown.length ? `\n… ${lines.length - shown.length} more line(s) in ${esc(rel)}` : ''}</pre>`
  );
}

function failureCard(c: CheckRecord, runDir: string): string {
  const ev = c.annotations.filter((a) => a.type !== 'full-list');
  const list = fullListPath(c);
  return `<div class="card failure" data-check="${esc(c.name)}">
<h3>✗ ${esc(c.name)}</h3>
<div class="small">${esc(familyLabel(c.family))} · ${esc(c.file)}${'fromRun' in c ? ` · result of run ${esc((c as { fromRun?: string }).fromRun)}` : ''}</div>
${c.errors.map((e) => `<pre class="message">${htmlMessage(findingMessage(e), { pre: true })}</pre>`).join('\n')}
${ev.length ? `<ul class="ev">${ev.map((a) => `<li>${a.type === 'evidence' ? '' : `<b>${esc(a.type)}:</b> `}${htmlMessage(a.message)}</li>`).join('')}</ul>` : ''}
${list ? listInline(runDir, list) : ''}
</div>`;
}

/** The run facts table: run, mode, source and target (redacted), timing, exit code, selection, provenance. */
function factsTable(m: Manifest): string {
  const p = m.provenance;
  const facts: Array<[string, string]> = [
    ['run id', m.runId],
    ['mode', `${m.mode}${m.rerunOf ? ` (rerun of ${m.rerunOf})` : ''}`],
    ['source', m.source?.database ?? m.config.SRC_DATABASE_URL ?? 'not recorded'],
    ['source assets', m.source?.assetsDir ?? m.config.SRC_ASSETS_DIR ?? 'not recorded'],
    ['target', m.target?.database ?? m.config.DST_DATABASE_URL ?? ''],
    ['target assets', m.target?.assetsDir ?? m.config.DST_ASSETS_DIR ?? ''],
    ['started', m.startedAt],
    ['finished', `${m.finishedAt} (${formatDuration(m.durationMs)})`],
    ['exit code', String(m.exitCode)],
  ];
  if (m.selection && (m.selection.select.length || m.selection.exclude.length))
    facts.push([
      'selection',
      `${m.selection.select.length ? `--select ${m.selection.select.join(',')}` : ''} ${m.selection.exclude.length ? `--exclude ${m.selection.exclude.join(',')}` : ''}`.trim(),
    ]);
  if (p)
    facts.push(
      ['produced by', `${p.tool}, commit ${p.commit}`],
      ['runtime', `vitest ${p.vitest}, node ${p.node}`],
      ['host / operator', `${p.host} / ${p.operator}`],
    );
  return `<table class="facts">${facts.map(([k, x]) => `<tr><td>${esc(k)}</td><td>${esc(x)}</td></tr>`).join('')}</table>`;
}

/** The counts line of this run and, after reruns, of the effective view. */
function countsHtml(m: Manifest, effective: EffectiveView | undefined): string[] {
  const t = m.totals;
  const out = [
    `<p class="counts"><span class="pass">${t.passed} passed</span><span class="fail">${esc(failedText(t))}</span><span class="skip">${t.skipped} not run</span><span class="warn">${plural(t.warnings ?? 0, 'warning')}</span>${t.notSelected ? `<span class="skip">${t.notSelected} not selected by the rerun filter</span>` : ''}</p>`,
  ];
  if (effective && effective.runs.length > 1) {
    const e = effective.totals;
    out.push(
      `<p class="counts">Effective verdict over runs ${esc(effective.runs.join(' → '))}: <span class="pass">${e.passed} passed</span><span class="fail">${e.failed} failed</span><span class="skip">${e.skipped} not run</span><span class="warn">${plural(e.warnings, 'warning')}</span></p>`,
    );
  }
  return out;
}

/** Failures first (each with its whole evidence), then warnings and pre-existing source defects. */
function findingsHtml(checks: CheckRecord[], runDir: string): string[] {
  // One cause, one red: a failure that follows from another is shown under it (lib/audit/causes.ts).
  const failed = checks.filter((c) => c.state === 'failed' && c.causedBy === undefined);
  const following = consequencesByCause(checks.filter((c) => c.state === 'failed'));
  const warned = checks.filter(isWarning);
  const parts = [`<h2 id="failures">Failures (${failed.length})</h2>`];
  if (!failed.length) parts.push('<p>No check failed.</p>');
  for (const c of failed) {
    parts.push(failureCard(c, runDir));
    const ks = following.get(c.name) ?? [];
    if (ks.length)
      parts.push(
        `<div class="consequences"><p class="small">${ks.length} ${ks.length === 1 ? 'consequence' : 'consequences'} of ${esc(c.name)} (failing too, not counted apart):</p>${ks.map((k) => failureCard(k, runDir)).join('')}</div>`,
      );
  }
  parts.push(`<h2 id="warnings">Warnings and pre-existing source defects (${warned.length})</h2>`);
  if (!warned.length) parts.push('<p>No warnings.</p>');
  for (const c of warned) {
    const list = fullListPath(c);
    parts.push(`<div class="card warn"><h3>⚠ ${esc(c.name)}</h3><div class="small">${esc(familyLabel(c.family))}</div>
<ul class="ev">${c.annotations
      .filter((a) => a.type === 'warning')
      .map((a) => `<li>${htmlMessage(a.message)}</li>`)
      .join('')}</ul>${list ? listInline(runDir, list) : ''}</div>`);
  }
  return parts;
}

function chartFigure(id: string, title: string, svg: string, caption: string): string {
  return `<figure class="chart" data-chart="${esc(id)}"><figcaption><b>${esc(title)}</b> <span class="small">${esc(caption)}</span></figcaption>${svg}</figure>`;
}

/**
 * The pictures: phase timeline, tables (largest first), asset census, history of the last runs with the downtime
 * estimate. Each is left out when the run has no numbers for it; each caption says the same numbers in words.
 */
function chartsHtml(i: ReportInput): string[] {
  const m = i.manifest;
  const parts = ['<h2 id="charts">At a glance</h2>'];
  const spans = phaseSpans(m);
  if (spans.length)
    parts.push(
      chartFigure(
        'timeline',
        'Where the time went',
        phaseTimelineSvg(spans),
        spans.map((s) => `${s.name} ${formatDuration(Math.round((s.end - s.start) * 1000))}`).join(', '),
      ),
    );
  if (m.tables?.length) {
    const shown = m.tables.slice(0, TABLES_CHARTED);
    const failedTables = m.tables.filter((t) => t.status === 'failed').map((t) => t.table);
    parts.push(
      chartFigure(
        'tables',
        `Tables, largest first (${shown.length} of ${m.tables.length})`,
        tableChartSvg(shown),
        failedTables.length ? `failed: ${failedTables.join(', ')}` : 'no table failed',
      ),
    );
  }
  if (m.census) {
    const c = m.census;
    parts.push(
      chartFigure(
        'census',
        'Asset census',
        censusBarSvg(c),
        CENSUS_PARTS.map(([k, label]) => `${c[k]} ${label}`).join(', '),
      ),
    );
  }
  const self = historyEntry(m);
  const history = [...(i.history ?? []), ...(self ? [self] : [])];
  if (history.length)
    parts.push(
      chartFigure(
        'history',
        `The last ${history.length} rehearsal(s): phase durations and the downtime estimate`,
        historyChartSvg(history),
        history.map((h) => `${h.runId}: estimate ${formatDuration(Math.round(h.estimateSeconds * 1000))}`).join('; '),
      ),
    );
  return parts.length > 1 ? parts : [];
}

/** The effective view after reruns: the latest result of every check and the run it comes from. */
function effectiveHtml(e: EffectiveView | undefined): string[] {
  if (!e || e.runs.length <= 1) return [];
  return [
    `<h2 id="effective">Effective view: latest result of every check over ${e.runs.length} runs</h2>`,
    `<table><tr><th style="width:55%">check</th><th>family</th><th>result</th><th>from run</th></tr>${e.checks
      .map(
        (c) =>
          `<tr><td>${esc(c.name)}</td><td>${esc(c.family ?? 'other')}</td><td>${stateWord(c)}</td><td class="mono">${esc(c.fromRun)}</td></tr>`,
      )
      .join('')}</table>`,
  ];
}

/** The copy phases table and the dump's size and sha256. */
function phasesHtml(m: Manifest): string[] {
  const parts = ['<h2 id="phases">Copy phases</h2>'];
  if (!m.phases.length) parts.push('<p>No phase recorded.</p>');
  else
    parts.push(
      `<table><tr><th style="width:110px">phase</th><th style="width:100px">status</th><th style="width:100px">duration</th><th>detail</th></tr>${m.phases
        .map(
          (p) =>
            `<tr><td>${esc(p.name)}</td><td>${esc(p.status)}</td><td>${esc(formatDuration(p.durationMs))}</td><td>${htmlMessage(p.reason ?? '')}</td></tr>`,
        )
        .join('')}</table>`,
    );
  if (m.dump)
    parts.push(
      `<p>Dump: ${esc(m.dump.provided ? 'provided, ' : '')}${esc(m.dump.format)}${m.dump.bytes !== undefined ? `, ${esc(formatBytes(m.dump.bytes))} (${m.dump.bytes} bytes)` : ''}${m.dump.sha256 ? `, sha256 <span class="mono">${esc(m.dump.sha256)}</span>` : ''}</p>`,
    );
  return parts;
}

/** One check's row in its family's list: the state, and every check's evidence on expand (no script: <details>). */
function checkRow(c: CheckRecord): string {
  const why =
    c.state !== 'passed' && c.state !== 'failed' && c.note ? ` <span class="small">${esc(c.note)}</span>` : '';
  const ev = c.annotations.filter((a) => a.type !== 'full-list');
  const evidence = ev.length
    ? `<details class="evidence"><summary>${esc(c.name)}</summary><ul class="ev">${ev.map((a) => `<li>${a.type === 'evidence' ? '' : `<b>${esc(a.type)}:</b> `}${htmlMessage(a.message)}</li>`).join('')}</ul></details>`
    : esc(c.name);
  return `<tr><td style="width:75%">${evidence}</td><td>${stateWord(c)}${why}</td></tr>`;
}

/** Checks by family: the counts table, then each family's checks with their evidence. */
function familiesHtml(checks: CheckRecord[]): string[] {
  const groups = groupByFamily(checks);
  const parts = [
    '<h2 id="families">Checks by family</h2>',
    `<table><tr><th>family</th><th>passed</th><th>failed</th><th>not run</th><th>warnings</th></tr>${groups
      .map(
        (g) =>
          `<tr><td>${esc(familyLabel(g.id))} <span class="small">(${esc(g.id)})</span></td><td>${g.passed}</td><td>${g.failed}</td><td>${g.skipped + g.notSelected}</td><td>${g.warnings}</td></tr>`,
      )
      .join('')}</table>`,
  ];
  for (const g of groups)
    parts.push(
      `<details><summary>${esc(familyLabel(g.id))}: ${g.checks.length} check(s)</summary><table>${g.checks.map(checkRow).join('')}</table></details>`,
    );
  return parts;
}

/** Audit-trail problems and the report files' hashes. */
function filesHtml(m: Manifest): string[] {
  const parts: string[] = [];
  if (m.auditProblems.length)
    parts.push(
      '<h2>Audit trail problems</h2>',
      `<ul>${m.auditProblems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>`,
    );
  parts.push(
    '<h2 id="files">Report files (sha256)</h2>',
    `<table><tr><th style="width:35%">file</th><th style="width:100px">bytes</th><th>sha256</th></tr>${Object.entries(
      m.reports,
    )
      .map(([f, h]) => `<tr><td>${esc(f)}</td><td>${h.bytes}</td><td class="mono">${esc(h.sha256)}</td></tr>`)
      .join('')}</table>`,
    `<p class="small">manifest.json beside this file holds the same facts, machine-readable; junit.xml is for CI; html/ is vitest's developer view (serve it: npm run report).</p>`,
  );
  return parts;
}

/** report.html as a string (see the module comment for its contents). */
export function renderReportHtml(i: ReportInput): string {
  const m = i.manifest;
  const checks = i.effective ? i.effective.checks : i.checks;
  const v = verdictOf(m);
  const parts = [
    `<h1>Migration rehearsal ${esc(m.runId)}</h1>`,
    `<div class="verdict ${v.cls}">${esc(v.word)} — exit ${m.exitCode}</div>`,
    factsTable(m),
    ...countsHtml(m, i.effective),
    ...findingsHtml(checks, i.runDir),
    ...chartsHtml(i),
    ...effectiveHtml(i.effective),
    ...phasesHtml(m),
    ...familiesHtml(checks),
    ...filesHtml(m),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Rehearsal ${esc(m.runId)}: ${esc(v.word)}</title>
<style>${CSS}</style></head>
<body><main>
${parts.join('\n')}
</main></body></html>
`;
}

export interface FamilyGroup extends Required<RunTotals> {
  id: string;
  checks: CheckRecord[];
}

/** Checks grouped by family, in registry order (unclaimed names last, as `other`), each counted with `tally`. */
export function groupByFamily(checks: CheckRecord[]): FamilyGroup[] {
  const order = [...FAMILIES.map((f) => f.id), 'other'];
  const groups = new Map<string, CheckRecord[]>();
  for (const c of checks) groups.set(c.family ?? 'other', [...(groups.get(c.family ?? 'other') ?? []), c]);
  return [...groups.entries()]
    .map(([id, list]) => ({ id, ...tally(list), checks: list }))
    .sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
}

/** summary.md's words for report.html's pictures: the same numbers (tables, census, downtime estimate). */
function summaryFigures(i: ReportInput): string[] {
  const m = i.manifest;
  const out: string[] = [];
  if (m.tables?.length) {
    out.push(
      '### Tables, largest first',
      '',
      '| table | rows | size | status | seconds |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const t of m.tables.slice(0, TABLES_CHARTED))
      out.push(
        `| ${markdownText(t.table)} | ${t.rows ?? '?'} | ${t.bytes !== undefined ? formatBytes(t.bytes) : '?'} | ${markdownText(t.status)} | ${t.seconds.toFixed(2)} |`,
      );
    if (m.tables.length > TABLES_CHARTED) out.push(`| … ${m.tables.length - TABLES_CHARTED} more | | | | |`);
    out.push('');
  }
  if (m.census) {
    const c = m.census;
    out.push(`Asset census: ${CENSUS_PARTS.map(([k, label]) => `${c[k]} ${label}`).join(', ')}`, '');
  }
  const self = historyEntry(m);
  if (self)
    out.push(
      `Downtime estimate from this run's timings: ${formatDuration(Math.round(self.estimateSeconds * 1000))}`,
      '',
    );
  return out;
}

/** summary.md: the verdict, counts, failures (first line + full list), warnings and phases, for a PR comment. */
export function renderSummaryMd(i: ReportInput): string {
  const m = i.manifest;
  const checks = i.effective ? i.effective.checks : i.checks;
  const v = verdictOf(m);
  const t = m.totals;
  // Every name or message from a database, a file system or a check: literal markdown (lib/core/escape.ts), so a
  // table named `![x](http://…)` is no remote image and a newline or `|` cannot break the table.
  const cell = markdownText;
  const out: string[] = [];
  out.push(`## Migration rehearsal ${markdownCode(m.runId)}: ${v.word}`, '');
  out.push(
    `Mode **${m.mode}**${m.rerunOf ? ` (rerun of ${markdownCode(m.rerunOf)})` : ''} · target ${markdownCode(String(m.target?.database ?? m.config.DST_DATABASE_URL ?? ''))} · ${formatDuration(m.durationMs)} · exit ${m.exitCode}`,
    '',
  );
  out.push(`**${t.passed} passed, ${failedText(t)}, ${t.skipped} not run, ${plural(t.warnings ?? 0, 'warning')}**`, '');
  if (i.effective && i.effective.runs.length > 1) {
    const e = i.effective.totals;
    out.push(
      `Effective over ${i.effective.runs.join(' → ')}: ${e.passed} passed, ${e.failed} failed, ${e.skipped} not run, ${plural(e.warnings, 'warning')}`,
      '',
    );
  }
  const failed = checks.filter((c) => c.state === 'failed');
  if (failed.length) {
    out.push('### Failures', '', '| check | family | why | full list |', '| --- | --- | --- | --- |');
    const row = (c: CheckRecord, mark: string) =>
      `| ${mark}${cell(c.name)} | ${cell(c.family ?? 'other')} | ${markdownMessage(findingMessage(c.errors[0] ?? ''))} | ${cell(fullListPath(c) ?? '')} |`;
    // Each cause once, its consequences right under it (↳), counted with the cause.
    for (const c of failed.filter((x) => x.causedBy === undefined)) {
      out.push(row(c, ''));
      for (const k of failed.filter((x) => x.causedBy === c.name)) out.push(row(k, '↳ consequence: '));
    }
    out.push('');
  }
  const warned = checks.filter((c) => c.state === 'passed' && c.annotations.some((a) => a.type === 'warning'));
  if (warned.length) {
    out.push('### Warnings', '');
    for (const c of warned)
      for (const a of c.annotations.filter((x) => x.type === 'warning'))
        out.push(`- **${cell(c.name)}**: ${markdownMessage(a.message)}`);
    out.push('');
  }
  if (m.phases.length) {
    out.push('### Copy phases', '', '| phase | status | duration |', '| --- | --- | --- |');
    for (const p of m.phases) out.push(`| ${cell(p.name)} | ${cell(p.status)} | ${formatDuration(p.durationMs)} |`);
    // A phase's WARNING is its test's warning (lib/checks/families/phases): listed under Warnings above.
    out.push('');
  }
  out.push(...summaryFigures(i));
  out.push(`Full report: \`report.html\` in the run folder (opens from file://).`, '');
  return out.join('\n');
}
