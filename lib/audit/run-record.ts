/**
 * The audit trail of a run: after vitest exits, `finalizeRun` redacts the report files, keeps the plan,
 * writes manifest.json (run folder + WORK_DIR), moves `latest`, and prints the summary. `prepareRerun` reads the
 * latest run back for `--rerun-failed`.
 *
 * Files of a run folder (REPORTS_DIR/runs/<run-id>/): junit.xml (lib/audit/junit-writer.ts), results.json (vitest
 * json), html/ (vitest html; serve it, see `npm run report`), checks.json (lib/audit/reporter.ts), effective.json,
 * plan.json (what was checked, for a later rerun), report.html and summary.md (lib/audit/report-html.ts),
 * manifest.json. finalizeRun is five named steps: gatherRun → writeJunit → writeManifestAndReports → moveLatest →
 * the printed summary.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { effectiveConfig, type Config } from '../core/config.ts';
import { ConfigError, EXIT } from '../core/errors.ts';
import { FIXED_JUNIT, recentRuns, resolveLatest, updateLatest } from './history.ts';
import { withConnection } from '../core/db.ts';
import { tableDataSizesQuery } from '../core/catalog.ts';
import { collectProvenance, type Provenance } from './provenance.ts';
import { censusCounts, tableRows } from './report-data.ts';
import { isWarning, tally, type RunTotals } from './totals.ts';
import { validateJunit } from './junit.ts';
import {
  MANIFEST_FILE,
  PLAN_FILE,
  buildManifest,
  collectToolVersions,
  hashReports,
  readManifest,
  redactReportFiles,
  totalsOf,
  writeAtomic,
  writeManifest,
  type Manifest,
  type ManifestInput,
  type RerunOutcome,
} from './manifest.ts';
import { terminalMessage } from '../core/escape.ts';
import { listFiles } from '../core/files.ts';
import { formatBytes } from '../core/format.ts';
import { freeBytes } from '../core/fs-problem.ts';
import { reportsStagingDir } from '../core/run-protocol.ts';
import { MASK, escapeRegExp, redact, redactDeep } from '../core/redact.ts';
import { CHECKS_FILE, type CheckRecord, type ChecksFile } from './reporter.ts';
import { readState, type RunState } from '../core/state.ts';
import { formatSummary } from './summary.ts';
import { describeDsn } from '../core/dsn.ts';
import { EFFECTIVE_FILE, combineRuns, runChain, type EffectiveView } from './effective.ts';
import { interruptedJunitXml, junitXml } from './junit-writer.ts';
import type { ReportInput } from './report-html.ts';
import { mkdirPrivate } from '../core/files.ts';

/**
 * report.html and summary.md's renderer (lib/audit/report-html.ts) with its charts (Observable Plot on linkedom, about
 * 330 modules and half a second of CPU to load), imported when a run's reports are first needed rather than at
 * start-up: the CLI prints its first line and starts preflight without it. One import per process.
 */
let reportRenderers: Promise<typeof import('./report-html.ts')> | undefined;
function loadReportRenderers(): Promise<typeof import('./report-html.ts')> {
  return (reportRenderers ??= import('./report-html.ts'));
}

/**
 * Starts loading the report renderer in the background (the CLI calls it once vitest runs, while this process only
 * waits). A failed load is not reported here: finalizeRun's own import of the same promise says it.
 */
export function preloadReportRenderers(): void {
  loadReportRenderers().catch(() => undefined);
}

export interface RunInfo {
  runId: string;
  runDir: string;
  workDir: string;
  mode: 'full' | 'verify-only' | 'rerun';
  startedAt: string;
  config: Config;
  /** The run id this run retried (rerun mode). */
  rerunOf?: string;
  /** --select / --exclude (registry ids), when given. */
  selection?: { select: string[]; exclude: string[] };
  /** Client tool versions collected while the checks ran (clientToolVersions); the rest is collected at the end. */
  clientTools?: Promise<Record<string, string>>;
}

/** The spec file holding the copy-phase test cases (`phase <name>`); a rerun never repeats those. */
export const PHASES_SPEC = 'specs/phases.spec.ts';

