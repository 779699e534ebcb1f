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
