/**
 * One rehearsal at a time per WORK_DIR and per target database. Two runs sharing a WORK_DIR would restore each
 * other's half-written dump; two runs against one target would restore into each other.
 *
 * - WORK_DIR: `WORK_DIR/rehearsal.lock`, created exclusively (0600) with the holder's pid and run id; a lock whose
 *   process is gone is stale and taken over.
 * - Target: a session advisory lock on the target database, held by one connection for the whole run (it ends with
 *   the process, however it ends); its application_name carries the pid and run id, so a refused run can name them.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { endWithin, newClient, pinnedConfig, pinSession } from './db.ts';
import type { Dsn } from './dsn.ts';
import { mkdirPrivate } from './files.ts';

export const WORK_LOCK_FILE = 'rehearsal.lock';
/** The advisory-lock key of "a rehearsal writes this database" (an arbitrary constant, same for every run). */
export const TARGET_LOCK_KEY = 7_361_529_004_117n;

export type Held = { ok: true; release(): Promise<void> | void } | { ok: false; message: string };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock file taken (release it when done) or refused (the message names the holder). */
export type FileLock = { ok: true; release(): void } | { ok: false; message: string };

/** What a lock file records about its holder. */
export interface LockHolder {
  pid?: number;
  since?: string;
  [fact: string]: unknown;
}

/**
 * An exclusive lock file (created with O_EXCL, 0600) holding `{ pid, since, ...facts }` as JSON. A file whose
 * process is gone (or that is half-written) is stale and taken over. Refused (ok: false) while any live process
 * (this one included) holds it, with `refusal(holder)` as the message. The directory of `file` must exist.
 * @throws on any file-system error other than "already exists".
 */
export function lockFile(
  file: string,
  facts: Record<string, string>,
  refusal: (holder: LockHolder) => string,
  staleHint: string,
): FileLock {
  for (let attempt = 0; attempt < 3; attempt++) {
    const taken = createExclusive(file, facts);
    if (taken) return taken;
    const holder = readHolder(file);
    if (holder.pid && alive(holder.pid)) return { ok: false, message: refusal(holder) };
    if (!removeStale(file)) return { ok: false, message: `could not take ${file}; ${staleHint}` };
  }
  return { ok: false, message: `could not take ${file}; ${staleHint}` };
}

/**
 * Create `file` holding our facts, atomically and exclusively: the facts are written to a private temporary file first
 * and hard-linked to `file` (link fails when `file` exists), so no other process ever reads a half-written lock and
 * takes it for stale (issue 26: that gave two holders). The lock, or undefined when the file exists.
 */
function createExclusive(file: string, facts: Record<string, string>): FileLock | undefined {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ pid: process.pid, ...facts, since: new Date().toISOString() }) + '\n', {
    mode: 0o600,
    flag: 'wx',
  });
  try {
    fs.linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  let released = false;
  return {
    ok: true,
    release() {
      if (released) return;
      released = true;
      fs.rmSync(file, { force: true });
    },
  };
}

function readHolder(file: string): LockHolder {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return {}; // half-written or gone: stale
  }
}

/** A takeover guard older than this whose process is gone is abandoned (its holder died within the takeover). */
const GUARD_STALE_MS = 5_000;

/**
 * Remove a stale lock file so that a new holder can create it, atomically with respect to other processes doing the
 * same (issue 26: three runs on one stale lock gave two holders in 3 of 20 trials — two processes both removed the
 * stale file, one of them removing the other's fresh lock). Only the holder of `<file>.takeover` (O_EXCL) removes,
 * and only after reading the file again under that guard and finding it still stale; creating the lock itself is
 * always O_EXCL, so a fresh lock can never be removed by a takeover. Returns false when the guard is held (another
 * process is taking over: the caller retries once and then refuses) — true when the file is gone or now held alive.
 */