/** The checks.json of a run folder (lib/audit/reporter.ts), or undefined when missing or unreadable. */
export function readChecks(runDir: string): ChecksFile | undefined {
  const file = path.join(runDir, CHECKS_FILE);
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ChecksFile;
  } catch {
    return undefined;
  }
}

/** The names vitest's `-t` is matched against, joined by single spaces. */
export function filterName(c: Pick<CheckRecord, 'namePath' | 'fullName'>): string {
  return (c.namePath ?? c.fullName.split(' > ')).join(' ');
}

/** A check's identity across runs: its spec file and its full name. */
export function checkKey(c: Pick<CheckRecord, 'file' | 'namePath' | 'fullName'>): string {
  return `${c.file} › ${filterName(c)}`;
}

function isPhaseCheck(c: CheckRecord): boolean {
  return c.file === PHASES_SPEC && /^phase /.test(c.name);
}

function isModuleError(c: CheckRecord): boolean {
  return !c.namePath && /^\(module .* failed to load\)$/.test(c.name);
}

export { escapeRegExp };

/**
 * An anchored `-t` pattern matching exactly these full names (and nothing that merely contains one of them). A name
 * recorded with a secret masked (`***`) matches any text in the masked place, so the secret never reaches argv.
 */
export function namePattern(fullNames: string[]): string {
  const unique = [...new Set(fullNames)].sort();
  return `^(?:${unique.map((n) => n.split(MASK).map(escapeRegExp).join('.+?')).join('|')})$`;
}

// ---------------------------------------------------------------------------------------------------------------
// After the run

/** Compare the retried run's failures with this run's results. */
export function rerunOutcome(
  of: string,
  previous: ChecksFile | undefined,
  current: ChecksFile | undefined,
): RerunOutcome {
  const failedBefore = (previous?.checks ?? []).filter((c) => c.state === 'failed' && c.selected !== false);
  const now = new Map((current?.checks ?? []).map((c) => [checkKey(c), c]));
  const o: RerunOutcome = { of, previouslyFailed: [], nowPassing: [], stillFailing: [], notRun: [] };
  for (const c of failedBefore) {
    const key = checkKey(c);
    o.previouslyFailed.push(key);
    const n = now.get(key);
    if (n?.state === 'passed') o.nowPassing.push(key);
    else if (n?.state === 'failed') o.stillFailing.push(key);
    else o.notRun.push(key);
  }
  return o;
}

function ownState(info: RunInfo): RunState | undefined {
  const s = readState(info.workDir);
  // A fixed WORK_DIR keeps the previous run's state.json when global setup never ran: it is not this run's.
  return s && s.runId === info.runId ? s : undefined;
}

/**
 * Report-folder writes that must not end the bookkeeping when REPORTS_DIR is full or read-only: each is attempted,
 * its failure recorded (`errors`) and said once at the end; the manifest still goes to WORK_DIR.
 */
class Attempts {
  readonly errors: string[] = [];
  /** The error codes seen (ENOSPC, EACCES...). */
  readonly codes = new Set<string>();
  run<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.fail(what, e);
      return undefined;
    }
  }
  fail(what: string, e: unknown): void {
    const code = (e as NodeJS.ErrnoException).code;
    if (code) this.codes.add(code);
    this.errors.push(code ? `${what} (${code})` : `${what}: ${(e as Error).message}`);
  }
}

/**
 * Step 0: publish what vitest's reporters wrote in WORK_DIR's staging folder (reportsStagingDir: results.json,
 * html/, checks.json) into the run folder, file by file through a temp file and a rename. A published file leaves
 * WORK_DIR; one that cannot be published (a full REPORTS_DIR) stays there, recorded once in `writes`.
 */
