/**
 * Issue 26, "unbounded on a frozen server": SIGSTOP on the target server (its postmaster and every backend) while the
 * checks run. The checks phase has one deadline (CHECKS_DEADLINE_S, lib/checks/deadline.ts) and a dead side fails
 * every remaining check at once, naming it: the run ends with its report instead of timing out wave after wave.
 * The frozen cluster is private to the test and always gets SIGCONT in `finally`. The tests run concurrently
 * (test/helpers/concurrent.ts): each has its own scenario and private cluster, and they spend their time waiting on the
 * timers they prove (the deadline, the probe interval), not on the CPU.
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { ExpectStatic } from 'vitest';
import { underDeadline } from '../../lib/checks/deadline.ts';
import { parseConfig } from '../../lib/core/config.ts';
import { withConnection } from '../../lib/core/db.ts';
import { clusterUrl, connect, type ClusterInfo } from '../../lib/sandbox/clusters.ts';
import { concurrentTest } from '../helpers/concurrent.ts';
import { eventually, privateMigrated, privateTarget, startRehearse } from '../helpers/hardening.ts';
import { junitCases, latestJunit, scenario, tempDir, unescapeXml } from '../helpers/scenario.ts';

/** The postmaster of `c` and every process it started (its backends and auxiliary processes). */
function clusterPids(c: ClusterInfo): number[] {
  const postmaster = Number(fs.readFileSync(path.join(c.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const pids = [postmaster];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) pids.push(Number(d));
    } catch {
      /* ended meanwhile */
    }
  }
  return pids;
}

/** SIGSTOP the whole cluster (twice over: a backend forked while the first pass ran is stopped by the second). */
function freeze(c: ClusterInfo): () => void {
  const stopped = new Set<number>();
  for (let pass = 0; pass < 2; pass++)
    for (const pid of clusterPids(c)) {
      try {
        process.kill(pid, 'SIGSTOP');
        stopped.add(pid);
      } catch {
        /* ended meanwhile */
      }
    }
  return () => {
    for (const pid of [...stopped, ...clusterPids(c)])
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* gone */
      }
  };
}

async function lockUsers(c: pg.Client): Promise<void> {
  c.on('error', () => {});
  await c.query('BEGIN');
  await c.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
}

/** Seconds the process may live after printing its summary (the target lock's release waits at most 5 s). */
const EXIT_AFTER_SUMMARY_S = 10;

/** The duration (s) JUnit records for the testcase `name`. */
function caseSeconds(xml: string, name: string): number {
  const m = new RegExp(`<testcase\\b[^>]*\\bname="${name}"[^>]*\\btime="([\\d.]+)"`).exec(xml);
  if (!m) throw new Error(`no time for testcase "${name}"`);
  return Number(m[1]);
}

/**
 * A --verify-only run whose row count of `users` waits on a lock held on the target (so checks are in flight), then the
 * target frozen. Returns the run's result, the seconds from the freeze to its end, and its testcases.
 */
async function frozenRun(expect: ExpectStatic, env: Record<string, string>) {
  const s = await privateMigrated(await scenario(), { only: 'target' });
  const lock = await connect(s.dst.cluster, 'app');
  await lockUsers(lock);
  const run = startRehearse(
    ['--verify-only'],
    { ...s.env, ROWCOUNT_TIMEOUT_MS: '600000', CONNECT_TIMEOUT_MS: '3000', ...env },
    { timeoutMs: 220_000 },
  );
  // When the summary's first line appeared: the process must exit within seconds of it (issue 26: ~4 min after it, a
  // connection's end still waited for the frozen server).
  let summaryAt: number | undefined;
  void run.waitFor(/── summary/, 300_000).then(
    () => (summaryAt = Date.now()),
    () => {},
  );
  let thaw = () => {};
  try {
    const noWaiter = await eventually(
      async () =>
        (await s.dst.query(`SELECT 1 FROM pg_stat_activity WHERE datname = 'app' AND wait_event_type = 'Lock'`))
          .rowCount === 0,
      90_000,
    );
    // The freeze must land while a check is in flight, else the test would prove nothing about a frozen server.
    expect(noWaiter, `no check waited on the lock within 90 s:\n${run.output().slice(-3000)}`).toBe(false);
    thaw = freeze(s.dst.cluster);
    const t0 = Date.now();
    const r = await run.done;
    const ended = Date.now();
    const seconds = (ended - t0) / 1000;
    const afterSummary = summaryAt === undefined ? undefined : (ended - summaryAt) / 1000;
    console.log(
      `frozen target: the run ended ${seconds.toFixed(1)} s after the freeze (exit ${r.code}), ${afterSummary?.toFixed(1)} s after its summary`,
    );
    const xml = latestJunit(s);
    return { r, seconds, afterSummary, cases: junitCases(xml), xml, target: `127.0.0.1:${s.dst.cluster.port}` };
  } finally {
    thaw();
    await lock.end().catch(() => {});
  }
}

