/**
 * `npm run demo -- [--users N] [--break <fault>] [--keep] [--reports-dir DIR]`: the embedded default.
 *
 * Builds a realistic local system — a source cluster loaded with the fixture, its asset tree, an empty target
 * ("staging") cluster, a health endpoint — prints the environment a user would set (redacted), then runs the full
 * rehearsal exactly as a user would (`tsx scripts/rehearse.ts` as a child process) and prints where the reports are.
 * With --break, one named fault is seeded first (lib/demo-faults.ts) and the run ends red.
 *
 * Exit code: the rehearsal's (0 green, 1 a check failed, 3 a copy phase failed); 2 for a usage error.
 */
import { onStopSignal, withParentDeathSignal } from '../lib/core/signals.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { VARS } from '../lib/core/config.ts';
import { applyFault, FAULTS, isFault, type AppliedFault, type FaultName } from '../lib/sandbox/demo-faults.ts';
import { describeDsn, LIBPQ_ENV_VARS, parseDsn } from '../lib/core/dsn.ts';
import { fixtureRowCounts, loadFixture, writeAssetTree } from '../lib/sandbox/fixture.ts';
import { startHealthServer, type HealthServer } from '../lib/sandbox/health-server.ts';
import { cliCommand, PROJECT_ROOT } from '../lib/core/project.ts';
import { redact, redactor } from '../lib/core/redact.ts';
import { familyById } from '../lib/checks/registry.ts';
import { DEFAULT_DB_PATH_PREFIX } from '../lib/core/paths.ts';
import { shellQuote } from '../lib/core/shell.ts';
import { parseCliArgs } from '../lib/core/cli-args.ts';
import { ConfigError, signalExitCode } from '../lib/core/errors.ts';
import {
  clusterUrl,
  createDatabase,
  findPgBin,
  startSandbox,
  stopCluster,
  stopSandbox,
  withClient,
  type ClusterInfo,
  type SandboxState,
} from '../lib/sandbox/clusters.ts';

const DEFAULT_USERS = 50;
const PREFIX = DEFAULT_DB_PATH_PREFIX;
const DATABASES = { source: 'legacy_app', target: 'staging' };
/**
 * Marks a demo sandbox, so `--cleanup DIR` never deletes anything else: written when the sandbox starts (`running:
 * demo pid N`, so a demo killed with SIGKILL or by the OOM killer leaves a sandbox --cleanup can remove), and replaced
 * by --keep (`kept by …`).
 */
const MARKER = '.migration-rehearsal-demo';

const USAGE = `Usage: npm run demo -- [options]

A complete rehearsal on a local system built for the occasion: a source PostgreSQL (pgvector) loaded with
demo data, its .data asset tree, an empty staging cluster and a health endpoint; then \`npm run rehearse\`
against them, ending with the reports.

Options:
  --users N          demo size (default ${DEFAULT_USERS}, or DEMO_USERS); about 13 rows per user
  --break FAULT      seed one fault first and see a red run: ${FAULTS.join(', ')}
  --keep             keep the sandbox running afterwards; prints how to reuse and remove it
  --reports-dir DIR  where the reports go (default reports/demo, apart from your real runs in reports/)
  --cleanup DIR      stop and remove a sandbox kept by --keep, or left running by a demo that was killed
  --help             this text
`;

interface DemoArgs {
  users: number;
  fault?: FaultName;
  keep: boolean;
  reportsDir: string;
  cleanup?: string;
  help: boolean;
}

class UsageError extends Error {
  override name = 'UsageError';
}

/** The demo's options (util.parseArgs): an unknown one is a usage error naming the closest known option. */
const DEMO_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  keep: { type: 'boolean' },
  users: { type: 'string' },
  'reports-dir': { type: 'string' },
  cleanup: { type: 'string' },
  break: { type: 'string' },
} as const;

