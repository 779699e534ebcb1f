/**
 * The audit trail of a run: after vitest exits, `finalizeRun` redacts the report files, keeps the plan,
 * writes manifest.json (run folder + WORK_DIR), moves `latest`, and prints the summary. `prepareRerun` reads the
 * latest run back for `--rerun-failed`.
 *
 * Files of a run folder (REPORTS_DIR/runs/<run-id>/): junit.xml, results.json (vitest json), html/ (vitest html;
 * serve it, see `npm run report`), checks.json (lib/reporter.ts), plan.json (what was checked, for a later rerun),
 * manifest.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { effectiveConfig, type Config } from '../core/config.ts';
import { ConfigError, EXIT } from '../core/errors.ts';
import { resolveLatest, updateLatest } from './history.ts';
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
  type RerunOutcome,
} from './manifest.ts';
import { MASK, escapeRegExp, redact, redactDeep } from '../core/redact.ts';
import { CHECKS_FILE, type CheckRecord, type ChecksFile } from './reporter.ts';
import { readState, type RunState } from '../core/state.ts';
import { formatSummary } from './summary.ts';
import { describeDsn } from '../core/dsn.ts';
import { EFFECTIVE_FILE, combineRuns, runChain, type EffectiveView } from './effective.ts';
import { junitXml } from './junit-writer.ts';
import { REPORT_HTML, SUMMARY_MD, fullListPath, renderReportHtml, renderSummaryMd } from './report-html.ts';

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
 * After vitest exits: keep the plan, redact and hash every report file, write manifest.json (run folder and WORK_DIR),
 * point `latest` at the run, print the summary. Returns the exit code to use: `exitCode`, unless the results
 * contradict it (a rerun that matched no check is exit 2; a run where no check ran, or a previously failed check
 * that was not run again, is never a 0).
 */
