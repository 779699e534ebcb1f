import fs from 'node:fs';
import path from 'node:path';

/**
 * The one place that listens for the signals a user or a supervisor sends to stop a run (SIGINT = Ctrl-C, SIGTERM =
 * Docker/Kubernetes/systemd stop). Every long-running entry point (the rehearsal CLI's vitest child, global setup's
 * copy phases, a cutover phase, the bench) registers its "stop what you are doing" handler here.
 */

/** The signals that mean "stop the run". */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export interface StopSignalOptions {
  /**
   * Run the handler before listeners registered earlier (global setup records an interruption before vitest's own
   * handler ends the process). Default false.
   */
  prepend?: boolean;
  /** Handle the first stop signal only (both listeners are removed when it arrives). Default true. */
  once?: boolean;
}

/**
 * Call `handler(signal)` when SIGINT or SIGTERM arrives. Returns the function that unregisters it (idempotent; call it
 * in a `finally`). With `once` (the default) the handler runs at most once, whichever signal comes first.
 */
export function onStopSignal(handler: (signal: NodeJS.Signals) => void, opts: StopSignalOptions = {}): () => void {
  const once = opts.once ?? true;
  let registered = true;
  const listener = (signal: NodeJS.Signals) => {
    if (once) off();
    handler(signal);
  };
  const off = () => {
    if (!registered) return;
    registered = false;
    for (const s of STOP_SIGNALS) process.off(s, listener);
  };
  for (const s of STOP_SIGNALS) {
    if (opts.prepend) process.prependListener(s, listener);
    else process.on(s, listener);
  }
  return off;
}

let setprivPath: string | null | undefined;

/** util-linux's setpriv on PATH (it is on every Debian: util-linux is essential), looked up once; null if absent. */
export function setprivBinary(): string | null {
  if (setprivPath === undefined) {
    setprivPath = null;
    for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
      const p = path.join(dir || '.', 'setpriv');
      if (fs.existsSync(p)) {
        setprivPath = p;
        break;
      }
    }
  }
  return setprivPath;
}

/**
 * `[file, args]` wrapped so the kernel sends `signal` to the child when this process dies, whatever killed it (even
 * `kill -9`): `setpriv --pdeathsig <signal> -- file args…`. Without setpriv the command is returned unchanged.
 */
export function withParentDeathSignal(
  file: string,
  args: readonly string[],
  signal: 'KILL' | 'TERM' = 'KILL',
): [string, string[]] {
  const sp = setprivBinary();
  return sp ? [sp, ['--pdeathsig', signal, '--', file, ...args]] : [file, [...args]];
}

/** Launcher processes between a supervisor and the rehearsal (`npm run` → `sh -c` → `tsx` → node). */
const LAUNCHER = /^(node|npm|npx|tsx|sh|dash)\b/;

function procStat(pid: number): { ppid: number; comm: string } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return { ppid, comm };
  } catch {
    return undefined;
  }
}

/**
 * Call `onDeath()` once when one of this process's launchers dies: the chain of `npm`/`sh`/`tsx`/`node` ancestors
 * above it (up to the first other process, e.g. the shell, systemd or the container's init). npm exits at once on
 * SIGTERM and a `kill -9` of tsx's wrapper leaves its child running; this turns both into a normal stop. Polls
 * /proc every `intervalMs` (Linux only; elsewhere it watches nothing). Returns the function that stops watching.
 */
export function watchLaunchers(onDeath: (launcherPid: number) => void, intervalMs = 1000): () => void {
  const watched: Array<{ pid: number; start: string }> = [];
  let pid = process.ppid;
  for (let depth = 0; depth < 4 && pid > 1; depth++) {
    const st = procStat(pid);
    if (!st || !LAUNCHER.test(st.comm)) break;
    watched.push({ pid, start: startTime(pid) });
    pid = st.ppid;
  }
  if (!watched.length) return () => {};
  const timer = setInterval(() => {
    const dead = watched.find((w) => startTime(w.pid) !== w.start);
    if (dead) {
      clearInterval(timer);
      onDeath(dead.pid);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** A process's start time (field 22 of /proc/pid/stat), '' when it is gone: tells a reused pid from the original. */
function startTime(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return '';
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}
