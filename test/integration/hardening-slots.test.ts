/**
 * Issue 26, "max_connections with 3 free slots fails 24–32 checks": a target whose free connection slots are few. The
 * CLI reads each server's free slots before the checks (lib/core/db.ts freeConnectionSlots / fitToSlots /
 * checkWorkersFor) and lowers vitest's workers and CHECK_CONCURRENCY to fit: the full run completes green and nothing
 * fails on "too many clients". The target cluster is private to the test (max_connections=10); the slots are taken by
 * idle sessions of another client, held for the whole run. Too few slots for a run at its lowest concurrency is the
 * preflight's refusal (exit 2), judged in-process (the preflight gate, lib/phases/preflight-gate.ts) with the run's own
 * target lock held as `rehearse` holds it (test/helpers/pipeline.ts preflightOnly, holdTargetLock): the green run above is the whole CLI.
 * The tests run concurrently (test/helpers/concurrent.ts): each has its own scenario and private target cluster.
 */
import { concurrentTest } from '../helpers/concurrent.ts';
import { preflightOnly } from '../helpers/pipeline.ts';
import type pg from 'pg';
import { clusterUrl, connect, createDatabase, withClient } from '../../lib/sandbox/clusters.ts';
import { parseDsn } from '../../lib/core/dsn.ts';
import { chooseDumpClient, dumpSchema } from '../../lib/checks/families/schema-parity/dump-schema.ts';
import { privateMigrated, sampleConnections } from '../helpers/hardening.ts';
import { junitCases, latestJunit, rehearse, scenario } from '../helpers/scenario.ts';

const MAX_CONNECTIONS = 10;

concurrentTest(
  'a target with 3 free connection slots (max_connections=10, 5 idle sessions of another client, a monitoring session and the run\'s lock): the CLI lowers the checks to 1 worker, 1 check at once, and the full run is green without "too many clients"',
  async ({ expect }) => {
    const s = await privateMigrated(await scenario(), { maxConnections: { target: MAX_CONNECTIONS } });
    await createDatabase(s.dst.cluster, 'fresh');
    const idle: pg.Client[] = [];
    try {
      // 10 slots − 5 idle − the sampler's session − the run's target lock = 3 free when the CLI asks (the asking
      // connection's own slot counted free).
      for (let i = 0; i < 5; i++) {
        const c = await connect(s.dst.cluster, 'postgres');
        c.on('error', () => {});
        idle.push(c);
      }
      const sampler = sampleConnections(s.dst.cluster, 'fresh', 50);
      const r = await rehearse(
        [],
        {
          ...s.env,
          DST_DATABASE_URL: clusterUrl(s.dst.cluster, 'fresh'),
          CHECK_CONCURRENCY: '8',
        },
        // One check at a time on a loaded 2-core machine: slower than the default 170 s bound.
        { timeoutMs: 330_000 },
      );
      const peak = await sampler.stop();
      expect(r.output).toMatch(
        /note: \S+ has 3 free connection slot\(s\): the checks run in 1 worker process\(es\), 1 check\(s\) at once \(CHECK_CONCURRENCY 8 lowered\)/,
      );
      expect(r.output).not.toMatch(/too many clients|remaining connection slots/i);
      expect(r.code, r.output.slice(-4000)).toBe(0);
      const cases = junitCases(latestJunit(s));
      expect(cases.filter((c) => c.failed).map((c) => c.name)).toEqual([]);
      expect(cases.filter((c) => !c.skipped).length).toBeGreaterThan(50);
      // The sampler's own session is one of the 10 too; the run never needed more than what was free.
      expect(peak, 'connections to the target database at the peak').toBeLessThanOrEqual(MAX_CONNECTIONS - 6);
    } finally {
      for (const c of idle) await c.end().catch(() => {});
    }
  },
  450_000,
);

concurrentTest(
  'a target with 1 free connection slot (fewer than a run needs at its lowest concurrency): refused before any write, exit 2, naming the server, its free slots and the fix; never "too many clients"',
  async ({ expect }) => {
    const s = await privateMigrated(await scenario(), { maxConnections: { target: MAX_CONNECTIONS } });
    await createDatabase(s.dst.cluster, 'fresh');
    const idle: pg.Client[] = [];
    try {
      // 10 slots − 8 idle − the run's target lock = 1 free when preflight asks. (Before the guard the restore failed,
      // exit 3, on "sorry, too many clients already"; 2 free slots run green.)
      for (let i = 0; i < 8; i++) {
        const c = await connect(s.dst.cluster, 'postgres');
        c.on('error', () => {});
        idle.push(c);
      }
      const pre = await preflightOnly({ ...s.env, DST_DATABASE_URL: clusterUrl(s.dst.cluster, 'fresh') }, 'full', {
        holdTargetLock: true,
      });
      expect(pre.reason).not.toMatch(/too many clients|remaining connection slots/i);
      expect(pre).toMatchObject({ status: 'failed', rehearseExitCode: 2 });
      expect(pre.reason).toMatch(
        /\S+\/fresh has 1 free connection slot\(s\) for this role; a rehearsal needs at least 2 there .*raise max_connections or close idle sessions/,
      );
      const tables = await withClient(s.dst.cluster, 'fresh', (c) =>
        c.query(`SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = 'public'`),
      );
      expect(tables.rowCount, 'the target is untouched').toBe(0);
    } finally {
      for (const c of idle) await c.end().catch(() => {});
    }
  },
  300_000,
);

concurrentTest(
  'a schema dump refused for want of a free slot ("remaining connection slots are reserved") is retried and succeeds once a slot frees (issue 26: one refusal failed all 28 schema checks)',
  async ({ expect }) => {
    const s = await privateMigrated(await scenario(), { maxConnections: { target: MAX_CONNECTIONS }, only: 'target' });
    const idle: pg.Client[] = [];
    try {
      // Take every slot an ordinary connection can get (the rest are reserved for superusers).
      for (;;) {
        const c = await connect(s.dst.cluster, 'postgres').catch((e: Error) => e);
        if (c instanceof Error) {
          expect(c.message).toMatch(/too many clients|remaining connection slots/i);
          break;
        }
        c.on('error', () => {});
        idle.push(c);
        expect(idle.length).toBeLessThanOrEqual(MAX_CONNECTIONS);
      }
      const client = await chooseDumpClient([15], {});
      if (typeof client === 'string') throw new Error(client);
      // A slot frees 1.2 s later, as an idle session of another client ends.
      const freeing = new Promise((r) => setTimeout(r, 1200)).then(() => idle.pop()!.end());
      const dump = await dumpSchema(parseDsn(clusterUrl(s.dst.cluster, 'app')), client, { connectTimeoutMs: 10_000 });
      await freeing;
      expect(dump.entries.length).toBeGreaterThan(0);
    } finally {
      for (const c of idle) await c.end().catch(() => {});
    }
  },
  180_000,
);