function publishStaged(info: RunInfo, writes: Attempts): string {
  const staging = reportsStagingDir({ workDir: info.workDir, runDir: info.runDir })!;
  if (path.resolve(staging) === path.resolve(info.runDir)) return staging;
  const failed: string[] = [];
  const published: string[] = [];
  let error: unknown;
  for (const rel of listFiles(staging)) {
    try {
      writeAtomic(path.join(info.runDir, rel), fs.readFileSync(path.join(staging, rel)));
      published.push(rel);
    } catch (e) {
      failed.push(rel);
      error ??= e;
    }
  }
  if (!failed.length) {
    fs.rmSync(staging, { recursive: true, force: true });
    return staging;
  }
  const names = failed.filter((r) => !r.startsWith('html/'));
  const htmlFailed = failed.length > names.length;
  // The HTML report is one report of many files: all of it is published, or none (it stays whole in WORK_DIR).
  if (htmlFailed) fs.rmSync(path.join(info.runDir, 'html'), { recursive: true, force: true });
  for (const rel of published)
    if (!(htmlFailed && rel.startsWith('html/'))) fs.rmSync(path.join(staging, rel), { force: true });
  writes.fail([...names, ...(htmlFailed ? ['html/'] : [])].join(', '), error);
  return staging;
}

/**
 * The one line for report files REPORTS_DIR did not take: the folder, the bytes free there, what is missing, the fix.
 */
function reportsDirLine(info: RunInfo, writes: Attempts): string {
  const dir = info.config.reportsDir;
  const full = writes.codes.has('ENOSPC') || writes.codes.has('EDQUOT');
  return (
    `REPORTS_DIR ${dir} ${full ? `is full (${formatBytes(freeBytes(dir))} free)` : 'could not be written'}: ` +
    `${writes.errors.join('; ')} not written there. ${full ? 'Free space in REPORTS_DIR or point REPORTS_DIR at a disk with room' : 'Make REPORTS_DIR writable or point it at a writable folder'}` +
    `, and rerun; the manifest (and any report not published) is kept in WORK_DIR ${info.workDir}`
  );
}

/** What finalizeRun's steps hand each other. */
interface Finalizing {
  info: RunInfo;
  finishedAt: string;
  state?: RunState;
  checks?: ChecksFile;
  effective: EffectiveView;
  /** The rerun's preflight refused it: its one failing preflight is the picture, not the retried run's. */
  refused: boolean;
  notes: string[];
  auditProblems: string[];
  writes: Attempts;
  provenance: Provenance;
}

/** The suite properties of junit.xml: run, target, source, provenance, rerun and selection. */
function junitProperties(f: Finalizing): Array<[string, string]> {
  const { info, effective, provenance: p } = f;
  const props: Array<[string, string]> = [
    ['run-id', info.runId],
    ['mode', info.mode],
    ['target', describeDsn(info.config.dst)],
    ['target-assets-dir', info.config.dstAssetsDir],
    ['source', info.config.src ? describeDsn(info.config.src) : 'not configured'],
    ['source-assets-dir', info.config.srcAssetsDir ?? 'not configured'],
    ['tool', p.tool],
    ['tool-commit', p.commit],
    ['vitest', p.vitest],
    ['node', p.node],
    ['host', p.host],
    ['operator', p.operator],
  ];
  if (info.rerunOf) props.push(['rerun-of', info.rerunOf]);
  if (effective.runs.length > 1) props.push(['effective-over-runs', effective.runs.join(' ')]);
  if (info.selection?.select.length) props.push(['select', info.selection.select.join(',')]);
  if (info.selection?.exclude.length) props.push(['exclude', info.selection.exclude.join(',')]);
  return props;
}

/** The real durations (ms) of the copy phases, by name, from state.json. */
function phaseDurations(state: RunState | undefined): Record<string, number> {
  return Object.fromEntries(
    (state?.phases ?? []).flatMap((p) => (p.durationMs !== undefined ? [[p.name, p.durationMs]] : [])),
  );
}

/** A signal's name for an exit code ≥ 128 (130 → SIGINT), else the code. */
function interruption(code: number): string {
  const sig = Object.entries(os.constants.signals).find(([, n]) => n === code - 128)?.[0];
  return sig ? `stopped by ${sig} before its checks reported` : `stopped with exit ${code} before its checks reported`;
}

/**
 * Step 1: plan.json, the redaction of the reports vitest wrote, checks.json read back, and the effective view
 * (effective.json). Returns the facts the later steps share.
 */
