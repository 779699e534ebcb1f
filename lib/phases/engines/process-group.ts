/**
 * A tool that forks workers of its own (pgcopydb, fpsync) runs as the leader of a new session (and process group), so
 * that stopping it stops every process it started: every process of the session — the leader and each worker,
 * pg_dump, pg_restore or rsync below it — is signalled (fpsync puts each rsync job in a process group of its own, so
 * a `kill(-pgid)` alone would miss them). Killing only the leader would orphan them (docs/architecture.md: "Killing a parent does not stop its
 * children"); the workers would go on writing to the target.
 *
 * Guarantees of `startGroup`:
 * - when this process dies, even by `kill -9`: the leader gets SIGTERM from the kernel (`setpriv --pdeathsig TERM`,
 *   util-linux) and a watchdog outside the session kills what is left of it (`pkill -KILL -s <session>`);
 * - `stop()` sends SIGTERM to every process of the session, waits up to `graceMs`, then SIGKILL to the group, and resolves only when
 *   no process of the group is left (so a caller's "no process outlives the run" holds when it returns);
 * - a process exit of this Node process (normal or by an uncaught error) kills the group synchronously;
 * - SIGINT / SIGTERM of this process stop the group (lib/core/signals.ts onStopSignal).
 * Secrets: callers pass them in `env` (never `args`); the environment starts from lib/core/tools.ts toolEnv (no
 * inherited PG* settings, DSNs or passwords).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import { onStopSignal, withParentDeathSignal } from '../../core/signals.ts';
import { toolEnv } from '../../core/tools.ts';

/** A started process group. */
export interface GroupRun {
  /** The leader's pid = the group id. */
  pid: number;
  /** Resolves when the leader exited and its output was read: exit code (null when killed) and signal. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stop the whole group (TERM, then KILL after graceMs); resolves once no process of the group remains. */
  stop(graceMs?: number): Promise<void>;
}

export interface GroupOptions {
  /** Extra environment (connection strings, PGPASSFILE): added to lib/core/tools.ts toolEnv. */
  env: Record<string, string>;
  cwd?: string;
  /** Every line of stdout and stderr, in arrival order per stream. */
  onLine(line: string, stream: 'stdout' | 'stderr'): void;
}

/**
 * Pids of the processes whose session is `sid` (field 6 of /proc/<pid>/stat). A session, not a process group: fpsync
 * starts each rsync job in a process group of its own (`set -m`), but every descendant stays in the session the
 * leader opened (none of these tools calls setsid).
 */
