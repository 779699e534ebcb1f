/**
 * A restore that waits on a lock says so: while pg_restore/psql run, the target is asked every few seconds whether one
 * of the restore's backends (found by its application_name) waits on a lock (pg_stat_activity.wait_event_type =
 * 'Lock'), and who blocks it (pg_blocking_pids). Each new holder is printed once, with how to proceed; otherwise the
 * restore would show `0/7 tables restored (0%)` for as long as the other session keeps its lock.
 */
import type { Config } from '../core/config.ts';
import { withConnection } from '../core/db.ts';
import { pollEvery } from '../core/progress.ts';

/** One session blocking the restore, as pg_stat_activity shows it (fields may be null for another role's session). */
export interface LockHolder {
  pid: number;
  application_name: string | null;
  state: string | null;
  query_start: Date | null;
  mode: string | null;
  rel: string | null;
}

/** Who blocks the backends named `appName` that wait on a lock in the current database (one row per holder). */
export const LOCK_WAIT_SQL = `SELECT DISTINCT b.pid, b.application_name, b.state, b.query_start,
    (SELECT l.mode FROM pg_locks l WHERE l.pid = b.pid AND l.granted AND l.relation = wl.relation LIMIT 1) AS mode,
    wl.relation::regclass::text AS rel
  FROM pg_stat_activity w
  CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS h(pid)
  JOIN pg_stat_activity b ON b.pid = h.pid
  LEFT JOIN LATERAL (SELECT relation FROM pg_locks WHERE pid = w.pid AND NOT granted LIMIT 1) wl ON true
  WHERE w.datname = current_database() AND w.application_name = $1 AND w.wait_event_type = 'Lock'
  ORDER BY 1`;

/** `[restore] waiting for a lock held by pid N (<application_name>, <state>, <query start>)` and how to proceed. */
export function lockWaitLine(h: LockHolder): string {
  const what = [
    h.application_name ? `"${h.application_name}"` : 'application_name unknown',
    h.state ?? 'state unknown',
    h.query_start ? `query started ${h.query_start.toISOString()}` : 'query start unknown',
  ].join(', ');
  const on = h.rel ? ` (${h.mode ?? 'a lock'} on ${h.rel})` : '';
  return `waiting for a lock held by pid ${h.pid} (${what})${on}; the restore goes on once that session ends its transaction: end it there, or on the target run SELECT pg_terminate_backend(${h.pid}), or stop this run (Ctrl-C; a single-transaction restore is rolled back)`;
}

/**
 * Watch the restore's backends (application_name `appName`) on the target every `intervalMs`; `say` each new holder
 * once. Errors of the watcher are ignored (it is an aid, the restore does not depend on it). Returns the stop function.
 */
export function watchLockWaits(
  config: Pick<Config, 'dst' | 'connectTimeoutMs'>,
  appName: string,
  say: (line: string) => void,
  intervalMs = 2000,
): () => void {
  const seen = new Set<number>();
  return pollEvery(async () => {
    const rows = await withConnection(
      config.dst,
      async (c) => (await c.query<LockHolder>(LOCK_WAIT_SQL, [appName])).rows,
      { connectTimeoutMs: config.connectTimeoutMs },
    );
    for (const h of rows) {
      if (seen.has(h.pid)) continue;
      seen.add(h.pid);
      say(lockWaitLine(h));
    }
  }, intervalMs);
}