function gatherRun(info: RunInfo, finishedAt: string): Finalizing {
  const f: Finalizing = {
    info,
    finishedAt,
    state: ownState(info),
    effective: { runs: [], totals: tally([]), checks: [] },
    refused: false,
    notes: [],
    auditProblems: [],
    writes: new Attempts(),
    provenance: collectProvenance(info.config.operator),
  };
  f.writes.run('the run folder', () => fs.mkdirSync(info.runDir, { recursive: true }));
  const staging = publishStaged(info, f.writes);
  const plan = f.state?.plan;
  if (plan)
    f.writes.run(PLAN_FILE, () =>
      writeAtomic(path.join(info.runDir, PLAN_FILE), JSON.stringify(redactDeep(plan), null, 2) + '\n'),
    );
  // Reporters write what the checks said; a DSN in an error message must not survive into the audit trail.
  const redacted = f.writes.run('redacting the reports', () => redactReportFiles(info.runDir)) ?? [];
  if (redacted.length) f.notes.push(`secrets were redacted from ${redacted.join(', ')}`);
  // The checks' real totals even when REPORTS_DIR could not take checks.json: the copy left in WORK_DIR.
  const kept = readChecks(staging);
  f.checks = readChecks(info.runDir) ?? (kept?.runId === info.runId ? kept : undefined);
  if (!f.checks)
    f.auditProblems.push(`${CHECKS_FILE} is missing: vitest did not finish reporting (see the output above)`);
  const runsDir = path.join(info.config.reportsDir, 'runs');
  f.effective = combineRuns(
    runChain(runsDir, { runId: info.runId, rerunOf: info.rerunOf, checks: f.checks }, (dir) => ({
      rerunOf: readManifest(dir)?.rerunOf,
      checks: readChecks(dir),
    })),
  );
  f.writes.run(EFFECTIVE_FILE, () =>
    writeAtomic(path.join(info.runDir, EFFECTIVE_FILE), JSON.stringify(f.effective, null, 2) + '\n'),
  );
  f.refused = f.state?.phases.some((p) => p.name === 'preflight' && p.status === 'failed') ?? false;
  return f;
}

/**
 * Step 2: junit.xml from the check records (after a rerun, the effective view), with the phases' real durations;
 * an interrupted run with no check records gets one that says it was interrupted. Then validated.
 */
function writeJunit(f: Finalizing, exitCode: number): string {
  const { info } = f;
  const junitFile = path.join(info.runDir, FIXED_JUNIT);
  const base = { suiteName: 'migration-rehearsal', timestamp: info.startedAt, properties: junitProperties(f) };
  const checks = f.checks;
  if (checks) {
    const cases = info.mode === 'rerun' && !f.refused ? f.effective.checks : checks.checks;
    f.writes.run('junit.xml', () =>
      writeAtomic(junitFile, redact(junitXml({ ...base, checks: cases, phaseDurations: phaseDurations(f.state) }))),
    );
  } else if (exitCode >= 128) {
    const reason = interruption(exitCode);
    f.writes.run('junit.xml', () => writeAtomic(junitFile, redact(interruptedJunitXml({ ...base, exitCode, reason }))));
  }
  if (fs.existsSync(junitFile)) {
    for (const p of validateJunit(fs.readFileSync(junitFile, 'utf8')).problems) f.auditProblems.push(`junit.xml: ${p}`);
  } else {
    f.auditProblems.push('junit.xml is missing');
  }
  return junitFile;
}

/**
 * Step 3: the exit code the results support: `exitCode`, unless they contradict it (a rerun that matched no check is
 * exit 2; a run where no check ran, or a previously failed check that was not run again, is never a 0).
 */
