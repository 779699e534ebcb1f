/**
 * One cutover invocation at a time per WORK_DIR: two operators running phases at once would both pass the order
 * checks and race. The lock is WORK_DIR/cutover.lock (created exclusively, holding the pid); a lock whose process
 * is gone is stale and taken over.
 */
import fs from 'node:fs';
import path from 'node:path';

export const LOCK_FILE = 'cutover.lock';

export type Lock = { ok: true; release(): void } | { ok: false; message: string };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireLock(workDir: string, what: string): Lock {
  fs.mkdirSync(workDir, { recursive: true });
  const file = path.join(workDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, what, since: new Date().toISOString() }) + '\n');
      fs.closeSync(fd);
      let released = false;
      return {
        ok: true,
        release() {
          if (released) return;
          released = true;
          fs.rmSync(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder: { pid?: number; what?: string; since?: string } = {};
      try {
        holder = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch {
        /* half-written: treat as stale */
      }
      if (holder.pid && alive(holder.pid)) {
        return {
          ok: false,
          message: `another cutover invocation is running in this WORK_DIR (pid ${holder.pid}, ${holder.what ?? '?'} since ${holder.since ?? '?'}); wait for it to finish`,
        };
      }
      fs.rmSync(file, { force: true });
    }
  }
  return { ok: false, message: `could not take ${file}; remove it if no cutover is running` };
}