export function parseDemoArgs(argv: string[], env: Record<string, string | undefined> = process.env): DemoArgs {
  const a: DemoArgs = {
    users: DEFAULT_USERS,
    keep: false,
    reportsDir: path.join(PROJECT_ROOT, 'reports', 'demo'),
    help: false,
  };
  const users = (raw: string | undefined, from: string) => {
    if (!raw || !/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 1_000_000)
      throw new UsageError(`${from} must be a whole number from 1 to 1000000 (got "${raw ?? ''}")`);
    return Number(raw);
  };
  if (env.DEMO_USERS?.trim()) a.users = users(env.DEMO_USERS.trim(), 'DEMO_USERS');
  let v: ReturnType<typeof parseCliArgs<typeof DEMO_OPTIONS>>['values'];
  try {
    v = parseCliArgs(argv, DEMO_OPTIONS, 'npm run demo -- --help').values;
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.problems.join('; '));
    throw e;
  }
  a.help = !!v.help;
  a.keep = !!v.keep;
  if (v.users !== undefined) a.users = users(v.users, '--users');
  if (v['reports-dir'] !== undefined) a.reportsDir = path.resolve(v['reports-dir']);
  if (v.cleanup !== undefined) a.cleanup = path.resolve(v.cleanup);
  if (v.break !== undefined) {
    if (!isFault(v.break)) throw new UsageError(`unknown fault "${v.break}"; choose one of: ${FAULTS.join(', ')}`);
    a.fault = v.break;
  }
  return a;
}

function say(line = '') {
  process.stdout.write(redact(line) + '\n');
}

/** The rehearsal's environment: the user's, minus every contract and libpq variable, plus the demo's. */
function childEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const drop = new Set([...VARS.map((v) => v.name), 'STAGING_API_PORT', ...LIBPQ_ENV_VARS]);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!drop.has(k) && !k.startsWith('REHEARSAL_')) env[k] = v;
  return { ...env, ...vars };
}

/** Run the rehearsal as a user would, every line through the redactor. */
function runRehearsal(env: NodeJS.ProcessEnv, life: DemoLife): Promise<number> {
  // The demo is already stopping (an unexpected error while it loaded the world): start nothing that would outlive it.
  if (life.stopping) return Promise.reject(new Error('the demo is stopping; the rehearsal was not started'));
  // The rehearsal gets SIGTERM if the demo dies under it (even kill -9), so it never runs on against stopped clusters.
  const [file, argv] = withParentDeathSignal(...cliCommand('rehearse'), 'TERM');
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const closed = new Promise<void>((done) => child.on('close', () => done()));
    life.rehearsal = { child, closed };
    const forward = (stream: NodeJS.ReadableStream, to: NodeJS.WriteStream) =>
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (l) => to.write(redact(l) + '\n'));
    forward(child.stdout, process.stdout);
    forward(child.stderr, process.stderr);
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 130 : 1)));
  });
}

function runDirs(reportsDir: string): Set<string> {
  const runs = path.join(reportsDir, 'runs');
  if (!fs.existsSync(runs)) return new Set();
  return new Set(fs.readdirSync(runs).filter((e) => fs.lstatSync(path.join(runs, e)).isDirectory()));
}

/**
 * The pid in a `running: demo pid N` marker while that process is alive and still a demo (its command line names
 * `demo`: after a reboot or a SIGKILL the pid may belong to another program), else undefined.
 */
function runningDemoPid(marker: string): number | undefined {
  const m = /^running: demo pid (\d+)/.exec(marker);
  if (!m) return undefined;
  const pid = Number(m[1]);
  try {
    return /\bdemo\b/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')) ? pid : undefined;
  } catch {
    return undefined; // no such process
  }
}

/**
 * Stop both clusters and remove the sandbox, its marker last: a demo killed during the removal leaves a directory
 * `--cleanup` still recognises.
 */
async function removeSandbox(sandbox: SandboxState): Promise<void> {
  await stopSandbox(sandbox, { keepFiles: true });
  removeMarkerLast(sandbox.root);
}

/** Remove `dir` with everything in it, the demo's marker last. */
function removeMarkerLast(dir: string): void {
  for (const e of fs.readdirSync(dir)) if (e !== MARKER) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * --cleanup DIR: stop both clusters of a demo sandbox and remove it. Only a directory with the demo's marker (a kept
 * sandbox, or one whose demo died without cleaning up) is touched; one whose demo still runs is refused (its Ctrl-C
 * removes it).
 */
