/**
 * Run one measured command: wall time from spawn to exit, output to a log file (never held in memory), and optionally
 * the peak memory of its process tree.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { sampleTree, type MemoryPeak } from './rss.ts';

export interface Measured {
  code: number;
  signal?: string;
  wallMs: number;
  memory?: MemoryPeak;
  logFile: string;
}

export interface MeasureOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Poll the tree's RSS every this many ms (omit: no sampling). */
  sampleMs?: number;
  timeoutMs?: number;
}

/** Children running now, so an interrupted bench can end them (by pid) before it stops the sandbox. */
const active = new Set<import('node:child_process').ChildProcess>();

export function killActive(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const c of active) c.kill(signal);
}

export function measure(cmd: string, args: string[], opts: MeasureOptions): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(opts.logFile, 'a');
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', fd, fd] });
    active.add(child);
    const sampler = opts.sampleMs && child.pid ? sampleTree(child.pid, opts.sampleMs) : undefined;
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', (e) => {
      active.delete(child);
      if (timer) clearTimeout(timer);
      sampler?.stop();
      fs.closeSync(fd);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      active.delete(child);
      const wallMs = performance.now() - started;
      if (timer) clearTimeout(timer);
      const memory = sampler?.stop();
      fs.closeSync(fd);
      resolve({
        code: code ?? 128,
        signal: signal ?? undefined,
        wallMs: Math.round(wallMs * 10) / 10,
        memory,
        logFile: opts.logFile,
      });
    });
  });
}

/** The last `n` characters of a log file, for error messages. */
export function logTail(file: string, n = 2000): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.length > n ? '…' + text.slice(-n) : text;
  } catch {
    return '(no log)';
  }
}