function settleExitCode(f: Finalizing, totals: RunTotals, exitCode: number): { code: number; rerun?: RerunOutcome } {
  const { info, notes } = f;
  let code = exitCode;
  let rerun: RerunOutcome | undefined;
  const executed = totals.passed + totals.failed + (totals.consequences ?? 0);
  if (info.mode === 'rerun') {
    const retriedDir = path.join(info.config.reportsDir, 'runs', info.rerunOf ?? '');
    rerun = rerunOutcome(info.rerunOf ?? '(unknown)', info.rerunOf ? readChecks(retriedDir) : undefined, f.checks);
    if (executed === 0) {
      code = EXIT.usage;
      notes.push(
        `the rerun filter matched no check: none of the ${rerun.previouslyFailed.length} check(s) that failed in run ${rerun.of} ` +
          'exists under that name any more; run the full rehearsal (npm test) or --verify-only',
      );
    } else if (rerun.notRun.length && code === EXIT.ok) {
      code = EXIT.checkFailed;
    }
  } else if (code === EXIT.ok && executed === 0) {
    code = EXIT.checkFailed;
    notes.push('no check ran: a rehearsal that checks nothing cannot pass');
  } else if (code === EXIT.checkFailed && executed === 0) {
    // vitest failed before reporting any check (a crash in its setup, a broken spec file): nothing was verified; that
    // is a failure of the run (3), not "a check failed" (1).
    code = EXIT.phaseFailed;
    notes.push('no check ran: the check runner failed before any check reported (see the output above); exit 3');
  }
  if (code === EXIT.ok && totals.failed > 0) code = EXIT.checkFailed;
  return { code, rerun };
}

/** pg_table_size of every table in the target, by `schema.table`; empty when the target cannot say in 5 s. */
async function targetTableSizes(config: Config): Promise<Record<string, number>> {
  try {
    return await withConnection(
      config.dst,
      async (c) => {
        // Read-only, and never queued behind an application's lock.
        await c.query("SET lock_timeout = '500ms'; SET statement_timeout = '5s'");
        const rows = (await c.query<{ name: string; bytes: string }>(tableDataSizesQuery())).rows;
        return Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)]));
      },
      { connectTimeoutMs: Math.min(config.connectTimeoutMs, 5000) },
    );
  } catch {
    return {};
  }
}

/** The manifest's report-facing extras: warnings, full lists, source/target, provenance, tables, census, selection. */
async function manifestExtra(f: Finalizing): Promise<NonNullable<ManifestInput['extra']>> {
  const { info } = f;
  const all = f.checks?.checks ?? [];
  const plan = f.state?.plan;
  const tables = plan
    ? tableRows(
        plan.tables.map((t) => `${t.schema}.${t.name}`),
        all,
        await targetTableSizes(info.config),
      )
    : undefined;
  const census = censusCounts(all);
  const { fullListPath } = await loadReportRenderers();
  return {
    warnings: all.flatMap((c) =>
      isWarning(c)
        ? c.annotations
            .filter((a) => a.type === 'warning')
            .map((a) => ({ file: c.file, name: filterName(c), message: a.message }))
        : [],
    ),
    fullLists: Object.fromEntries(all.flatMap((c) => (fullListPath(c) ? [[c.name, fullListPath(c)!]] : []))),
    target: { database: describeDsn(info.config.dst), assetsDir: info.config.dstAssetsDir },
    source: {
      database: info.config.src ? describeDsn(info.config.src) : 'not configured',
      assetsDir: info.config.srcAssetsDir ?? 'not configured',
    },
    provenance: f.provenance,
    ...(tables ? { tables } : {}),
    ...(census ? { census } : {}),
    ...(info.selection ? { selection: info.selection } : {}),
    ...(f.effective.runs.length > 1 && !f.refused
      ? { effective: { runs: f.effective.runs, totals: f.effective.totals } }
      : {}),
  };
}

