/**
 * Helpers for the hardening tests (issue 10): a rehearse process the test can signal while it runs, a /proc scan for
 * processes left behind, a TCP listener that accepts and never answers, a private sandbox cluster the test may stop,
 * and a sampler of the connections a database sees.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { onTestFinished } from './concurrent.ts';
import { loadFixture } from '../../lib/sandbox/fixture.ts';
import {
  clusterKeyword,
  clusterUrl,
  createDatabase,
  startSandbox,
  stopSandbox,
  withClient,
  type ClusterInfo,
  type SandboxState,
} from '../../lib/sandbox/clusters.ts';
import type { TestDb } from './sandbox.ts';
import { cliCommand } from '../../lib/core/project.ts';
import { cleanEnv, migrateByHand, ROOT, type CliResult, type Scenario } from './scenario.ts';

export interface RunningCli {
  child: ChildProcess;
  /** Everything printed so far (stdout + stderr). */
  output(): string;
  stdout(): string;
  /** Resolves when the output matches `re`; rejects after `timeoutMs` or when the process ends first. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  done: Promise<CliResult & { signal?: NodeJS.Signals }>;
}

/** `npm run rehearse -- <args>` (bin/run.mjs rehearse) with exactly `env` (like runCli), returning before it finishes. */
export function startRehearse(
  args: string[],
  env: Record<string, string | undefined>,
  opts: { timeoutMs?: number } = {},
): RunningCli {
  const [file, argv] = cliCommand('rehearse', args);
  const child = spawn(file, argv, {
    cwd: ROOT,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let output = '';
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const l of [...listeners]) l();
  };
  child.stdout!.on('data', (d) => {
    stdout += d;
    output += d;
    changed();
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
    output += d;
    changed();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 170_000);
  let ended = false;
  const done = new Promise<CliResult & { signal?: NodeJS.Signals }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ended = true;
      changed();
      resolve({ code: code ?? 128, signal: signal ?? undefined, stdout, stderr, output });
    });
  });
  onTestFinished(() => {
    if (!ended) child.kill('SIGKILL');
  });
  const waitFor = (re: RegExp, timeoutMs = 60_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (re.test(output)) {
          cleanup();
          resolve();
        } else if (ended) {
          cleanup();
          reject(new Error(`rehearse ended before printing ${re}:\n${output}`));
        }
      };
      const t = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${re} within ${timeoutMs} ms:\n${output}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(t);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  return { child, output: () => output, stdout: () => stdout, waitFor, done };
}

export interface ProcInfo {
  pid: number;
  cmdline: string;
}

/** PIDs of this process and its ancestors (never reported as left behind). */
function ownLineage(): Set<number> {
  const out = new Set<number>();
  for (let pid = process.pid; pid > 1;) {
    out.add(pid);
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return out;
}

/**
 * Live processes whose command line or environment mentions one of `needles` (a WORK_DIR, a database name): what an
 * interrupted run must not leave behind. Zombies and this test process's own lineage are ignored.
 */
export function processesReferencing(needles: string[]): ProcInfo[] {
  const mine = ownLineage();
  const hits: ProcInfo[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || mine.has(Number(d))) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmdline = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      let environ = '';
      try {
        environ = fs.readFileSync(`/proc/${d}/environ`, 'utf8');
      } catch {
        /* another user's process */
      }
      if (needles.some((n) => cmdline.includes(n) || environ.includes(n)))
        hits.push({ pid: Number(d), cmdline: cmdline.slice(0, 300) });
    } catch {
      /* ended meanwhile */
    }
  }
  return hits;
}

/** Poll until `fn` returns a falsy/empty value (or the deadline passes); returns the last value. */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 10_000, stepMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let v = await fn();
  while ((Array.isArray(v) ? v.length > 0 : !!v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, stepMs));
    v = await fn();
  }
  return v;
}

/** A TCP listener that accepts connections and never sends a byte (a hung peer); closed when the test finishes. */
export async function blackhole(): Promise<{ port: number; connections: () => number }> {
  const sockets = new Set<net.Socket>();
  let n = 0;
  const srv = net.createServer((s) => {
    n++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => srv.close(r));
  });
  return { port: (srv.address() as net.AddressInfo).port, connections: () => n };
}

/** A private sandbox with only a target cluster (the test may stop it); stopped and removed when the test finishes. */
export async function privateTarget(
  opts: { maxConnections?: number; password?: string } = {},
): Promise<{ state: SandboxState; cluster: ClusterInfo }> {
  const state = await startSandbox({
    clusters: ['target'],
    password: opts.password,
    maxConnections: opts.maxConnections ? { target: opts.maxConnections } : undefined,
  });
  onTestFinished(() => stopSandbox(state));
  return { state, cluster: state.clusters.target! };
}

/** Samples the number of backends connected to `database` every `everyMs`; `stop()` returns the maximum seen. */
export function sampleConnections(c: ClusterInfo, database: string, everyMs = 100): { stop(): Promise<number> } {
  let max = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        await withClient(c, 'postgres', async (cl) => {
          while (running) {
            const r = await cl.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1`, [database]);
            max = Math.max(max, r.rows[0].n);
            await new Promise((res) => setTimeout(res, everyMs));
          }
        });
      } catch {
        await new Promise((res) => setTimeout(res, everyMs));
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return max;
    },
  };
}

/**
 * A migrated scenario on a private sandbox (source and target clusters the test may stop): the fixture in the
 * source, copied by hand to the target (databases `app` on both), asset trees copied too. For `--verify-only` runs.
 * `only`: just that side gets a private cluster (the one the test stops or freezes); the other stays on the shared
 * sandbox, as `base` made it (the same fixture from its template in the source, an empty target database), which
 * spares one cluster's initdb, start and fixture load.
 */
export async function privateMigrated(
  base: Scenario,
  opts: { maxConnections?: Partial<Record<'source' | 'target', number>>; only?: 'source' | 'target' } = {},
): Promise<Scenario & { state: SandboxState }> {
  const state = await startSandbox({
    password: base.password,
    maxConnections: opts.maxConnections,
    clusters: opts.only ? [opts.only] : ['source', 'target'],
  });
  onTestFinished(() => stopSandbox(state));
  const db = (c: ClusterInfo): TestDb => ({
    cluster: c,
    name: 'app',
    url: clusterUrl(c, 'app'),
    keyword: clusterKeyword(c, 'app'),
    query: (sql, values) => withClient(c, 'app', (cl) => cl.query(sql, values as any[])),
  });
  const src = opts.only === 'target' ? base.src : db(state.clusters.source!);
  const dst = opts.only === 'source' ? base.dst : db(state.clusters.target!);
  if (src !== base.src) {
    await createDatabase(src.cluster, 'app');
    await withClient(src.cluster, 'app', (c) => loadFixture(c, { users: 30 }));
  }
  if (dst !== base.dst) await createDatabase(dst.cluster, 'app');
  const s = { ...base, src, dst, env: { ...base.env, SRC_DATABASE_URL: src.url, DST_DATABASE_URL: dst.url }, state };
  await migrateByHand(s);
  return s;
}
