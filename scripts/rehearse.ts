/**
 * `npm run rehearse -- [--help | --version | --dry-run | --list | --verify-only | --rerun-failed]` (and `npm test`, which is the same
 * without flags): the migration rehearsal.
 *
 * Exit codes: 0 all checks passed · 1 a check failed · 2 usage/configuration error (nothing was touched) ·
 * 3 a copy phase failed · 130 interrupted (SIGINT, Ctrl-C) · 143 terminated (SIGTERM).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { helpText, parseConfig, registerSecrets, type Config, type Mode } from '../lib/core/config.ts';
import { parseCliArgs, unknownEnvWarnings } from '../lib/core/cli-args.ts';
import { KNOWN_VARS } from './known-vars.ts';
import { describeDsn } from '../lib/core/dsn.ts';
import { ConfigError, EXIT, signalExitCode } from '../lib/core/errors.ts';
import { redact } from '../lib/core/redact.ts';
import { PHASES_SPEC, finalizeRun, prepareRerun, type RerunPlan, type RunInfo } from '../lib/audit/run-record.ts';
import { blockingPhase, readState, writeState } from '../lib/core/state.ts';
import { runChecks } from '../lib/core/vitest-runner.ts';
import { lockTarget, lockWorkDir } from '../lib/core/run-lock.ts';
import { terminateOwnBackends } from '../lib/core/db.ts';
import { terminalLine } from '../lib/core/escape.ts';
import { ensurePrivateWorkDir, ensureUsableDir, refuseSymlinkedReportsDir } from '../lib/core/paths.ts';
import { watchLaunchers } from '../lib/core/signals.ts';
import { preflightGate } from '../lib/phases/preflight-gate.ts';
import { stopActiveTools } from '../lib/core/tools.ts';
import { selectionSpecs, type Selection } from '../lib/audit/selection.ts';
import { clientToolVersions } from '../lib/audit/manifest.ts';

const USAGE = `Usage: npm run rehearse -- [options]      (npm test = rehearse without options)

Rehearse the migration of a PostgreSQL (pgvector) database and its .data asset tree to staging:
copy phases (preflight, dump, restore, asset mirror), then every check as its own test case,
then JUnit/HTML/JSON reports and a manifest.

Options:
  --help           this text
  --version        the tool's version and its dependencies' (node, npm packages, pg_dump/pg_restore/psql/rsync)
  --dry-run        plan mode: print every command that would run (redacted) and the checks; write nothing
  --list           every check a full run would run, grouped by family (read-only discovery); write nothing
  --verify-only    run the checks only, no copy phases (after a migration)
  --rerun-failed   rerun exactly the checks that failed in the latest run, without copying again
  --select <ids>   run only these check families (comma-separated registry ids, e.g. orphans,row-counts)
  --exclude <ids>  run every family but these (the copy phases always run and report)

Exit codes: 0 all checks passed, 1 a check failed, 2 usage/configuration error (nothing touched),
            3 a copy phase failed, 130 interrupted (SIGINT), 143 terminated (SIGTERM).

Environment variables (secrets only ever come from here or a server-side .env):
`;

/** Each line redacted and stripped of terminal control (lib/core/escape.ts): paths and names are printed here. */
const printable = (text: string) => redact(text).split('\n').map(terminalLine).join('\n') + '\n';
function out(line = '') {
  process.stdout.write(printable(line));
}
function err(line = '') {
  process.stderr.write(printable(line));
}

interface Args {
  help: boolean;
  version: boolean;
  dryRun: boolean;
  list: boolean;
  verifyOnly: boolean;
  rerunFailed: boolean;
  select?: string[];
  exclude?: string[];
}

/** The options (util.parseArgs): an unknown one is a usage error (exit 2) with the closest known option named. */
const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  list: { type: 'boolean' },
  'verify-only': { type: 'boolean' },
  'rerun-failed': { type: 'boolean' },
  select: { type: 'string' },
  exclude: { type: 'string' },
} as const;

function parseArgs(argv: string[]): Args {
  const { values: v } = parseCliArgs(argv, OPTIONS, 'npm run rehearse -- --help');
  const families = (x: string | undefined, opt: string): string[] | undefined => {
    if (x === undefined) return undefined;
    const ids = x
      .split(',')
      .map((y) => y.trim())
      .filter(Boolean);
    if (ids.length === 0) throw new ConfigError(`${opt} needs a comma-separated list of check families`);
    return ids;
  };
  const a: Args = {
    help: !!v.help,
    version: !!v.version,
    dryRun: !!v['dry-run'],
    list: !!v.list,
    verifyOnly: !!v['verify-only'],
    rerunFailed: !!v['rerun-failed'],
    select: families(v.select, '--select'),
    exclude: families(v.exclude, '--exclude'),
  };
  const modes = [
    a.dryRun && '--dry-run',
    a.list && '--list',
    a.verifyOnly && '--verify-only',
    a.rerunFailed && '--rerun-failed',
  ].filter(Boolean);
  if (modes.length > 1) throw new ConfigError(`${modes.join(' and ')} cannot be combined; choose one`);
  return a;
}

