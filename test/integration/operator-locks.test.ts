/**
 * A lock held on a target table by another session: the checks that wait for it name the holder (pid, mode, table),
 * the fused scan path and the schema dump included, and nothing prints pg's "client is already executing a query" deprecation. The two
 * tests run concurrently (test/helpers/concurrent.ts): each has its own scenario and spends most of its time waiting on
 * a lock (lock_timeout, the restore behind the holder), not on the CPU.
 */
import fs from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { CHECK_LOCK_TIMEOUT_MS } from '../../lib/core/db.ts';
import { connect } from '../../lib/sandbox/clusters.ts';
import { concurrentTest } from '../helpers/concurrent.ts';
import { expectFailures, failedNames, failureOf, runFamilies } from '../helpers/family.ts';
import { startRehearse } from '../helpers/hardening.ts';
import { migrateByHand, phaseStatuses, rehearse, scenario, stateOf, type Scenario } from '../helpers/scenario.ts';

/**
 * The in-process checks of this file wait 2 s instead of CHECK_LOCK_TIMEOUT_MS (10 s) for a lock before naming its
 * holder: the internal testing knob of lib/core/internal-knobs.ts, read when each pool is made. The same lock_timeout
 * error, the same message, sooner (the first test's families wait out several lock timeouts one after the other).
 */
const LOCK_KNOB = 'MIGRATION_REHEARSAL_CHECK_LOCK_TIMEOUT_MS';
const saved = process.env[LOCK_KNOB];
beforeAll(() => {
  process.env[LOCK_KNOB] = '2000';
});
afterAll(() => {
  if (saved === undefined) delete process.env[LOCK_KNOB];
  else process.env[LOCK_KNOB] = saved;
});

async function lockTable(c: pg.Client, table: string): Promise<number> {
  c.on('error', () => {});
  await c.query('BEGIN');
  await c.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
}

/** A copied scenario whose target table users another session holds in ACCESS EXCLUSIVE mode while `fn` runs. */
async function withUsersLocked(fn: (s: Scenario, pid: number) => Promise<void>): Promise<void> {
  const s = await scenario();
  await migrateByHand(s);
  const lock = await connect(s.dst.cluster, s.dst.name);
  try {
    await fn(s, await lockTable(lock, 'users'));
  } finally {
    await lock.end().catch(() => {});
  }
}

concurrentTest(
  'users locked on the target: row count and checksum of users name the lock holder, with no pg deprecation warning (families in-process)',
  async ({ expect }) => {
    // The two families in-process (test/helpers/family.ts) on the fused scan they share, instead of a whole --verify-only
    // run where every family touching users waited out its own lock timeout (about a minute) for nothing asserted here.
    // pg's "client is already executing a query" is a DeprecationWarning of this process: it must be able to appear.
    expect(process.noDeprecation, 'deprecation warnings are silenced in this worker').toBeFalsy();
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      await withUsersLocked(async (s, pid) => {
        const holder = new RegExp(`pid ${pid} \\(AccessExclusiveLock on (public\\.)?users\\)`);
        // A count or checksum ended by lock_timeout throws; the rehearsal's runner fails the test with that message.
        const outcomes = await runFamilies(s, ['row-counts', 'checksums'], { thrownFails: true });
        expectFailures(outcomes, { 'row count public.users': holder, 'checksum public.users': holder });
        expect(warnings.filter((w) => w.name === 'DeprecationWarning').map((w) => w.message)).toEqual([]);
      });
    } finally {
      process.off('warning', onWarning);
    }
  },
  240_000,
);

concurrentTest(
  "users locked on the target: the schema checks say pg_dump could not lock it and name the holder (not pg_dump's bare 'statement timeout')",
  async ({ expect }) => {
    await withUsersLocked(async (s, pid) => {
      const outcomes = await runFamilies(s, ['schema-parity'], { thrownFails: true });
      const red = failedNames(outcomes);
      expect(red.length, 'the schema dump of a locked target must fail the schema checks').toBeGreaterThan(0);
      for (const name of red)
        expect(failureOf(outcomes, name), name).toMatch(
          new RegExp(
            `pg_dump --schema-only could not lock public\\.users .*waited 10000 ms \\(pg_dump --lock-wait-timeout\\) for locks held by pid ${pid} \\(AccessExclusiveLock on (public\\.)?users\\)`,
          ),
        );
    });
  },
  240_000,
);

/** `pid` and every process below it (from /proc), deepest first. */
function tree(pid: number): number[] {
  const kids: number[] = [];
  for (const e of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) kids.push(...tree(Number(e)));
    } catch {
      /* gone */
    }
  }
  return [...kids, pid];
}

concurrentTest(
  'DST_DROP_SCHEMA=1 restore behind a lock: the holder is named with how to proceed; SIGTERM to the run is "interrupted during restore"',
  async ({ expect }) => {
    await withUsersLocked(async (s, pid) => {
      // The run gets the product lock timeout, explicitly (the environment of this worker carries the knob).
      const run = startRehearse([], {
        ...s.env,
        DST_DROP_SCHEMA: s.dst.name,
        HEALTH_CHECK: '0',
        [LOCK_KNOB]: String(CHECK_LOCK_TIMEOUT_MS),
      });
      await run.waitFor(new RegExp(`\\[restore\\] waiting for a lock held by pid ${pid} \\(`), 120_000);
      expect(run.output()).toMatch(/pg_terminate_backend/);
      // A signal to the run's processes below rehearse (vitest with global setup, psql, pg_restore), as a group signal
      // delivers it: the tools die of it at the same time as global setup hears it, so their exit must not turn the
      // interruption into a failed restore.
      for (const p of tree(run.child.pid!).filter((x) => x !== run.child.pid)) {
        try {
          process.kill(p, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      const r = await run.done;
      expect(r.code, r.output).toBe(143);
      expect(r.output).toMatch(/interrupted by SIGTERM during phase restore/);
      expect(r.output).not.toMatch(/during checks|restore\s+failed/);
      expect(phaseStatuses(s)).toMatchObject({ restore: 'interrupted' });
      expect(stateOf(s)!.interrupted).toMatchObject({ signal: 'SIGTERM', phase: 'restore' });
    });
  },
  240_000,
);