export async function finalizeRun(info: RunInfo, exitCode: number): Promise<number> {
  const finishedAt = new Date().toISOString();
  const notes: string[] = [];
  const auditProblems: string[] = [];
  fs.mkdirSync(info.runDir, { recursive: true });

  const state = ownState(info);
  // A full (or read-only) REPORTS_DIR must not end the bookkeeping: every write below is attempted, the failures are
  // said in one clear line, and the manifest still goes to WORK_DIR.
  const reportsWriteErrors: string[] = [];
  const attempt = <T>(what: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      reportsWriteErrors.push(`${what}: ${(e as NodeJS.ErrnoException).code ?? ''} ${(e as Error).message}`.trim());
      return undefined;
    }
  };
  if (state?.plan)
    attempt(PLAN_FILE, () =>
      writeAtomic(path.join(info.runDir, PLAN_FILE), JSON.stringify(redactDeep(state.plan), null, 2) + '\n'),
    );

  // Reporters write what the checks said; a DSN in an error message must not survive into the audit trail.
  const redacted = attempt('redacting the reports', () => redactReportFiles(info.runDir)) ?? [];
  if (redacted.length) notes.push(`secrets were redacted from ${redacted.join(', ')}`);

  const checks = readChecks(info.runDir);
  if (!checks) auditProblems.push(`${CHECKS_FILE} is missing: vitest did not finish reporting (see the output above)`);
  // The effective view (the latest result of every check over the original run and its reruns) and junit.xml, written
  // from the check records: classname = family, run-level properties; after a rerun, the effective view.
  const runsDir = path.join(info.config.reportsDir, 'runs');
  const effective: EffectiveView = combineRuns(
    runChain(runsDir, { runId: info.runId, rerunOf: info.rerunOf, checks }, (dir) => {
      const m = readManifest(dir);
      return { rerunOf: m?.rerunOf, checks: readChecks(dir) };
    }),
  );
  attempt(EFFECTIVE_FILE, () =>
    writeAtomic(path.join(info.runDir, EFFECTIVE_FILE), JSON.stringify(effective, null, 2) + '\n'),
  );
  const refused = state?.phases.some((p) => p.name === 'preflight' && p.status === 'failed') ?? false;
  const junitFile = path.join(info.runDir, 'junit.xml');
  if (checks) {
    const target = describeDsn(info.config.dst);
    attempt('junit.xml', () =>
      writeAtomic(
        junitFile,
        redact(
          junitXml({
            suiteName: 'migration-rehearsal',
            timestamp: info.startedAt,
            properties: [
              ['run-id', info.runId],
              ['mode', info.mode],
              ['target', target],
              ['target-assets-dir', info.config.dstAssetsDir],
              ...(info.rerunOf ? ([['rerun-of', info.rerunOf]] as Array<[string, string]>) : []),
              ...(effective.runs.length > 1
                ? ([['effective-over-runs', effective.runs.join(' ')]] as Array<[string, string]>)
                : []),
              ...(info.selection?.select.length
                ? ([['select', info.selection.select.join(',')]] as Array<[string, string]>)
                : []),
              ...(info.selection?.exclude.length
                ? ([['exclude', info.selection.exclude.join(',')]] as Array<[string, string]>)
                : []),
            ],
            // A refused rerun is its one failing preflight, not the retried run's picture.
            checks: info.mode === 'rerun' && !refused ? effective.checks : checks.checks,
          }),
        ),
      ),
    );
  }
  if (fs.existsSync(junitFile)) {
    for (const p of validateJunit(fs.readFileSync(junitFile, 'utf8')).problems) auditProblems.push(`junit.xml: ${p}`);
  } else {
    auditProblems.push('junit.xml is missing');
  }

  const totals = totalsOf(checks);
  const failures: Manifest['failures'] = (checks?.checks ?? [])
    .filter((c) => c.state === 'failed')
    .map((c) => ({ file: c.file, name: filterName(c), ...(c.errors[0] ? { error: c.errors[0] } : {}) }));

  let code = exitCode;
  let rerun: RerunOutcome | undefined;
  const executed = totals.passed + totals.failed;
  if (info.mode === 'rerun') {
    const retriedDir = path.join(info.config.reportsDir, 'runs', info.rerunOf ?? '');
    rerun = rerunOutcome(info.rerunOf ?? '(unknown)', info.rerunOf ? readChecks(retriedDir) : undefined, checks);
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
    // vitest failed before reporting any check (a crash in its setup, a broken spec file): no check failed, nothing
    // was verified; that is a failure of the run (3), not "a check failed" (1).
    code = EXIT.phaseFailed;
    notes.push('no check ran: the check runner failed before any check reported (see the output above); exit 3');
  }
  if (code === EXIT.ok && totals.failed > 0) code = EXIT.checkFailed;
  for (const p of auditProblems) notes.push(`audit trail: ${p}`);

  const early = (await info.clientTools?.catch(() => undefined)) ?? {};
  const tools = await collectToolVersions(info.config, { ...early, ...(state?.tools ?? {}) });
  const manifest = buildManifest({
    runId: info.runId,
    mode: info.mode,
    startedAt: info.startedAt,
    finishedAt,
    exitCode: code,
    rerunOf: info.rerunOf,
    tools,
    config: effectiveConfig(info.config),
    state,
    totals,
    failures,
    rerun,
    auditProblems,
    reports: {},
    extra: {
      warnings: (checks?.checks ?? []).flatMap((c) =>
        c.state === 'passed'
          ? c.annotations
              .filter((a) => a.type === 'warning')
              .map((a) => ({ file: c.file, name: filterName(c), message: a.message }))
          : [],
      ),
      fullLists: Object.fromEntries(
        (checks?.checks ?? []).flatMap((c) => (fullListPath(c) ? [[c.name, fullListPath(c)!]] : [])),
      ),
      target: { database: describeDsn(info.config.dst), assetsDir: info.config.dstAssetsDir },
      ...(info.selection ? { selection: info.selection } : {}),
      ...(effective.runs.length > 1 && !refused
        ? { effective: { runs: effective.runs, totals: effective.totals } }
        : {}),
    },
  });
  // report.html and summary.md from the same facts; their hashes join the others in the manifest.
  const reportInput = {
    manifest,
    checks: checks?.checks ?? [],
    effective: effective.runs.length > 1 && !refused ? effective : undefined,
    runDir: info.runDir,
  };
  attempt(SUMMARY_MD, () => writeAtomic(path.join(info.runDir, SUMMARY_MD), redact(renderSummaryMd(reportInput))));
  manifest.reports = hashReports(info.runDir);
  attempt(REPORT_HTML, () => writeAtomic(path.join(info.runDir, REPORT_HTML), redact(renderReportHtml(reportInput))));
  manifest.reports = hashReports(info.runDir);
  attempt(MANIFEST_FILE, () => writeManifest(info.runDir, manifest));
  if (reportsWriteErrors.length) {
    notes.push(
      `REPORTS_DIR ${info.config.reportsDir} could not be written (${reportsWriteErrors.join('; ')}); is the disk full? ` +
        `The reports of this run are incomplete; the manifest is in WORK_DIR`,
    );
  }
  try {
    fs.mkdirSync(info.workDir, { recursive: true });
    fs.chmodSync(writeManifest(info.workDir, manifest), 0o600); // every file of WORK_DIR is 0600 (issue 26)
  } catch (e) {
    notes.push(`could not copy ${MANIFEST_FILE} to WORK_DIR: ${(e as Error).message}`);
  }

  // An interrupted run whose JUnit report is missing or empty does not become `latest`: CI would read an empty report.
  const junitEmpty = !fs.existsSync(junitFile) || fs.statSync(junitFile).size === 0;
  const latestProblems =
    code >= 128 && junitEmpty
      ? ['latest stays at the previous run: this run was interrupted before its JUnit report was written']
      : (attempt('latest', () =>
          updateLatest(info.config.reportsDir, {
            runId: info.runId,
            dir: path.relative(info.config.reportsDir, info.runDir).split(path.sep).join('/'),
            finishedAt,
            exitCode: code,
          }),
        ) ?? ['latest stays at the previous run: REPORTS_DIR could not be written']);
  notes.push(...latestProblems);

  const lines = formatSummary(
    manifest,
    {
      runDir: info.runDir,
      reportsDir: info.config.reportsDir,
      workDir: info.workDir,
      isLatest: !latestProblems.some((p) => p.startsWith('latest stays')),
    },
    notes,
  );
  for (const line of lines) process.stdout.write(redact(line) + '\n');
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