/** Step 4: manifest.json (tool versions collected now), with summary.md and report.html from the same facts. */
async function writeManifestAndReports(f: Finalizing, exitCode: number): Promise<{ manifest: Manifest; code: number }> {
  const { info } = f;
  const totals = totalsOf(f.checks);
  const { code, rerun } = settleExitCode(f, totals, exitCode);
  for (const p of f.auditProblems) f.notes.push(`audit trail: ${p}`);
  const early = (await info.clientTools?.catch(() => undefined)) ?? {};
  const manifest = buildManifest({
    runId: info.runId,
    mode: info.mode,
    startedAt: info.startedAt,
    finishedAt: f.finishedAt,
    exitCode: code,
    rerunOf: info.rerunOf,
    tools: await collectToolVersions(info.config, { ...early, ...(f.state?.tools ?? {}) }),
    config: effectiveConfig(info.config),
    state: f.state,
    totals,
    failures: (f.checks?.checks ?? [])
      .filter((c) => c.state === 'failed')
      .map((c) => ({
        file: c.file,
        name: filterName(c),
        ...(c.errors[0] ? { error: c.errors[0] } : {}),
        ...(c.causedBy !== undefined ? { causedBy: c.causedBy } : {}),
      })),
    rerun,
    auditProblems: f.auditProblems,
    reports: {},
    extra: await manifestExtra(f),
  });
  const reportInput: ReportInput = {
    manifest,
    checks: f.checks?.checks ?? [],
    effective: f.effective.runs.length > 1 && !f.refused ? f.effective : undefined,
    runDir: info.runDir,
    history: recentRuns(info.config.reportsDir, info.runId),
  };
  const write = (name: string, text: string) =>
    f.writes.run(name, () => writeAtomic(path.join(info.runDir, name), redact(text)));
  const { REPORT_HTML, SUMMARY_MD, renderReportHtml, renderSummaryMd } = await loadReportRenderers();
  write(SUMMARY_MD, renderSummaryMd(reportInput));
  manifest.reports = hashReports(info.runDir);
  write(REPORT_HTML, renderReportHtml(reportInput));
  manifest.reports = hashReports(info.runDir);
  // A run whose reports could not be recorded is never a 0 (issue 26: a full REPORTS_DIR).
  if (f.writes.errors.length && manifest.exitCode === EXIT.ok) manifest.exitCode = EXIT.phaseFailed;
  f.writes.run(MANIFEST_FILE, () => writeManifest(info.runDir, manifest));
  if (f.writes.errors.length) {
    if (manifest.exitCode === EXIT.ok) manifest.exitCode = EXIT.phaseFailed;
    f.notes.push(reportsDirLine(info, f.writes));
  }
  try {
    mkdirPrivate(info.workDir);
    fs.chmodSync(writeManifest(info.workDir, manifest), 0o600); // every file of WORK_DIR is 0600 (issue 26)
  } catch (e) {
    f.notes.push(`could not copy ${MANIFEST_FILE} to WORK_DIR: ${(e as Error).message}`);
  }
  return { manifest, code: manifest.exitCode };
}

/**
 * Step 5: move `latest` to this run. An interrupted run does not become `latest` when its checks never reported
 * (a --rerun-failed would find nothing to retry), but its "interrupted" junit.xml replaces the CI copy, so CI shows
 * why this run has no results instead of the previous run's report. Returns the notes about it.
 */
function moveLatest(f: Finalizing, code: number, junitFile: string): string[] {
  const { info } = f;
  if (code >= 128 && !f.checks) {
    const copied = fs.existsSync(junitFile)
      ? f.writes.run('junit.xml (CI copy)', () =>
          writeAtomic(path.join(info.config.reportsDir, FIXED_JUNIT), fs.readFileSync(junitFile)),
        )
      : undefined;
    return [
      'latest stays at the previous run: this run was interrupted before its checks reported' +
        (copied !== undefined || fs.existsSync(junitFile)
          ? `; ${path.join(info.config.reportsDir, FIXED_JUNIT)} now says it was interrupted`
          : ''),
    ];
  }
  return (
    f.writes.run('latest', () =>
      updateLatest(info.config.reportsDir, {
        runId: info.runId,
        dir: path.relative(info.config.reportsDir, info.runDir).split(path.sep).join('/'),
        finishedAt: f.finishedAt,
        exitCode: code,
      }),
    ) ?? ['latest stays at the previous run: REPORTS_DIR could not be written']
  );
}

/**
 * After vitest exits: keep the plan, redact every report file, write effective.json and junit.xml, manifest.json
 * (run folder and WORK_DIR), summary.md and report.html, point `latest` at the run, print the summary. Returns the
 * exit code to use: `exitCode`, unless the results contradict it (see settleExitCode).
 */
