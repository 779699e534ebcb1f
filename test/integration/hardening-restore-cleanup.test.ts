/**
 * Issue 26 (item 7): SIGTERM while a DST_DROP_SCHEMA restore waits behind another session leaves no backend of the
 * run on the target after exit — also when the target DSN sets its own application_name (the restore's sessions then
 * carry a run-unique suffix, lib/core/db.ts restoreAppName, and the cleanup ends exactly those).
 */
import type pg from 'pg';
import { expect, test } from 'vitest';
import { connect } from '../../lib/sandbox/clusters.ts';
import { eventually, startRehearse } from '../helpers/hardening.ts';
import { scenario } from '../helpers/scenario.ts';

async function holder(c: pg.Client, sql: string): Promise<void> {
  c.on('error', () => {});
  await c.query('BEGIN');
  await c.query(sql);
}

test('SIGTERM during a DST_DROP_SCHEMA restore waiting behind a session, DSN with its own application_name: no backend of the run is left', async () => {
  const s = await scenario();
  const url = s.env.DST_DATABASE_URL!;
  const dst = `${url}${url.includes('?') ? '&' : '?'}application_name=ops-tool`;
  const blocker = await connect(s.dst.cluster, s.dst.name);
  try {
    await holder(blocker, 'CREATE EXTENSION vector');
    const run = startRehearse([], { ...s.env, DST_DATABASE_URL: dst, DST_DROP_SCHEMA: '1', SRC_ASSETS_DIR: undefined });
    await run.waitFor(/\[restore\] /);
    await eventually(
      async () =>
        (
          await s.dst.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'ops-tool (migration-rehearsal restore %' AND wait_event_type = 'Lock'`,
            [s.dst.name],
          )
        ).rowCount! > 0,
      60_000,
    );
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code, r.output).toBe(143);
    // While the blocker still holds its transaction, nothing of the run is left on the target.
    const left = await s.dst.query(
      `SELECT pid, application_name FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()
         AND (application_name LIKE '%migration-rehearsal restore%' OR application_name LIKE 'migration-rehearsal lock%')`,
      [s.dst.name],
    );
    expect(left.rows, r.output).toEqual([]);
  } finally {
    await blocker.query('ROLLBACK').catch(() => {});
    await blocker.end();
  }
}, 240_000);
