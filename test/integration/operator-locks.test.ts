/**
 * A lock held on a target table by another session: the checks that wait for it name the holder (pid, mode, table),
 * the fused scan path included, and nothing prints pg's "client is already executing a query" deprecation.
 */
import type pg from 'pg';
import { expect, test } from 'vitest';
import { connect } from '../../lib/sandbox/clusters.ts';
import { junitCases, latestJunit, migrateByHand, rehearse, scenario, unescapeXml } from '../helpers/scenario.ts';

async function lockTable(c: pg.Client, table: string): Promise<number> {
  c.on('error', () => {});
  await c.query('BEGIN');
  await c.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
}

test('--verify-only with users locked on the target: row count and checksum of users name the lock holder', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const lock = await connect(s.dst.cluster, s.dst.name);
  try {
    const pid = await lockTable(lock, 'users');
    const r = await rehearse(['--verify-only'], { ...s.env, HEALTH_CHECK: '0', NODE_OPTIONS: '--trace-deprecation' });
    expect(r.code, r.output).toBe(1);
    expect(r.output).not.toMatch(/DeprecationWarning/);
    const cases = junitCases(latestJunit(s));
    for (const name of ['row count public.users', 'checksum public.users']) {
      const c = cases.find((x) => x.name === name);
      expect(c, name).toBeDefined();
      expect(c!.failed, name).toBe(true);
      expect(unescapeXml(c!.body), name).toMatch(new RegExp(`pid ${pid} \\(AccessExclusiveLock on users\\)`));
    }
  } finally {
    await lock.end().catch(() => {});
  }
}, 240_000);
