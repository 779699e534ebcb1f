/**
 * Peak memory of a process tree, from /proc (Linux).
 *
 * Every poll walks /proc for the descendants of the root process and reads, for each node process among them
 * (/proc/<pid>/exe is a `node` binary), VmHWM (the kernel's own peak RSS of that process, so a peak between two polls
 * is not missed while the process lives) and VmRSS (its RSS now). It keeps the max VmHWM per process and the max over
 * polls of the summed VmRSS of the tree. A process that starts and exits between two polls is not seen.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface MemoryPeak {
  /** Largest VmHWM of any one node process of the tree, in MiB. */
  maxProcessMb: number;
  /** Largest summed VmRSS of the tree's node processes at one poll, in MiB. */
  maxTreeMb: number;
  /** Node processes seen, with their peak (VmHWM, MiB) and a short command line. */
  processes: Array<{ pid: number; peakMb: number; command: string }>;
  polls: number;
}

/** The pid → parent pid map of every process now. */
function parentMap(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command (field 2) may contain spaces and parentheses: the ppid is the 2nd field after the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      map.set(Number(entry), Number(rest[1]));
    } catch {
      // exited meanwhile
    }
  }
  return map;
}

/** The root and every descendant of it. */
export function descendants(root: number, parents: Map<number, number> = parentMap()): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

function statusKb(status: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) : undefined;
}

function isNode(pid: number): boolean {
  try {
    return /^node(js)?(\d+)?$/.test(path.basename(fs.readlinkSync(`/proc/${pid}/exe`)));
  } catch {
    return false;
  }
}

function commandOf(pid: number): string {
  try {
    return fs
      .readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((a) => (a.includes('/') ? path.basename(a) : a))
      .join(' ')
      .slice(0, 120);
  } catch {
    return '?';
  }
}

export interface TreeSampler {
  /** Stop polling (after one last poll) and return the peaks. */
  stop(): MemoryPeak;
}

/** Poll the tree under `rootPid` every `intervalMs` until stopped. */
export function sampleTree(rootPid: number, intervalMs = 100): TreeSampler {
  const peaks = new Map<number, { peakKb: number; command: string }>();
  const nodePids = new Map<number, boolean>();
  let maxTreeKb = 0;
  let polls = 0;
  const poll = () => {
    polls++;
    let treeKb = 0;
    for (const pid of descendants(rootPid)) {
      let node = nodePids.get(pid);
      if (node === undefined) {
        node = isNode(pid);
        nodePids.set(pid, node);
      }
      if (!node) continue;
      let status: string;
      try {
        status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      } catch {
        continue;
      }
      const hwm = statusKb(status, 'VmHWM') ?? 0;
      const rss = statusKb(status, 'VmRSS') ?? 0;
      treeKb += rss;
      const seen = peaks.get(pid);
      if (!seen) peaks.set(pid, { peakKb: hwm, command: commandOf(pid) });
      else if (hwm > seen.peakKb) seen.peakKb = hwm;
    }
    if (treeKb > maxTreeKb) maxTreeKb = treeKb;
  };
  poll();
  const timer = setInterval(poll, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      poll();
      const processes = [...peaks].map(([pid, p]) => ({ pid, peakMb: mb(p.peakKb), command: p.command }));
      return {
        maxProcessMb: Math.max(0, ...processes.map((p) => p.peakMb)),
        maxTreeMb: mb(maxTreeKb),
        processes,
        polls,
      };
    },
  };
}

function mb(kb: number): number {
  return Math.round((kb / 1024) * 10) / 10;
}
