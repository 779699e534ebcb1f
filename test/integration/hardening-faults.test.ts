/**
 * Issue 10, faults: a server that stops in the middle of the checks, a target with max_connections=10, and a full
 * disk under WORK_DIR during the dump. Servers that get stopped are private to the test (never the shared ones).
 * The tests run concurrently (test/helpers/concurrent.ts): each has its own scenario and its own private cluster.
 */
import { concurrentTest } from '../helpers/concurrent.ts';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { connect, stopCluster } from '../../lib/sandbox/clusters.ts';
import { eventually, privateMigrated, sampleConnections, startRehearse } from '../helpers/hardening.ts';
import {
  junitCases,
  latestJunit,
  phaseStatuses,
  rehearse,
  scenario,
  stateOf,
  tempDir,
  unescapeXml,
} from '../helpers/scenario.ts';

const LOST =
  /connection to postgresql:\/\/\S+ lost or refused|Connection terminated|terminating connection|ECONNREFUSED|ECONNRESET|server closed the connection|failed: Connection refused/;

async function lockTable(c: pg.Client, table: string) {
  c.on('error', () => {});
  await c.query('BEGIN');
  await c.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
}

for (const side of ['target', 'source'] as const) {
  concurrentTest(
    `the ${side} server stops in the middle of the checks: every check still waiting on it fails promptly saying the connection was lost`,
    async ({ expect }) => {
      // Only the server that stops is private; the other side stays on the shared sandbox.
      const s = await privateMigrated(await scenario(), { only: side });
      const c = side === 'target' ? s.dst.cluster : s.src.cluster;
      const lock = await connect(c, 'app');
      // The counts of users wait for this lock (ROWCOUNT_TIMEOUT_MS is long), so checks are in flight when the server stops.
      await lockTable(lock, 'users');
      const t0 = Date.now();
      const run = startRehearse(['--verify-only'], {
        ...s.env,
        ROWCOUNT_TIMEOUT_MS: '120000',
        CONNECT_TIMEOUT_MS: '3000',
      });
      await eventually(
        async () =>
          (
            await (side === 'target' ? s.dst : s.src).query(
              `SELECT 1 FROM pg_stat_activity WHERE datname = 'app' AND wait_event_type = 'Lock'`,
            )
          ).rowCount === 0,
        60_000,
      );
      await stopCluster(s.state, c, 'immediate');
      const r = await run.done;
      const elapsed = Date.now() - t0;
      expect(r.code, r.output).toBe(1);
      expect(elapsed, 'no hang: the run ends long before the per-test timeout').toBeLessThan(90_000);
      const cases = junitCases(latestJunit(s));
      const count = cases.find((x) => x.name === 'row count public.users')!;
      expect(count.failed).toBe(true);
      expect(unescapeXml(count.body)).toMatch(new RegExp(`cannot count in the ${side}`));
      expect(unescapeXml(count.body)).toMatch(LOST);
      // Nothing that needs the stopped server passes after it stopped; whatever failed says why.
      const failed = cases.filter((x) => x.failed);
      expect(failed.length).toBeGreaterThan(1);
      // ... and blames the server that stopped, never the one still running.
      const other = side === 'target' ? 'source' : 'target';
      for (const f of failed) {
        const body = unescapeXml(f.body);
        if (process.env.DEBUG_FAULTS) console.log(f.name, body.slice(0, 600));
        expect(body, f.name).toMatch(new RegExp(`${LOST.source}|timeout exceeded when trying to connect|not checked`));
        expect(body, f.name).not.toMatch(new RegExp(`in the ${other}\\b|the ${other}'s`));
      }
      await lock.end().catch(() => {});
    },
  );
}

concurrentTest(
  'a target with max_connections=10: a full rehearsal with 4 parallel spec workers completes without "too many clients"',
  async ({ expect }) => {
    const base = await scenario();
    const s = await privateMigrated(base, { maxConnections: { target: 10 }, only: 'target' });
    // An empty target database for the full copy.
    await s.dst.query('SELECT 1');
    const { createDatabase, clusterUrl } = await import('../../lib/sandbox/clusters.ts');
    await createDatabase(s.dst.cluster, 'fresh');
    const sampler = sampleConnections(s.dst.cluster, 'fresh', 50);
    const r = await rehearse([], {
      ...s.env,
      DST_DATABASE_URL: clusterUrl(s.dst.cluster, 'fresh'),
      VITEST_MAX_WORKERS: '4',
      CHECK_CONCURRENCY: '8',
    });
    const peak = await sampler.stop();
    expect(r.output).not.toMatch(/too many clients/);
    expect(r.code, r.output.slice(-4000)).toBe(0);
    expect(peak, 'connections to the target database at the peak (max_connections=10)').toBeLessThanOrEqual(9);
    expect(peak).toBeGreaterThan(0);
  },
);

concurrentTest(
  'disk full in WORK_DIR during the dump: a phase error saying no space left, the partial dump removed, exit 3',
  async ({ expect }) => {
    const s = await scenario();
    // A big enough source that its dump cannot fit in 1 MiB.
    await s.src.query(
      `CREATE TABLE filler AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS pad FROM generate_series(1, 60000) g`,
    );
    const mnt = tempDir('rehearsal-tmpfs-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    try {
      const workDir = path.join(mnt, 'work');
      const r = await rehearse([], { ...s.env, WORK_DIR: workDir, SRC_ASSETS_DIR: undefined });
      expect(r.code, r.output).toBe(3);
      expect(phaseStatuses({ workDir })).toMatchObject({ preflight: 'ok', dump: 'failed', restore: 'skipped' });
      const dump = stateOf({ workDir })!.phases.find((p) => p.name === 'dump')!;
      expect(dump.reason).toMatch(/No space left on device/);
      expect(dump.reason).toMatch(/WORK_DIR .* is full|no space left in WORK_DIR/i);
      expect(fs.readdirSync(workDir).filter((f) => f.startsWith('source.dump'))).toEqual([]);
    } finally {
      execFileSync('umount', ['-l', mnt]);
    }
  },
);
