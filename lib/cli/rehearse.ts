/**
 * `rehearse(config, options)`: one rehearsal run as a library function (the model: graphile/migrate's
 * `migrate(settings)` behind a thin CLI). It owns the run — WORK_DIR and the run's report folder, the locks, the
 * read-only preflight gate, the check suite in a vitest child (which runs the copy pipeline in its global setup,
 * lib/phases/pipeline.ts) handed the run protocol (lib/core/run-protocol.ts), the exit code, the run record. The CLI
 * (scripts/rehearse.ts) only parses arguments and the configuration, calls it, and exits with what it returns.
 *
 * Exit codes: 0 all checks passed · 1 a check failed · 2 refused before anything was written · 3 a copy phase
 * failed · 130/143 interrupted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../core/config.ts';
import { describeDsn } from '../core/dsn.ts';
import { ConfigError, EXIT, signalExitCode } from '../core/errors.ts';
import { ensurePrivateWorkDir, ensureUsableDir, refuseUnsafeReportsDir } from '../core/paths.ts';
import { checkWorkersFor, restoreAppName, serverAnswers, terminateOwnBackends } from '../core/db.ts';
import { lockTarget, lockWorkDir } from '../core/run-lock.ts';
import { toEnv, type RunProtocol } from '../core/run-protocol.ts';
import { blockingPhase, readState, writeState } from '../core/state.ts';
import { stopActiveTools } from '../core/tools.ts';
import { runChecks } from '../core/vitest-runner.ts';
import { clientToolVersions } from '../audit/manifest.ts';
import { PHASES_SPEC, finalizeRun, preloadReportRenderers, type RerunPlan, type RunInfo } from '../audit/run-record.ts';
import type { Selection } from '../audit/selection.ts';
import { preflightGate } from '../phases/preflight-gate.ts';

export interface RehearseOptions {
  /** `full` (copy phases, then checks), `verify-only` (checks only) or `rerun` (the failed checks of `rerun`). */
  mode: RunInfo['mode'];
  /** A rerun's plan (lib/audit/run-record.ts prepareRerun), kind `rerun`. */
  rerun?: Extract<RerunPlan, { kind: 'rerun' }>;
  /** --select / --exclude. */
  selection?: Selection;
  /** Where the run's lines go (already redacted by the caller's printer). */
  out: (line: string) => void;
  err: (line: string) => void;
}

/** What one run is: its id, folders and start, fixed before anything is written. */
interface RunPlace {
  runId: string;
  startedAt: string;
  runDir: string;
  workDir: string;
}

/** A run id: `20261207T041000Z-1a2b` (UTC start, 2 random bytes). */
export function newRunId(): string {
  return `${new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(2).toString('hex')}`;
}

/** Run one rehearsal; returns the exit code. Throws only for an unexpected error. */
export async function rehearse(config: Config, o: RehearseOptions): Promise<number> {
  // Ctrl-C / SIGTERM from here until vitest's runner forwards them (the locks, the preflight: a remote probe can take
  // CONNECT_TIMEOUT_MS): the running tools are stopped and the run ends with 130/143. Registered before the first
  // folder is created, so no moment of the run falls back to Node's default (a death by signal, no message, an empty
  // temporary WORK_DIR left behind); the folders this run creates are added to `created` as they are made.
  const early: EarlyCleanup = {};
  const offEarly = onEarlySignal(o, early);
  const place: RunPlace = {
    runId: newRunId(),
    startedAt: new Date().toISOString(),
    runDir: '',
    workDir: config.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'rehearsal-work-')),
  };
  place.runDir = path.join(config.reportsDir, 'runs', place.runId);
  try {
    // Both must be writable directories before anything is written (exit 2 with the reason, not a stack trace).
    // WORK_DIR private to this user (created by the run, or ours, 0700-ish, no planted links); REPORTS_DIR no link, ours.
    if (config.workDir) ensurePrivateWorkDir(place.workDir);
    refuseUnsafeReportsDir(config.reportsDir); // no link, ours, not writable by others (sticky bit aside)
    ensureUsableDir('REPORTS_DIR', config.reportsDir);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    offEarly();
    o.err(e.message);
    return EXIT.usage;
  }
  if (!config.workDir) early.tempWorkDir = place.workDir;
  early.runDir = place.runDir;
  announce(config, place, o);
  try {
    return await withLocks(config, place, o, () => runLocked(config, place, o, offEarly), early);
  } finally {
    offEarly();
  }
}