function removeStale(file: string): boolean {
  const guard = `${file}.takeover`;
  let fd: number;
  try {
    fd = fs.openSync(guard, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    abandonGuard(guard);
    return waitBriefly();
  }
  try {
    fs.writeSync(fd, JSON.stringify({ pid: process.pid }) + '\n');
    fs.closeSync(fd);
    const holder = readHolder(file);
    if (!(holder.pid && alive(holder.pid))) fs.rmSync(file, { force: true });
    return true;
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

/** Remove a takeover guard whose process died holding it (and that is old enough not to be mid-write). */
function abandonGuard(guard: string): void {
  try {
    const pid = (readHolder(guard) as LockHolder).pid;
    if (!(pid && alive(pid)) && Date.now() - fs.statSync(guard).mtimeMs > GUARD_STALE_MS)
      fs.rmSync(guard, { force: true });
  } catch {
    /* gone meanwhile */
  }
}

/** Another process holds the takeover guard for microseconds: wait 20 ms (synchronously) and let the caller retry. */
function waitBriefly(): boolean {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  return true;
}

/**
 * Take WORK_DIR's lock for `runId` (creating WORK_DIR 0700 if needed). Refused (ok: false) while another live
 * process holds it, with a message naming its pid and run id.
 */
export function lockWorkDir(workDir: string, runId: string): Held {
  mkdirPrivate(workDir);
  return lockFile(
    path.join(workDir, WORK_LOCK_FILE),
    { runId },
    (h) =>
      `WORK_DIR ${workDir} is in use by another rehearsal (pid ${h.pid}, run ${String(h.runId ?? '?')}, since ${h.since ?? '?'}); wait for it or use another WORK_DIR`,
    'remove it if no rehearsal is running',
  );
}

/**
 * Hold the target's advisory lock for the whole run: exclusive for a run that writes the target, `shared` for one that
 * only reads it (--verify-only, --rerun-failed: several may read at once, none while a run writes). Refused (ok: false)
 * when another rehearsal holds it in a conflicting mode, naming its pid and run id (from its connection's
 * application_name, when this role may see it). A target that cannot be reached is not refused here: preflight says
 * so with the reason. `onLost` is called once when the held lock's connection ends before release (the server
 * terminated it, the network dropped it): the caller must stop the run, since another run may now take the target.
 */
export async function lockTarget(
  dst: Dsn,
  runId: string,
  opts: { connectTimeoutMs: number; shared?: boolean; onLost?: (why: string) => void },
): Promise<Held> {
  const tag = `migration-rehearsal lock pid=${process.pid} run=${runId}`;
  // The lock's session pins its own timeouts in the startup packet and right after connecting (lib/core/db.ts): a
  // role's idle_session_timeout / statement_timeout must not let the server end it and a second run in.
  const cfg = {
    ...pinnedConfig(dst, {
      connectTimeoutMs: opts.connectTimeoutMs,
      extra: [
        ['statement_timeout', '0'],
        ['lock_timeout', '0'],
      ],
    }),
    application_name: tag,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
  const client = newClient(() => new pg.Client(cfg));
  let released = false;
  const lost = (why: string) => {
    if (released) return;
    released = true;
    opts.onLost?.(why);
  };
  client.on('error', (e) => lost(`the lock's connection failed: ${e.message}`));
  client.on('end', () => lost("the server closed the lock's connection"));
  try {
    await client.connect();
  } catch {
    released = true;
    return { ok: true, release: () => {} };
  }
  try {
    await pinSession(client);
    const fn = opts.shared ? 'pg_catalog.pg_try_advisory_lock_shared' : 'pg_catalog.pg_try_advisory_lock';
    const got = (await client.query(`SELECT ${fn}($1::bigint) AS got`, [String(TARGET_LOCK_KEY)])).rows[0].got;
    if (!got) {
      const holder = await client
        .query(
          `SELECT a.application_name AS app, l.pid FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted
             AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
             AND (l.classid::bigint << 32 | l.objid::bigint) = $1::bigint LIMIT 1`,
          [String(TARGET_LOCK_KEY)],
        )
        .then((r) => r.rows[0] as { app?: string; pid?: number } | undefined)
        .catch(() => undefined);
      released = true;
      await endWithin(client, RELEASE_WAIT_MS);
      const m = /pid=(\d+) run=(\S+)/.exec(holder?.app ?? '');
      const who = m ? `pid ${m[1]}, run ${m[2]}` : `server backend pid ${holder?.pid ?? '?'}`;
      return {
        ok: false,
        message: `the target database is being written by another rehearsal (${who}); wait for it to finish`,
      };
    }
  } catch {
    // Advisory locks unavailable (revoked): no cross-run lock; the identity guard refuses destructive steps anyway.
    released = true;
    await endWithin(client, RELEASE_WAIT_MS);
    return { ok: true, release: () => {} };
  }
  return {
    ok: true,
    release: () => {
      released = true;
      return endWithin(client, RELEASE_WAIT_MS);
    },
  };
}

/** How long releasing the target lock waits for the server to acknowledge the session's end (ms). */
const RELEASE_WAIT_MS = 5_000;