function newRunId(): string {
  return `${new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(2).toString('hex')}`;
}

/**
 * A launcher that dies (npm exits at once on SIGTERM; a `kill -9` of tsx's wrapper) stops the run as SIGTERM would:
 * nothing of the run outlives the command the supervisor started.
 */
watchLaunchers((pid) => {
  err(`rehearse: launcher process ${pid} is gone; stopping as for SIGTERM`);
  process.kill(process.pid, 'SIGTERM');
});

async function main(): Promise<number> {
  let args: Args;
  let config: Config;
  try {
    args = parseArgs(process.argv.slice(2));
    if (args.help) {
      out(USAGE + helpText());
      return EXIT.ok;
    }
    if (args.version) {
      // Each mode's own modules are loaded when it runs: a check run does not pay for the planner's or the lister's.
      const { versionLines } = await import('../lib/cli/version.ts');
      for (const line of await versionLines()) out(line);
      return EXIT.ok;
    }
    for (const w of unknownEnvWarnings(process.env, KNOWN_VARS)) err(w);
    const mode: Mode =
      args.dryRun || args.list ? 'dry-run' : args.verifyOnly || args.rerunFailed ? 'verify-only' : 'full';
    config = parseConfig(process.env, { mode });
    registerSecrets(config);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.message);
      return EXIT.usage;
    }
    throw e;
  }

  if (args.dryRun) {
    // Plan mode: read-only connections only; no WORK_DIR, no report folder, no run record.
    const { buildDryRunPlan } = await import('../lib/cli/dry-run.ts');
    const plan = await buildDryRunPlan(config);
    for (const line of plan.lines) out(line);
    if (plan.refused) {
      err('dry run: the preflight would refuse this configuration (see above); the real run would exit 2');
      return EXIT.usage;
    }
    return EXIT.ok;
  }

  if (args.list) {
    // Read-only discovery through the specs themselves (vitest list); no WORK_DIR, no report folder, no run record.
    const { listChecks, listLines } = await import('../lib/cli/list.ts');
    for (const line of listLines(await listChecks(process.env))) out(line);
    return EXIT.ok;
  }

  let selection: Selection | undefined;
  try {
    selection = selectionSpecs(args.select, args.exclude);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.message);
      return EXIT.usage;
    }
    throw e;
  }

  let rerun: RerunPlan | undefined;
  if (args.rerunFailed) {
    try {
      rerun = prepareRerun(config);
    } catch (e) {
      if (e instanceof ConfigError) {
        err(e.message);
        return EXIT.usage;
      }
      throw e;
    }
    if (rerun.kind === 'nothing') {
      out(rerun.message);
      return EXIT.ok;
    }
  }

  const runId = newRunId();
  const startedAt = new Date().toISOString();
  const runDir = path.join(config.reportsDir, 'runs', runId);
  const workDir = config.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'rehearsal-work-'));
  const mode: RunInfo['mode'] = args.verifyOnly ? 'verify-only' : rerun ? 'rerun' : 'full';
  try {
    // Both must be writable directories before anything is written (exit 2 with the reason, not a stack trace).
    // WORK_DIR private to this user (created by the run, or ours, 0700-ish, no planted links); REPORTS_DIR no link.
    if (config.workDir) ensurePrivateWorkDir(workDir);
    refuseSymlinkedReportsDir(config.reportsDir);
    ensureUsableDir('REPORTS_DIR', config.reportsDir);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err(e.message);
    return EXIT.usage;
  }
  // Ctrl-C / SIGTERM before vitest starts (the locks, the preflight: a remote probe can take CONNECT_TIMEOUT_MS): the
  // running tools are stopped and the run ends with 130/143, nothing written. Registered before the first line is
  // printed, so no moment of start-up falls back to Node's default (a death by signal, no message).
  const onEarlySignal = (signal: NodeJS.Signals) => {
    const stopped = stopActiveTools('SIGTERM');
    err(
      `rehearsal interrupted by ${signal} during the preflight; ${stopped} running tool(s) stopped; nothing was written`,
    );
    process.exit(signalExitCode(signal));
  };
  process.once('SIGINT', onEarlySignal);
  process.once('SIGTERM', onEarlySignal);
  // The redacted target, before anything is written anywhere.
  out(`rehearsal ${runId} (${mode}${rerun?.kind === 'rerun' ? ` of ${rerun.rerunOf}` : ''})`);
  out(`  target:   ${describeDsn(config.dst)}  assets: ${config.dstAssetsDir}`);
  out(`  WORK_DIR: ${workDir}`);
  out(`  reports:  ${runDir}`);
  // One run per WORK_DIR and per target database, before anything is written (exit 2 names the holder).
  const workLock = lockWorkDir(workDir, runId);
  if (!workLock.ok) {
    err(`refused: ${workLock.message}`);
    return EXIT.usage;
  }
  try {
    // WORK_DIR holds the dump (production data): private whatever the umask of the caller.
    fs.chmodSync(workDir, 0o700);
  } catch {
    /* not ours to change: the dump files themselves are still 0600 (the tools run with umask 077) */
  }
  const targetLock = await lockTarget(config.dst, runId, {
    connectTimeoutMs: config.connectTimeoutMs,
    shared: mode !== 'full',
    // Another run could take the target now: stop this one the way an interruption does (tools and vitest stopped).
    onLost: (why) => {
      err(`the target lock was lost (${why}); stopping the run: another rehearsal could now write the target`);
      process.kill(process.pid, 'SIGTERM');
    },
  });
  if (targetLock && !targetLock.ok) {
    workLock.release();
    err(`refused: ${targetLock.message}`);
    return EXIT.usage;
  }
  try {
    return await runLocked();
  } finally {
    await targetLock?.release?.();
    workLock.release();
  }

  async function runLocked(): Promise<number> {
    fs.mkdirSync(runDir, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      REHEARSAL_RUN_ID: runId,
      REHEARSAL_RUN_DIR: runDir,
      REHEARSAL_WORK_DIR: workDir,
      REHEARSAL_MODE: mode,
    };
    if (rerun?.kind === 'rerun') env.REHEARSAL_PLAN_FILE = rerun.planFile;
    if (rerun?.kind === 'rerun') env.REHEARSAL_RERUN_OF = rerun.rerunOf;
    if (selection) env.REHEARSAL_SELECTION = JSON.stringify(selection);
    // The read-only preflight, in every mode, before vitest: a refusal is one failing test and exit 2.
    const gate = await preflightGate(config, { runId, workDir, mode });
    // From here vitest's runner forwards the signals (lib/core/vitest-runner.ts) and global setup records them.
    process.off('SIGINT', onEarlySignal);
    process.off('SIGTERM', onEarlySignal);
    env.REHEARSAL_PREFLIGHT_FILE = gate.file;
    let extraArgs = rerun?.kind === 'rerun' ? rerun.vitestArgs : [];
    if (selection) extraArgs = selection.apply(extraArgs);
    if (gate.record.result.status !== 'ok') {
      extraArgs = [PHASES_SPEC];
      env.REHEARSAL_ONLY_PHASES = '1';
    }
    // The manifest's client tool versions (4 short processes) are collected while vitest runs, not after it.
    const clientTools = clientToolVersions();
    const run = await runChecks({ env, extraArgs });
    let code = exitCodeOf(workDir, run.code);
    if (run.interruptedBy) {
      code = recordInterruption(workDir, run.interruptedBy);
      // The restore's backend may still hold its locks (waiting behind a reader): end the run's own sessions now.
      // Only the name this run made up: an application_name the DSN sets may be shared with other sessions.
      if (config.dst.params.application_name === undefined) {
        const app = `migration-rehearsal restore ${runId}`;
        const ended = await terminateOwnBackends(config.dst, app, { connectTimeoutMs: config.connectTimeoutMs });
        if (ended) err(`terminated ${ended} server session(s) of this run on the target (application_name "${app}")`);
      }
    } else if (run.signal && code < EXIT.phaseFailed) {
      // vitest itself was killed (OOM killer, a kill from outside): no verdict exists, so this is not "a check failed".
      err(`the check runner (vitest) was killed by ${run.signal}; no verdict was reached; rerun`);
      code = EXIT.phaseFailed;
    }
    const info: RunInfo = {
      runId,
      runDir,
      workDir,
      mode,
      startedAt,
      config,
      rerunOf: rerun?.kind === 'rerun' ? rerun.rerunOf : undefined,
      selection: selection ? { select: selection.select, exclude: selection.exclude } : undefined,
      clientTools,
    };
    return finalizeRun(info, code);
  }
}

