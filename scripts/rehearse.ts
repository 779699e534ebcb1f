/**
 * `npm run rehearse -- [--help | --version | --dry-run | --list | --verify-only | --rerun-failed]` (and `npm test`, which is the same
 * without flags): the migration rehearsal.
 *
 * Exit codes: 0 all checks passed · 1 a check failed · 2 usage/configuration error (nothing was touched) ·
 * 3 a copy phase failed · 130 interrupted (SIGINT, Ctrl-C) · 143 terminated (SIGTERM).
 */
import { terminalLine } from '../lib/core/escape.ts';
import { helpText, parseConfig, registerSecrets, type Config, type Mode } from '../lib/core/config.ts';
import { parseCliArgs, unknownEnvWarnings } from '../lib/core/cli-args.ts';
import { KNOWN_VARS } from './known-vars.ts';
import { ConfigError, EXIT, signalExitCode } from '../lib/core/errors.ts';
import { redact } from '../lib/core/redact.ts';
import { prepareRerun, type RerunPlan } from '../lib/audit/run-record.ts';
import { watchLaunchers } from '../lib/core/signals.ts';
import { selectionSpecs } from '../lib/audit/selection.ts';
import { rehearse } from '../lib/cli/rehearse.ts';

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

/**
 * A launcher that dies (npm exits at once on SIGTERM; a `kill -9` of tsx's wrapper) stops the run as SIGTERM would:
 * nothing of the run outlives the command the supervisor started.
 */
watchLaunchers((pid) => {
  err(`rehearse: launcher process ${pid} is gone; stopping as for SIGTERM`);
  process.kill(process.pid, 'SIGTERM');
});

/** A ConfigError is a usage error (exit 2, its message on stderr); anything else propagates. */
async function usage<T>(fn: () => T | Promise<T>): Promise<T | number> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err(e.message);
    return EXIT.usage;
  }
}

/** The arguments and the configuration, parsed once (the run protocol hands this Config on as data). */
function parseInput(): { args: Args; config?: Config } {
  const args = parseArgs(process.argv.slice(2));
  if (args.help || args.version) return { args };
  for (const w of unknownEnvWarnings(process.env, KNOWN_VARS)) err(w);
  const mode: Mode =
    args.dryRun || args.list ? 'dry-run' : args.verifyOnly || args.rerunFailed ? 'verify-only' : 'full';
  const config = parseConfig(process.env, { mode });
  registerSecrets(config);
  return { args, config };
}

/** --help, --version, --dry-run, --list: print and return the exit code; undefined for a run. */
async function readOnlyModes(args: Args, config: Config | undefined): Promise<number | undefined> {
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
  if (args.dryRun) {
    // Plan mode: read-only connections only; no WORK_DIR, no report folder, no run record.
    const { buildDryRunPlan } = await import('../lib/cli/dry-run.ts');
    const plan = await buildDryRunPlan(config!);
    for (const line of plan.lines) out(line);
    if (!plan.refused) return EXIT.ok;
    err('dry run: the preflight would refuse this configuration (see above); the real run would exit 2');
    return EXIT.usage;
  }
  if (args.list) {
    // Read-only discovery through the specs themselves (vitest list); no WORK_DIR, no report folder, no run record.
    const { listChecks, listLines } = await import('../lib/cli/list.ts');
    for (const line of listLines(await listChecks(process.env))) out(line);
    return EXIT.ok;
  }
  return undefined;
}

/** Set once the run takes over (lib/cli/rehearse.ts installs its own handlers, phase by phase). */
let runStarted = false;

/**
 * One SIGINT/SIGTERM listener for the whole process, installed first. Before the run starts (arguments, configuration
 * and its warnings, the read-only modes, the rerun plan) an interruption writes nothing and says so instead of ending
 * silently after the first lines (issue 26, attack 19). Later it yields to the run's own handlers and acts only when
 * none is installed (a moment between two of them): then it ends the run as Node's default would, with 128 + the
 * signal, but saying so. Always installed on purpose: removing a signal's last listener closes Node's signal handle,
 * and a signal already received but not yet dispatched is then lost (a SIGINT right after the first warning was
 * ignored and the run went on).
 */
function onProcessSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return; // the run's own handler has it
  err(
    runStarted
      ? `rehearsal interrupted by ${signal}`
      : `rehearsal interrupted by ${signal} before it started; nothing was written`,
  );
  process.exit(signalExitCode(signal));
}
process.on('SIGINT', onProcessSignal);
process.on('SIGTERM', onProcessSignal);

async function main(): Promise<number> {
  const input = await usage(parseInput);
  if (typeof input === 'number') return input;
  const { args, config } = input;
  const done = await readOnlyModes(args, config);
  if (done !== undefined) return done;
  const selection = await usage(() => selectionSpecs(args.select, args.exclude));
  if (typeof selection === 'number') return selection;
  let rerun: RerunPlan | undefined;
  if (args.rerunFailed) {
    const r = await usage(() => prepareRerun(config!));
    if (typeof r === 'number') return r;
    if (r.kind === 'nothing') {
      out(r.message);
      return EXIT.ok;
    }
    rerun = r;
  }
  runStarted = true;
  return rehearse(config!, {
    mode: args.verifyOnly ? 'verify-only' : rerun?.kind === 'rerun' ? 'rerun' : 'full',
    rerun: rerun?.kind === 'rerun' ? rerun : undefined,
    selection,
    out,
    err,
  });
}

main().then(
  (code) => process.exit(code),
  (e) => {
    err(`rehearse: unexpected error: ${(e as Error)?.stack ?? e}`);
    process.exit(EXIT.phaseFailed);
  },
);
