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
import { formatKeyword, formatUrl, type Dsn } from './dsn.ts';

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
  const majors = fs.existsSync(base) ? fs.readdirSync(base).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const m of majors) {
    const bin = path.join(base, m, 'bin');
    if (fs.existsSync(path.join(bin, 'initdb'))) return bin;
  }
  throw new Error('no PostgreSQL server binaries found under /usr/lib/postgresql; run `npm run bootstrap` (as root) first');
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
    throw new Error('running as root, but there is no `postgres` OS user to run the sandbox clusters as; create one or run as a normal user');
  }
}

function chownTree(p: string, who: RunAs) {
  if (who.uid === undefined) return;
  fs.chownSync(p, who.uid, who.gid!);
}

function run(cmd: string, args: string[], who: RunAs, opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; out: string }> {
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
  const client = new pg.Client({ host: c.host, port: c.port, user: c.user, password: c.password, database, connectionTimeoutMillis: 10_000 });
  await client.connect();
  return client;
}

/** Run `fn` with a client, always releasing it. */
export async function withClient<T>(c: ClusterInfo, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(c, database);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function createDatabase(c: ClusterInfo, name: string, opts: { template?: string } = {}): Promise<void> {
  await withClient(c, c.database, async (cl) => {
    const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
    await cl.query(`DROP DATABASE IF EXISTS ${q(name)} WITH (FORCE)`);
    await cl.query(`CREATE DATABASE ${q(name)}${opts.template ? ` TEMPLATE ${q(opts.template)}` : ''}`);
  });
}

export async function dropDatabase(c: ClusterInfo, name: string): Promise<void> {
  await withClient(c, c.database, async (cl) => {
    await cl.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
  });
}

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
  const pwfile = path.join(dir, 'pwfile');
  fs.writeFileSync(pwfile, state.password + '\n', { mode: 0o600 });
  chownTree(pwfile, who);
  try {
    const init = await run(
      path.join(state.pgBin, 'initdb'),
      ['-D', dataDir, '-U', SANDBOX_USER, `--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=scram-sha-256', '--encoding=UTF8', '--no-locale', '--no-sync'],
      who,
      { timeoutMs: 120_000 },
    );
    if (init.code !== 0) throw new Error(`initdb for the ${name} cluster failed (exit ${init.code}):\n${init.out.slice(-2000)}`);
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
  const port = opts.port ?? (await freePort());
  fs.appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    [
      '',
      '# migration-rehearsal sandbox',
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      `max_connections = ${opts.maxConnections ?? 100}`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      "shared_buffers = '128MB'",
      "log_min_messages = 'warning'",
      '',
    ].join('\n'),
  );
  const start = await run(path.join(state.pgBin, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', String(Math.ceil((opts.readyTimeoutMs ?? 60_000) / 1000)), 'start'], who, {
    timeoutMs: (opts.readyTimeoutMs ?? 60_000) + 10_000,
  });
  if (start.code !== 0) {
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
    throw new Error(`the ${name} cluster did not start on port ${port} (pg_ctl exit ${start.code}):\n${start.out.slice(-1000)}\n${log}`);
  }
  const info: ClusterInfo = { name, host: '127.0.0.1', port, user: SANDBOX_USER, password: state.password, database: 'postgres', dataDir, logFile };
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
  throw new Error(`the ${c.name} cluster on port ${c.port} did not accept a login within ${timeoutMs} ms: ${(last as Error)?.message}`);
}

export interface StartOptions {
  /** Directory for the clusters; default a fresh temp dir. */
  root?: string;
  clusters?: ClusterName[];
  ports?: Partial<Record<ClusterName, number>>;
  password?: string;
  maxConnections?: Partial<Record<ClusterName, number>>;
}

/** Start the clusters; on any failure, stop what was started. */
export async function startSandbox(opts: StartOptions = {}): Promise<SandboxState> {
  const root = opts.root ?? fs.mkdtempSync(path.join(os.tmpdir(), 'rehearsal-sandbox-'));
  fs.mkdirSync(root, { recursive: true });
  fs.chmodSync(root, 0o755);
  const state: SandboxState = { root, password: opts.password ?? awkwardPassword(), pgBin: findPgBin(), clusters: {} };
  try {
    for (const name of opts.clusters ?? ['source', 'target']) {
      state.clusters[name] = await startCluster(state, name, { port: opts.ports?.[name], maxConnections: opts.maxConnections?.[name] });
    }
  } catch (e) {
    await stopSandbox(state).catch(() => {});
    throw e;
  }
  return state;
}

/** Stop one cluster (fast shutdown). `immediate` simulates a crash-like stop. */
export async function stopCluster(state: SandboxState, c: ClusterInfo, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
  if (!fs.existsSync(path.join(c.dataDir, 'postmaster.pid'))) return;
  await run(path.join(state.pgBin, 'pg_ctl'), ['-D', c.dataDir, '-m', mode, '-w', '-t', '30', 'stop'], serverUser(), { timeoutMs: 40_000 });
}

/** Start a stopped cluster again on the same port. */
export async function restartCluster(state: SandboxState, c: ClusterInfo): Promise<void> {
  const r = await run(path.join(state.pgBin, 'pg_ctl'), ['-D', c.dataDir, '-l', c.logFile, '-w', '-t', '60', 'start'], serverUser(), { timeoutMs: 70_000 });
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
  const sh = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
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