/** What an interruption during start-up removes: what this run made so far (filled in as it is made). */
interface EarlyCleanup {
  /** The temporary WORK_DIR this run created (no WORK_DIR given). */
  tempWorkDir?: string;
  /** The run folder under REPORTS_DIR. */
  runDir?: string;
  /** Removes this run's WORK_DIR lock file (set once it is taken). */
  releaseWorkLock?: () => void;
}

/**
 * The start-up interruption handler (from before the first folder until vitest forwards signals: locks, preflight,
 * slot probe; no dump exists yet, the dump phase runs under vitest). It releases this run's WORK_DIR lock (the process
 * exits at once, so the `finally` that would release it never runs: a given WORK_DIR kept a lock of a dead pid), removes
 * the temporary WORK_DIR this run created whole (its preflight logs and records only; issue 26: SIGINT during the
 * preflight left it holding a stale lock) unless a dump is found in it, and the run folder when still empty.
 */
function onEarlySignal(o: RehearseOptions, early: EarlyCleanup): () => void {
  const handler = (signal: NodeJS.Signals) => {
    const stopped = stopActiveTools('SIGTERM');
    cleanUpEarly(early);
    o.err(
      `rehearsal interrupted by ${signal} during the preflight; ${stopped} running tool(s) stopped; nothing was written`,
    );
    process.exit(signalExitCode(signal));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** The start-up cleanup (best effort, synchronous: it runs right before process.exit). */
function cleanUpEarly(early: EarlyCleanup): void {
  try {
    early.releaseWorkLock?.();
  } catch {
    /* gone already */
  }
  if (early.tempWorkDir) removeTempWorkDir(early.tempWorkDir);
  if (early.runDir) removeIfEmpty(early.runDir);
}

/** Remove a temporary WORK_DIR this run created, unless it holds a dump (`source.dump*`, anywhere in it). */
function removeTempWorkDir(dir: string): void {
  try {
    const names = fs.readdirSync(dir, { recursive: true }).map((n) => path.basename(String(n)));
    if (names.some((n) => n.startsWith('source.dump'))) return;
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    /* absent */
  }
}

/** Remove `dir` if it exists and holds nothing but this run's lock file (best effort). */
function removeIfEmpty(dir: string): void {
  try {
    const left = fs.readdirSync(dir).filter((n) => n !== 'rehearsal.lock');
    if (left.length === 0) fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    /* absent */
  }
}

/**
 * From the end of the checks to the run record: SIGINT/SIGTERM are noted, not obeyed at once, so the report is still
 * written (issue 26: a SIGINT after the checks finished killed the run with no report). Returns the signal getter and
 * the release function.
 */
function holdSignalsWhileRecording(o: RehearseOptions): { signal(): NodeJS.Signals | undefined; off(): void } {
  let got: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (got) process.exit(signalExitCode(signal)); // a second signal: stop now
    got = signal;
    o.err(`${signal} received while the run record is written; finishing the report first (send it again to stop now)`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: () => got,
    off() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** The redacted target, before anything is written anywhere. */
function announce(config: Config, place: RunPlace, o: RehearseOptions): void {
  o.out(`rehearsal ${place.runId} (${o.mode}${o.rerun ? ` of ${o.rerun.rerunOf}` : ''})`);
  o.out(`  target:   ${describeDsn(config.dst)}  assets: ${config.dstAssetsDir}`);
  o.out(`  WORK_DIR: ${place.workDir}`);
  o.out(`  reports:  ${place.runDir}`);
}

/** One run per WORK_DIR and per target database, before anything is written (exit 2 names the holder). */
async function withLocks(
  config: Config,
  place: RunPlace,
  o: RehearseOptions,
  body: () => Promise<number>,
  early: EarlyCleanup,
): Promise<number> {
  const workLock = lockWorkDir(place.workDir, place.runId);
  if (!workLock.ok) {
    o.err(`refused: ${workLock.message}`);
    return EXIT.usage;
  }
  early.releaseWorkLock = () => workLock.release();
  try {
    // WORK_DIR holds the dump (production data): private whatever the umask of the caller.
    fs.chmodSync(place.workDir, 0o700);
  } catch {
    /* not ours to change: the dump files themselves are still 0600 (the tools run with umask 077) */
  }
  const targetLock = await lockTarget(config.dst, place.runId, {
    connectTimeoutMs: config.connectTimeoutMs,
    shared: o.mode !== 'full',
    // Another run could take the target now: stop this one the way an interruption does (tools and vitest stopped).
    onLost: (why) => void onTargetLockLost(config, why, o),
  });
  if (targetLock && !targetLock.ok) {
    workLock.release();
    o.err(`refused: ${targetLock.message}`);
    return EXIT.usage;
  }
  try {
    return await body();
  } finally {
    await targetLock?.release?.();
    workLock.release();
  }
}

/**
 * After an interruption: the restore's backend may still hold its locks (waiting behind a reader), so the run's own
 * sessions are ended now — only under the run-unique name the restore used (restoreAppName: the DSN's own
 * application_name, which other clients may share, is never matched alone).
 */
async function endOwnRestoreSessions(config: Config, runId: string, o: RehearseOptions): Promise<void> {
  const app = restoreAppName(config.dst.params.application_name, runId);
  const ended = await terminateOwnBackends(config.dst, app, { connectTimeoutMs: config.connectTimeoutMs });
  if (ended) o.err(`terminated ${ended} server session(s) of this run on the target (application_name "${app}")`);
}

/**
 * The target lock's session ended: another run could take the target now, so this one stops at once, the way an
 * interruption does (tools and vitest stopped, exit 143, the restore's own sessions ended: endOwnRestoreSessions).
 * Whether the target still answers is judged by a real probe (lib/core/db.ts serverAnswers: a connection and
 * `SELECT 1`, at least 10 s each; issue 26: a 3 s connect under a restore's load called a live target dead, and the run
 * went on unprotected). One exception: a target whose server is down (connections refused, not merely slow or frozen)
 * can be written by nobody, so the run goes on and every check still waiting on it fails naming the lost server
 * (exit 1, the checks' dead-side rule) — the operator gets findings, not an "interrupted" run.
 */
async function onTargetLockLost(config: Config, why: string, o: RehearseOptions): Promise<void> {
  const probe = await serverAnswers(config.dst, config.connectTimeoutMs);
  if (!probe.answers && probe.refused) {
    o.err(
      `the target lock was lost (${why}) and the target server is down (${probe.why}): its checks will fail naming it`,
    );
    return;
  }
  o.err(
    probe.answers
      ? `the target lock was lost (${why}); stopping the run: another rehearsal could now write the target`
      : `the target lock was lost (${why}) and the target does not answer (${probe.why}); stopping the run: nothing on it can be checked or protected`,
  );
  process.kill(process.pid, 'SIGTERM');
}

/** The gate, the check suite (vitest, with the run protocol), the exit code and the run record. */
async function runLocked(config: Config, place: RunPlace, o: RehearseOptions, offEarly: () => void): Promise<number> {
  const { runId, runDir, workDir } = place;
  fs.mkdirSync(runDir, { recursive: true });
  // The read-only preflight, in every mode, before vitest: a refusal is one failing test and exit 2.
  const gate = await preflightGate(config, { runId, workDir, mode: o.mode });
  const refused = gate.record.result.status !== 'ok';
  const protocol: RunProtocol = {
    runId,
    mode: o.mode,
    runDir,
    workDir,
    planFile: o.rerun?.planFile,
    preflightFile: gate.file,
    onlyPhases: refused || undefined,
    config,
  };
  let extraArgs = o.rerun ? o.rerun.vitestArgs : [];
  if (o.selection) extraArgs = o.selection.apply(extraArgs);
  if (refused) extraArgs = [PHASES_SPEC];
  // The manifest's client tool versions (4 short processes) are collected while vitest runs, not after it.
  const clientTools = clientToolVersions();
  const fit = refused ? undefined : await fitChecksToSlots(config, o);
  if (fit) extraArgs = [...extraArgs, ...fit.args];
  const checks = runChecks({ env: { ...process.env, ...toEnv(protocol), ...fit?.env }, extraArgs });
  // vitest's runner has registered its forwarding handler (synchronously, above): only now is the early one removed,
  // so a signal during the slot probe above still ends the run with 130/143 and a message (issue 26, attack 19).
  offEarly();
  // report.html's renderer loads while vitest runs (this process only waits), not after it (lib/audit/run-record.ts).
  preloadReportRenderers();
  const run = await checks;
  const held = holdSignalsWhileRecording(o);
  let code = exitCodeOf(workDir, run.code, o);
  if (run.interruptedBy) {
    code = recordInterruption(workDir, run.interruptedBy, o);
    await endOwnRestoreSessions(config, runId, o);
  } else if (run.signal && code < EXIT.phaseFailed) {
    // vitest itself was killed (OOM killer, a kill from outside): no verdict exists, so this is not "a check failed".
    o.err(`the check runner (vitest) was killed by ${run.signal}; no verdict was reached; rerun`);
    code = EXIT.phaseFailed;
  }
  const info: RunInfo = {
    ...place,
    mode: o.mode,
    config,
    rerunOf: o.rerun?.rerunOf,
    selection: o.selection ? { select: o.selection.select, exclude: o.selection.exclude } : undefined,
    clientTools,
  };
  try {
    const recorded = await finalizeRun(info, code);
    const late = held.signal();
    return late ? signalExitCode(late) : recorded;
  } finally {
    held.off();
  }
}

/**
 * vitest's worker count and CHECK_CONCURRENCY lowered to what the servers' free connection slots hold now
 * (lib/core/db.ts checkWorkersFor), said on stderr; nothing changed when they fit.
 */
async function fitChecksToSlots(config: Config, o: RehearseOptions) {
  const defaults = { workers: Math.max(1, os.availableParallelism() - 1), concurrency: config.checkConcurrency };
  const dsns = [config.dst, ...(config.src ? [config.src] : [])];
  const fit = await checkWorkersFor(dsns, defaults, { connectTimeoutMs: config.connectTimeoutMs });
  for (const n of fit.notes) o.err(`note: ${n}`);
  return {
    args: fit.workers < defaults.workers ? [`--maxWorkers=${fit.workers}`] : [],
    env: fit.concurrency < defaults.concurrency ? { CHECK_CONCURRENCY: String(fit.concurrency) } : {},
  };
}

/**
 * A run stopped by SIGINT/SIGTERM exits 130/143 (128 + signal number, as a shell reports it), whatever the checks
 * did so far. Global setup records an interruption during a copy phase; one during the checks is recorded here.
 */
function recordInterruption(workDir: string, signal: NodeJS.Signals, o: RehearseOptions): number {
  const state = readState(workDir);
  if (state && !state.interrupted) {
    state.interrupted = { signal, phase: 'checks', at: new Date().toISOString() };
    writeState(state);
  }
  o.err(
    `rehearsal interrupted by ${signal}${state?.interrupted?.phase ? ` during ${state.interrupted.phase}` : ''}; child processes were stopped; rerun to start again`,
  );
  return signalExitCode(signal);
}

/** 2/3 when a copy phase refused/failed (recorded in state.json), else 0/1 from the checks. */
function exitCodeOf(workDir: string, vitestCode: number, o: RehearseOptions): number {
  const state = readState(workDir);
  const blocked = state ? blockingPhase(state) : undefined;
  if (blocked) {
    // The preflight's own FAILED line and the summary's phases table say why; later phases are named here too.
    if (blocked.name !== 'preflight') o.err(`phase ${blocked.name} ${blocked.status}: ${blocked.reason ?? ''}`);
    return blocked.rehearseExitCode ?? EXIT.phaseFailed;
  }
  if (!state) {
    o.err('the rehearsal did not record its state (global setup did not run); see the output above');
    return EXIT.phaseFailed;
  }
  return vitestCode === 0 ? EXIT.ok : EXIT.checkFailed;
}