async function cleanupKept(dir: string): Promise<number> {
  const markerFile = path.join(dir, MARKER);
  if (!fs.existsSync(dir)) {
    throw new UsageError(`${dir} does not exist (already removed?); nothing to clean up`);
  }
  if (!fs.existsSync(markerFile)) {
    throw new UsageError(
      `${dir} is not a demo sandbox (no ${MARKER} in it: made by \`npm run demo\`, kept by --keep); nothing removed`,
    );
  }
  const running = runningDemoPid(fs.readFileSync(markerFile, 'utf8'));
  if (running !== undefined) {
    throw new UsageError(
      `the demo that made ${dir} still runs (pid ${running}); stop it with Ctrl-C (it removes its sandbox) or wait for it; nothing removed`,
    );
  }
  const pgBin = findPgBin();
  const state: SandboxState = { root: dir, password: '', pgBin, clusters: {} };
  for (const name of ['source', 'target'] as const) {
    const dataDir = path.join(dir, name, 'data');
    if (fs.existsSync(dataDir)) {
      await stopCluster(state, {
        name,
        host: '127.0.0.1',
        port: 0,
        user: '',
        password: '',
        database: '',
        dataDir,
        logFile: '',
      });
    }
  }
  removeMarkerLast(dir);
  say(`demo: stopped and removed ${dir}`);
  return 0;
}

/** The demo's sandbox and what its stopping must know: the health endpoint to close and whether to keep the clusters. */
interface DemoLife {
  sandbox: SandboxState;
  health?: HealthServer;
  keep: boolean;
  /** Set when cleanup starts: no new rehearsal child is started after it. */
  stopping: boolean;
  /** The rehearsal child while it runs (and the promise of its end), so cleanup stops it before the clusters. */
  rehearsal?: { child: ChildProcess; closed: Promise<void> };
  cleanup: () => Promise<void>;
}

/** How long a stopping demo waits for its rehearsal child to end after SIGTERM before SIGKILL (ms). */
const REHEARSAL_STOP_GRACE_MS = 30_000;

/**
 * Stop the rehearsal child, if one runs: SIGTERM (it removes what it was writing and says "interrupted"), then
 * SIGKILL after REHEARSAL_STOP_GRACE_MS. Resolves when the child has closed, so nothing writes into the sandbox while
 * it is removed.
 */
async function stopRehearsal(life: DemoLife): Promise<void> {
  const r = life.rehearsal;
  if (!r || r.child.exitCode !== null || r.child.signalCode !== null) return;
  r.child.kill('SIGTERM');
  const timer = setTimeout(() => r.child.kill('SIGKILL'), REHEARSAL_STOP_GRACE_MS);
  try {
    await r.closed;
  } finally {
    clearTimeout(timer);
  }
}