export async function finalizeRun(info: RunInfo, exitCode: number): Promise<number> {
  const f = gatherRun(info, new Date().toISOString());
  const junitFile = writeJunit(f, exitCode);
  const { manifest, code } = await writeManifestAndReports(f, exitCode);
  const latestNotes = moveLatest(f, code, junitFile);
  const lines = formatSummary(
    manifest,
    {
      runDir: info.runDir,
      reportsDir: info.config.reportsDir,
      workDir: info.workDir,
      isLatest: !latestNotes.some((p) => p.startsWith('latest stays')),
    },
    [...f.notes, ...latestNotes],
  );
  // Each summary line is one console line: names inside it (tables, paths, phase reasons) are shown escaped.
  for (const line of lines) process.stdout.write(terminalMessage(redact(line), '    ') + '\n');
  return code;
}

// ---------------------------------------------------------------------------------------------------------------
// --rerun-failed

export type RerunPlan =
  | { kind: 'rerun'; rerunOf: string; planFile: string; vitestArgs: string[]; previouslyFailed: string[] }
  | { kind: 'nothing'; message: string };

/** The configuration entries that name the target: a rerun against another target would prove nothing. */
const TARGET_KEYS = ['DST_DATABASE_URL', 'DST_ASSETS_DIR'] as const;

/** What `--rerun-failed` reruns; throws ConfigError (exit 2) when the latest run is missing or for another target. */
export function prepareRerun(config: Config): RerunPlan {
  const latest = resolveLatest(config.reportsDir);
  if (!latest) {
    throw new ConfigError(
      `--rerun-failed: there is no previous run in REPORTS_DIR (${config.reportsDir}: no latest.json or latest link); ` +
        'run the rehearsal first (npm test, or npm run rehearse -- --verify-only)',
    );
  }
  const id = latest.runId;
  const manifest = readManifest(latest.runDir);
  const checks = readChecks(latest.runDir);
  if (!manifest || !checks) {
    throw new ConfigError(
      `--rerun-failed: the latest run ${id} (${latest.runDir}) has no ${!manifest ? MANIFEST_FILE : CHECKS_FILE} ` +
        '(it was interrupted or its reports were removed); run the rehearsal again',
    );
  }
  const now = effectiveConfig(config);
  const differs = TARGET_KEYS.filter((k) => manifest.config[k] !== now[k]).map(
    (k) => `${k} was ${manifest.config[k] ?? '(unset)'}, now ${now[k]}`,
  );
  if (differs.length) {
    throw new ConfigError(
      `--rerun-failed: the latest run ${id} checked a different target (${differs.join('; ')}); ` +
        'rerun with the same target, or run the rehearsal for this one (npm test, or --verify-only)',
    );
  }

  const failed = checks.checks.filter((c) => c.state === 'failed' && c.selected !== false);
  if (!failed.length) {
    const t = totalsOf(checks);
    return {
      kind: 'nothing',
      message: `--rerun-failed: the latest run ${id} had no failed checks (${t.passed} passed, ${t.skipped} skipped); nothing to rerun`,
    };
  }
  const phases = failed.filter(isPhaseCheck);
  if (phases.length) {
    throw new ConfigError(
      `--rerun-failed: the latest run ${id} failed in a copy phase (${phases.map((c) => c.name).join(', ')}), and a rerun does not copy again; ` +
        'fix the cause and run the full rehearsal (npm test)',
    );
  }
  const broken = failed.filter(isModuleError);
  if (broken.length) {
    throw new ConfigError(
      `--rerun-failed: in the latest run ${id} ${broken.map((c) => c.file).join(', ')} failed to load, so its checks have no names to rerun; ` +
        'fix it and run npm run rehearse -- --verify-only',
    );
  }
  const planFile = path.join(latest.runDir, PLAN_FILE);
  if (!fs.existsSync(planFile)) {
    throw new ConfigError(
      `--rerun-failed: the latest run ${id} recorded no plan (${PLAN_FILE}: what it checked, with its asset sample), so its checks cannot be ` +
        'repeated exactly; run the rehearsal again (npm test, or --verify-only)',
    );
  }
  const files = [...new Set(failed.map((c) => c.file))].sort();
  return {
    kind: 'rerun',
    rerunOf: id,
    planFile,
    vitestArgs: [...files, `--testNamePattern=${namePattern(failed.map(filterName))}`],
    previouslyFailed: failed.map(checkKey),
  };
}