concurrentTest(
  'a frozen target (SIGSTOP) mid-checks: the checks end at CHECKS_DEADLINE_S=20, every check still open fails naming the deadline, exit 1 with a report',
  async ({ expect }) => {
    const { r, seconds, afterSummary, cases, xml } = await frozenRun(expect, { CHECKS_DEADLINE_S: '20' });
    expect(r.code, r.output.slice(-4000)).toBe(1);
    // The process ends within seconds of its summary, the target still frozen (every connection's end is bounded).
    expect(afterSummary, r.output.slice(-3000)).toBeLessThan(EXIT_AFTER_SUMMARY_S);
    // The count of users ran from the first checks until the deadline (20 s from the first check), not a second more.
    expect(caseSeconds(xml, 'row count public.users')).toBeLessThanOrEqual(20 + 3);
    // The whole run, report included, ends long before one 120 s wave of timeouts (it was alive at +360 s).
    expect(seconds, r.output.slice(-3000)).toBeLessThan(90);
    const count = cases.find((c) => c.name === 'row count public.users')!;
    expect(count.failed).toBe(true);
    expect(unescapeXml(count.body)).toMatch(/passed its deadline \(CHECKS_DEADLINE_S=20 s/);
    const failed = cases.filter((c) => c.failed);
    for (const f of failed) expect(unescapeXml(f.body), f.name).toMatch(/not checked: |target|lost|timeout/i);
    expect(r.output).toMatch(/report/i);
  },
  300_000,
);

concurrentTest(
  'a frozen target (SIGSTOP) mid-checks, long deadline: the dead-side probe fails every remaining check at once naming the target server',
  async ({ expect }) => {
    const { r, seconds, afterSummary, cases, target, xml } = await frozenRun(expect, { CHECKS_DEADLINE_S: '600' });
    expect(r.code, r.output.slice(-4000)).toBe(1);
    expect(afterSummary, r.output.slice(-3000)).toBeLessThan(EXIT_AFTER_SUMMARY_S);
    // Two probes 15 s apart, each bounded by CONNECT_TIMEOUT_MS=3000, then every check at once (not wave after wave):
    // the count of users, running since the first checks, ends at the second failed probe.
    expect(caseSeconds(xml, 'row count public.users')).toBeLessThan(60);
    expect(seconds, r.output.slice(-3000)).toBeLessThan(110);
    const count = cases.find((c) => c.name === 'row count public.users')!;
    expect(count.failed).toBe(true);
    const dead = new RegExp(
      `not checked: the target server \\([^)]*${target.replace(/\./g, '\\.')}[^)]*\\) stopped answering \\(2 probes in a row failed`,
    );
    expect(unescapeXml(count.body)).toMatch(dead);
    expect(unescapeXml(count.body)).toMatch(/every remaining check fails at once/);
    // The source never froze: nothing blames it.
    for (const f of cases.filter((c) => c.failed))
      expect(unescapeXml(f.body), f.name).not.toMatch(/the source server \(/);
  },
  300_000,
);

concurrentTest(
  'a frozen target, checks that each fail sooner than the probe interval (CONNECT_TIMEOUT_MS=3000, one at a time): the dead-side probe runs on its own clock and names the target',
  async ({ expect }) => {
    // Only a frozen target is needed (no data: nothing but connections reaches it); the source answers all along.
    const s = await scenario();
    const target = await privateTarget({ password: s.password });
    const config = parseConfig(
      {
        ...s.env,
        DST_DATABASE_URL: clusterUrl(target.cluster, 'postgres'),
        CONNECT_TIMEOUT_MS: '3000',
        CHECKS_DEADLINE_S: '600',
        CHECK_CONCURRENCY: '1',
      },
      { mode: 'verify-only' },
    );
    const run = { workDir: tempDir(), runId: 'frozen-own-clock' };
    // One check at a time, each a new connection to the target that fails at its 3 s connect timeout: no check is
    // ever running when a timer restarted by each check would reach 15 s (issue 26: alive 303 s after SIGSTOP, never
    // "stopped answering").
    const thaw = freeze(target.cluster);
    try {
      const t0 = Date.now();
      let why = '';
      while (!why && Date.now() - t0 < 75_000)
        why = await underDeadline(run, config, () =>
          withConnection(config.dst, (c) => c.query('SELECT 1'), { connectTimeoutMs: 3000 }),
        ).then(
          () => 'the frozen target answered',
          (e: Error) => (/stopped answering/.test(e.message) ? e.message : ''),
        );
      const seconds = (Date.now() - t0) / 1000;
      console.log(`own-clock probe: "${why}" after ${seconds.toFixed(1)} s`);
      // Two probes 15 s apart, each bounded by 3 s, whatever the checks do in between.
      expect(why).toMatch(/^not checked: the target server \([^)]*\) stopped answering \(2 probes in a row failed/);
      expect(seconds).toBeLessThan(45);
      // Every later check fails at once, naming it.
      const t1 = Date.now();
      await expect(underDeadline(run, config, async () => 'ran')).rejects.toThrow(
        /the target server .* stopped answering/,
      );
      expect(Date.now() - t1).toBeLessThan(1000);
    } finally {
      thaw();
    }
  },
  180_000,
);

concurrentTest(
  'a frozen target with CHECK_CONCURRENCY=1 and CONNECT_TIMEOUT_MS=3000: the run ends naming the target, and exits within seconds of its summary',
  async ({ expect }) => {
    const { r, seconds, afterSummary } = await frozenRun(expect, { CHECKS_DEADLINE_S: '600', CHECK_CONCURRENCY: '1' });
    expect(r.code, r.output.slice(-4000)).toBe(1);
    expect(r.output).toMatch(/the target server \([^)]*\) stopped answering/);
    expect(seconds, r.output.slice(-3000)).toBeLessThan(110);
    expect(afterSummary, r.output.slice(-3000)).toBeLessThan(EXIT_AFTER_SUMMARY_S);
  },
  300_000,
);

concurrentTest(
  'the target lock lost during the restore while the target is slow to answer (frozen 6 s): the run stops at once, exit 143, the restore session ended',
  async ({ expect }) => {
    const s = await privateMigrated(await scenario(), { only: 'target' });
    const reader = await connect(s.dst.cluster, 'app');
    reader.on('error', () => {});
    await reader.query('BEGIN');
    await reader.query('LOCK TABLE users IN ACCESS SHARE MODE'); // the DST_DROP_SCHEMA restore waits behind this reader
    const run = startRehearse([], { ...s.env, DST_DROP_SCHEMA: 'app', HEALTH_CHECK: '0' }, { timeoutMs: 200_000 });
    let thaw = () => {};
    try {
      await run.waitFor(/\[restore\] waiting for a lock held by pid \d+/, 150_000);
      const killed = await s.dst.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'migration-rehearsal lock pid=%'`,
      );
      expect(killed.rowCount).toBe(1);
      // The server stops answering for 6 s right then (as under a heavy load): a live target, not a dead one. A 3 s
      // probe called it dead and the run went on unprotected, its restore still waiting (issue 26, attack 07b).
      const t0 = Date.now();
      thaw = freeze(s.dst.cluster);
      await new Promise((r) => setTimeout(r, 6000));
      thaw();
      const r = await run.done;
      const seconds = (Date.now() - t0) / 1000;
      console.log(`lock lost: the run ended ${seconds.toFixed(1)} s later (exit ${r.code})`);
      expect(r.code, r.output.slice(-4000)).toBe(143);
      expect(r.output).toMatch(/the target lock was lost \(.*\); stopping the run: another rehearsal could now write/);
      expect(r.output).toMatch(/interrupted by SIGTERM during phase restore/);
      expect(r.output).not.toMatch(/\[mirror\] ok/);
      expect(seconds, r.output.slice(-3000)).toBeLessThan(60);
      // The restore's session was ended by the run: nothing of it waits behind the reader any more.
      const waiting = await eventually(
        async () =>
          (await s.dst.query(`SELECT 1 FROM pg_stat_activity WHERE datname = 'app' AND wait_event_type = 'Lock'`))
            .rowCount,
        10_000,
      );
      expect(waiting).toBe(0);
    } finally {
      thaw();
      await reader.end().catch(() => {});
    }
  },
  300_000,
);
