/**
 * Issue 26, "an interrupted restore lingers": SIGTERM while a DST_DROP_SCHEMA restore waits behind another session's
 * transaction. Killing pg_restore/psql does not end their backend: a backend asleep on a heavyweight lock does not
 * notice its client is gone, so it keeps every lock it took until the other session ends. Only the CLI's cleanup
 * (lib/cli/rehearse.ts endOwnRestoreSessions → lib/core/db.ts terminateOwnBackends, by the run-unique
 * application_name) ends it. The test therefore waits until the restore's backend really sleeps on the lock before the
 * signal and checks while the blocker still holds its transaction; with the cleanup disabled it fails (the backend is
 * still there, waiting).
 */
import type pg from 'pg';
import { expect, test } from 'vitest';
import { connect } from '../../lib/sandbox/clusters.ts';
import { eventually, startRehearse } from '../helpers/hardening.ts';
import { scenario } from '../helpers/scenario.ts';

const RESTORE_WAITING = `SELECT pid, application_name FROM pg_catalog.pg_stat_activity
  WHERE datname = $1 AND application_name LIKE $2 AND wait_event_type = 'Lock'`;

for (const dsnAppName of [undefined, 'ops-tool']) {
  test(`SIGTERM while the DST_DROP_SCHEMA restore sleeps on a lock${dsnAppName ? ` (DSN application_name=${dsnAppName})` : ''}: the CLI terminates the restore's backend; nothing of the run is left`, async () => {
    const s = await scenario();
    const url = s.env.DST_DATABASE_URL!;
    const dst = dsnAppName ? `${url}${url.includes('?') ? '&' : '?'}application_name=${dsnAppName}` : url;
    const pattern = dsnAppName ? `${dsnAppName} (migration-rehearsal restore %)` : 'migration-rehearsal restore %';
    const blocker: pg.Client = await connect(s.dst.cluster, s.dst.name);
    blocker.on('error', () => {});
    try {
      // The archive creates the extension: the restore's CREATE EXTENSION sleeps on this transaction.
      await blocker.query('BEGIN');
      await blocker.query('CREATE EXTENSION vector');
      const run = startRehearse([], {
        ...s.env,
        DST_DATABASE_URL: dst,
        DST_DROP_SCHEMA: '1',
        SRC_ASSETS_DIR: undefined,
      });
      await run.waitFor(/\[restore\] /, 120_000);
      // `eventually` polls while the value is truthy: wait until the restore's backend sleeps on the lock.
      const waiting = await eventually(
        async () => (await s.dst.query(RESTORE_WAITING, [s.dst.name, pattern])).rowCount === 0,
        90_000,
      );
      expect(waiting, `the restore's backend never waited on the lock:\n${run.output()}`).toBe(false);
      const before = (await s.dst.query(RESTORE_WAITING, [s.dst.name, pattern])).rows;
      expect(before.length).toBeGreaterThan(0);
      run.child.kill('SIGTERM');
      const r = await run.done;
      expect(r.code, r.output).toBe(143);
      // The blocker still holds its transaction: only the cleanup can have ended the sleeping backend.
      const left = await s.dst.query(
        `SELECT pid, application_name, wait_event_type FROM pg_catalog.pg_stat_activity
           WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()
             AND (application_name LIKE '%migration-rehearsal restore%' OR application_name LIKE 'migration-rehearsal lock%')`,
        [s.dst.name],
      );
      expect(left.rows, r.output).toEqual([]);
      for (const b of before)
        expect(
          (await s.dst.query('SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1', [b.pid])).rowCount,
          `restore backend ${b.pid} still alive`,
        ).toBe(0);
      // ... ended by the CLI, which says so.
      expect(r.output).toMatch(
        /terminated [1-9]\d* server session\(s\) of this run on the target \(application_name "/,
      );
      // The blocker itself was not touched (another application's session).
      expect((await blocker.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await blocker.query('ROLLBACK').catch(() => {});
      await blocker.end().catch(() => {});
    }
  }, 240_000);
}
