/**
 * One cutover invocation at a time per WORK_DIR: two operators running phases at once would both pass the order
 * checks and race. The lock is WORK_DIR/cutover.lock (lib/core/run-lock.ts lockFile: created exclusively, holding the
 * pid); a lock whose process is gone is stale and taken over.
 */
import fs from 'node:fs';
import path from 'node:path';
import { lockFile, type FileLock } from '../core/run-lock.ts';
import { mkdirPrivate } from '../core/files.ts';

export const LOCK_FILE = 'cutover.lock';

export type Lock = FileLock;

/** Take the cutover's lock for the phase `what`; refused while another live invocation holds it. */
export function acquireLock(workDir: string, what: string): Lock {
  mkdirPrivate(workDir);
  return lockFile(
    path.join(workDir, LOCK_FILE),
    { what },
    (h) =>
      `another cutover invocation is running in this WORK_DIR (pid ${h.pid}, ${String(h.what ?? '?')} since ${h.since ?? '?'}); wait for it to finish`,
    'remove it if no cutover is running',
  );
}