/** The command line, or the exit code when it asks for nothing more (usage error: 2, --help: 0, --cleanup). */
async function demoArgs(): Promise<DemoArgs | number> {
  let args: DemoArgs;
  try {
    args = parseDemoArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`demo: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.cleanup) return cleanupKept(args.cleanup);
  return args;
}

/**
 * Stop the sandbox whatever ends the demo: a stop signal, or an error nobody awaits (an 'error' event without a
 * listener, e.g. EPIPE on a closed stdout, or a rejected promise) that would end the process before `finally` runs and
 * leave both clusters running.
 */
function guardSandbox(sandbox: SandboxState): DemoLife {
  let cleaning: Promise<void> | undefined;
  const life: DemoLife = {
    sandbox,
    keep: false,
    stopping: false,
    cleanup: () =>
      (cleaning ??= (async () => {
        life.stopping = true;
        await stopRehearsal(life).catch(() => {});
        await life.health?.close().catch(() => {});
        if (!life.keep) await removeSandbox(sandbox).catch(() => {});
      })()),
  };
  // Every stop signal is handled, not only the first: a second Ctrl-C during the teardown must not end the process
  // (the default action) before the clusters are stopped.
  onStopSignal(
    (sig) => {
      if (life.stopping) {
        process.stderr.write(`demo: ${sig}: already stopping the sandbox, one moment\n`);
        return;
      }
      life.keep = false;
      process.stderr.write(`demo: ${sig}: stopping the sandbox\n`);
      void life.cleanup().finally(() => process.exit(signalExitCode(sig)));
    },
    { once: false },
  );
  let dying = false;
  const die = (e: unknown) => {
    if (dying) return;
    dying = true;
    life.keep = false;
    try {
      process.stderr.write(
        redact(`demo: unexpected error: ${(e as Error)?.stack ?? e}`) + '\ndemo: stopping the sandbox\n',
      );
    } catch {
      /* stderr gone too: stop the clusters anyway */
    }
    void life.cleanup().finally(() => process.exit(1));
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
  return life;
}

/** The demo's world: the fixture database in the source cluster, its asset tree, an empty target and target tree. */
async function loadDemoWorld(sandbox: SandboxState, users: number) {
  const src = sandbox.clusters.source as ClusterInfo;
  const dst = sandbox.clusters.target as ClusterInfo;
  const srcAssets = path.join(sandbox.root, 'assets', 'source', '.data');
  const dstAssets = path.join(sandbox.root, 'assets', 'staging', '.data');
  fs.mkdirSync(srcAssets, { recursive: true });
  fs.mkdirSync(dstAssets, { recursive: true });
  await createDatabase(src, DATABASES.source);
  await createDatabase(dst, DATABASES.target);
  const files = await withClient(src, DATABASES.source, async (c) => {
    await loadFixture(c, { users, prefix: PREFIX });
    return writeAssetTree(c, srcAssets, { prefix: PREFIX });
  });
  say(
    `demo: loaded ${DATABASES.source} (users, knowledge bases and materials, pgvector embeddings with an HNSW index, UGC assets, galleries) and wrote ${files} asset files`,
  );
  return { src, dst, srcAssets, dstAssets };
}

/**
 * The env contract of the demo's rehearsal. The demo checks every asset path (the sample is the whole column) so one
 * broken file is always found; on a real system you sample (ASSETS_SAMPLE_N, default 50).
 */
function demoVars(
  world: Awaited<ReturnType<typeof loadDemoWorld>>,
  args: DemoArgs,
  life: DemoLife,
  fault: AppliedFault | undefined,
): Record<string, string> {
  return {
    SRC_DATABASE_URL: clusterUrl(world.src, DATABASES.source),
    DST_DATABASE_URL: clusterUrl(world.dst, DATABASES.target),
    SRC_ASSETS_DIR: world.srcAssets,
    DST_ASSETS_DIR: world.dstAssets,
    ASSETS_SAMPLE_N: String(args.users * 3 + 10),
    STAGING_API_BASE_URL: life.health?.url ?? '',
    WORK_DIR: path.join(life.sandbox.root, 'work'),
    REPORTS_DIR: args.reportsDir,
    ...fault?.env,
  };
}

/** Run the rehearsal with `vars`; say how it ended and where its reports are; return its exit code. */
async function rehearseAndTell(
  vars: Record<string, string>,
  args: DemoArgs,
  fault: AppliedFault | undefined,
  started: number,
  life: DemoLife,
): Promise<number> {
  say('demo: the environment, as you would set it for your own migration (secrets redacted):');
  for (const [k, v] of Object.entries(vars)) {
    const shown = /_DATABASE_URL$/.test(k) ? describeDsn(parseDsn(v)) : v;
    say(`  export ${k}=${shellQuote(shown)}`);
  }
  say('demo: running the rehearsal: npm run rehearse (dump → restore → rsync → checks → reports)');
  say('');
  const before = runDirs(args.reportsDir);
  const code = await runRehearsal(childEnv(vars), life);
  say('');
  const fresh = [...runDirs(args.reportsDir)].filter((d) => !before.has(d)).sort();
  const runDir = fresh.length ? path.join(args.reportsDir, 'runs', fresh[fresh.length - 1]) : undefined;
  const secs = Math.round((Date.now() - started) / 1000);
  if (code === 0) say(`demo: the rehearsal is green (${secs} s).`);
  else if (fault)
    say(
      `demo: the rehearsal is red (exit ${code}), as expected with --break ${fault.name}: see the failing ${familyById(fault.expect.family).label} check (${secs} s).`,
    );
  else say(`demo: the rehearsal failed (exit ${code}) (${secs} s).`);
  if (runDir) {
    say(`demo: reports: ${runDir}`);
    say(
      `  open ${path.join(runDir, 'report.html')} in a browser (or: npm run report); junit.xml, summary.md and manifest.json are beside it`,
    );
    // The rehearsal's summary names WORK_DIR's manifest copy, which lives in the sandbox: gone with it unless --keep.
    if (!args.keep)
      say(`  (the "manifest copy" above is in the sandbox's WORK_DIR, removed with it; the copy in ${runDir} stays)`);
  } else {
    say(`demo: the rehearsal wrote no run folder under ${path.join(args.reportsDir, 'runs')}; see its output above`);
  }
  return code;
}

/** --keep: leave the clusters running, with a 0600 env file to reuse them and the marker --cleanup looks for. */
function keepSandbox(life: DemoLife, vars: Record<string, string>): void {
  life.keep = true;
  const root = life.sandbox.root;
  const envFile = path.join(root, 'demo.env');
  const lines = Object.entries(vars)
    .filter(([k]) => k !== 'STAGING_API_BASE_URL')
    .map(([k, v]) => `export ${k}=${shellQuote(v)}`);
  lines.push(
    '# the demo health endpoint stopped with the demo: point STAGING_API_BASE_URL at yours, or HEALTH_CHECK=0',
  );
  fs.writeFileSync(envFile, lines.join('\n') + '\n', { mode: 0o600 });
  fs.writeFileSync(path.join(root, MARKER), 'kept by npm run demo -- --keep\n');
  say(`demo: the sandbox keeps running in ${root}`);
  say(`  reuse it:  source ${envFile}   (a 0600 file: it holds the password)`);
  say(`  remove it: npm run demo -- --cleanup ${root}`);
}

async function main(): Promise<number> {
  const args = await demoArgs();
  if (typeof args === 'number') return args;
  const started = Date.now();
  const rows = Object.values(fixtureRowCounts(args.users)).reduce((a, b) => a + b, 0);
  say(
    `demo: starting a sandbox: source + staging PostgreSQL clusters with pgvector (${args.users} users, ${rows} rows)`,
  );
  const sandbox = await startSandbox();
  redactor.add(sandbox.password);
  const life = guardSandbox(sandbox);
  // Killed outright (SIGKILL, the OOM killer), the demo cannot stop its clusters: the marker lets --cleanup do it.
  fs.writeFileSync(path.join(sandbox.root, MARKER), `running: demo pid ${process.pid}\n`);
  say(`demo: sandbox ${sandbox.root} (should the demo be killed: npm run demo -- --cleanup ${sandbox.root})`);
  try {
    const world = await loadDemoWorld(sandbox, args.users);
    let fault: AppliedFault | undefined;
    if (args.fault) {
      fault = await applyFault(args.fault, {
        source: world.src,
        sourceDb: DATABASES.source,
        sourceAssets: world.srcAssets,
        prefix: PREFIX,
        scratch: sandbox.root,
      });
      say(`demo: --break ${fault.name}: ${fault.description}`);
    }
    if (!fault?.healthDown) life.health = await startHealthServer({ path: '/health' });
    const vars = demoVars(world, args, life, fault);
    const code = await rehearseAndTell(vars, args, fault, started, life);
    if (args.keep) keepSandbox(life, vars);
    return code;
  } finally {
    await life.cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    // A usage error found after parsing (--cleanup of a directory that is not a demo sandbox): exit 2, no stack.
    if (e instanceof UsageError) {
      process.stderr.write(`demo: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(redact(`demo: unexpected error: ${(e as Error)?.stack ?? e}`) + '\n');
    process.exit(1);
  },
);