/**
 * A run stopped by SIGINT/SIGTERM exits 130/143 (128 + signal number, as a shell reports it), whatever the checks
 * did so far. Global setup records an interruption during a copy phase; one during the checks is recorded here.
 */
function recordInterruption(workDir: string, signal: NodeJS.Signals): number {
  const state = readState(workDir);
  if (state && !state.interrupted) {
    state.interrupted = { signal, phase: 'checks', at: new Date().toISOString() };
    writeState(state);
  }
  err(
    `rehearsal interrupted by ${signal}${state?.interrupted?.phase ? ` during ${state.interrupted.phase}` : ''}; child processes were stopped; rerun to start again`,
  );
  return signalExitCode(signal);
}

/** 2/3 when a copy phase refused/failed (recorded in state.json), else 0/1 from the checks. */
function exitCodeOf(workDir: string, vitestCode: number): number {
  const state = readState(workDir);
  const blocked = state ? blockingPhase(state) : undefined;
  if (blocked) {
    // The preflight's own FAILED line and the summary's phases table say why; later phases are named here too.
    if (blocked.name !== 'preflight') err(`phase ${blocked.name} ${blocked.status}: ${blocked.reason ?? ''}`);
    return blocked.rehearseExitCode ?? EXIT.phaseFailed;
  }
  if (!state) {
    err('the rehearsal did not record its state (global setup did not run); see the output above');
    return EXIT.phaseFailed;
  }
  return vitestCode === 0 ? EXIT.ok : EXIT.checkFailed;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    err(`rehearse: unexpected error: ${(e as Error)?.stack ?? e}`);
    process.exit(EXIT.phaseFailed);
  },
);