export function sessionMembers(sid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // state ppid pgrp session …; a zombie has exited already (its parent reaps it).
      if (Number(fields[3]) === sid && fields[0] !== 'Z') out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** True while some live process of the run's session `sid` exists. */
export function groupAlive(sid: number): boolean {
  return sessionMembers(sid).length > 0;
}

function signalGroup(sid: number, signal: NodeJS.Signals): void {
  for (const pid of sessionMembers(sid)) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** Wait until session `sid` has no live process, polling every 50 ms, at most `ms`; true when it is empty. */
export async function waitGroupGone(sid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (groupAlive(sid)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * A small watchdog outside the run's session: when this Node process dies (even by `kill -9`, which no handler
 * sees), it kills every process of session `sid` (`pkill -s`, by session id, never by name). Returns its stopper.
 */
function startWatchdog(sid: number): () => void {
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done; pkill -KILL -s ${sid}`;
  try {
    const dog = spawn('/bin/sh', ['-c', script], { stdio: 'ignore', detached: false });
    dog.unref();
    return () => {
      try {
        dog.kill('SIGKILL');
      } catch {
        /* gone */
      }
    };
  } catch {
    return () => {};
  }
}

function readLines(child: ChildProcess, onLine: GroupOptions['onLine']): Promise<void>[] {
  return (['stdout', 'stderr'] as const).map((stream) => {
    const input = child[stream];
    if (!input) return Promise.resolve();
    const rl = readline.createInterface({ input, crlfDelay: Infinity });
    rl.on('line', (l) => onLine(l, stream));
    return new Promise<void>((resolve) => rl.once('close', () => resolve()));
  });
}

/**
 * Start `file args…` as the leader of a new process group (see the module comment for what is guaranteed).
 * Throws when the process cannot be spawned at all.
 */
export function startGroup(file: string, args: readonly string[], opts: GroupOptions): GroupRun {
  const [bin, argv] = withParentDeathSignal(file, args, 'TERM');
  const child = spawn(bin, argv, {
    detached: true,
    cwd: opts.cwd,
    env: { ...toolEnv(opts.env), LC_ALL: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${file} could not be started`);
  const pgid = child.pid;
  const killNow = () => signalGroup(pgid, 'SIGKILL');
  process.on('exit', killNow);
  const stopDog = startWatchdog(pgid);
  const offSignal = onStopSignal(() => void stop());
  const lines = readLines(child, opts.onLine);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const done = exited.then(async (r) => {
    await Promise.all(lines);
    return r;
  });
  let stopping: Promise<void> | undefined;
  function stop(graceMs = 5000): Promise<void> {
    stopping ??= (async () => {
      signalGroup(pgid, 'SIGTERM');
      if (!(await waitGroupGone(pgid, graceMs))) {
        signalGroup(pgid, 'SIGKILL');
        await waitGroupGone(pgid, 10_000);
      }
      await done.catch(() => undefined);
    })();
    return stopping;
  }
  // Once the leader is gone, workers it left behind (it crashed, or was killed alone) are stopped too.
  void done
    .then(async () => {
      if (groupAlive(pgid)) await stop(2000);
    })
    .catch(() => undefined)
    .finally(() => {
      stopDog();
      process.off('exit', killNow);
      offSignal();
    });
  return { pid: pgid, done, stop };
}

// ---------------------------------------------------------------------------------------------------------------
// Engines: a tool run as a process group with the bookkeeping pgcopydb and fpsync share

/** Lines of an engine's output kept for its failure message. */
export const ENGINE_TAIL_LINES = 20;

/** What every engine run records when it ends. */
export interface EngineExit {
  /** The leader's exit code (null when killed) and signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** The last ENGINE_TAIL_LINES lines `onLine` kept (redacted): the evidence of a failure. */
  tail: string[];
  /** True when `stop()` (or `stopEngines`) ended it. */
  stopped: boolean;
}

/** A running engine: `result` settles when the engine and every process of its group have ended. */
export interface EngineRun<R> {
  pid: number;
  result: Promise<R>;
  /** Stop every process of the group; resolves when none is left and `result` has settled. */
  stop(): Promise<void>;
}

export interface EngineOptions<R> {
  /** Extra environment (connection strings, PGPASSFILE, PATH): added to lib/core/tools.ts toolEnv. */
  env: Record<string, string>;
  cwd?: string;
  /** Each output line as it comes: returns the line to keep in the tail (redacted), or undefined to leave it out. */
  onLine(raw: string): string | undefined;
  /** Runs once no process of the group is left, after a failure too (e.g. removes a passfile). */
  cleanup?(): void;
  /** The engine's result: what every engine records, plus its own facts (progress, failed jobs). */
  finish(exit: EngineExit): R;
}

/** Engines running now, so an interrupted run stops their whole process groups (`stopEngines`). */
const running = new Set<EngineRun<unknown>>();

/** How many engines (pgcopydb, fpsync) are running now. */
export function runningEngines(): number {
  return running.size;
}

/** Stop every running engine (pgcopydb, fpsync) and its process group; resolves when none is left. */
export async function stopEngines(): Promise<number> {
  const n = running.size;
  await Promise.all([...running].map((r) => r.stop()));
  return n;
}

/**
 * Start an engine (`file args…`) as a process group (`startGroup`, with its guarantees) and keep the bookkeeping every
 * engine needs: its output tail, its duration, whether `stop()` ended it, its place among the running engines
 * (`stopEngines`) until its result settles. When the leader exits, workers it left behind are stopped (2 s grace),
 * then `cleanup` runs, then `finish` makes the result. Throws when the process cannot be spawned at all.
 */
export function startEngine<R>(file: string, args: readonly string[], opts: EngineOptions<R>): EngineRun<R> {
  const started = Date.now();
  const tail: string[] = [];
  let stopped = false;
  const group = startGroup(file, args, {
    env: opts.env,
    cwd: opts.cwd,
    onLine(raw) {
      const kept = opts.onLine(raw);
      if (kept === undefined) return;
      tail.push(kept);
      if (tail.length > ENGINE_TAIL_LINES) tail.shift();
    },
  });
  const result = group.done
    .then(async (r) => {
      await group.stop(2000); // workers a crashed leader left behind
      return r;
    })
    .finally(() => opts.cleanup?.())
    .then((r) => opts.finish({ ...r, durationMs: Date.now() - started, tail, stopped }));
  const run: EngineRun<R> = {
    pid: group.pid,
    result,
    async stop() {
      stopped = true;
      await group.stop();
      await result.catch(() => undefined);
    },
  };
  running.add(run);
  void result.then(
    () => running.delete(run),
    () => running.delete(run),
  );
  return run;
}
