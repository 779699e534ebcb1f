/**
 * Issue 26, "unbounded on a frozen server": SIGSTOP on the target server (its postmaster and every backend) while the
 * checks run. The checks phase has one deadline (CHECKS_DEADLINE_S, lib/checks/deadline.ts) and a dead side fails
 * every remaining check at once, naming it: the run ends with its report instead of timing out wave after wave.
 * The frozen cluster is private to the test and always gets SIGCONT in `finally`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { expect, test } from 'vitest';
import { connect, type ClusterInfo } from '../../lib/sandbox/clusters.ts';
import { eventually, privateMigrated, startRehearse } from '../helpers/hardening.ts';
import { junitCases, latestJunit, scenario, unescapeXml } from '../helpers/scenario.ts';

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
async function frozenRun(env: Record<string, string>) {
  const s = await privateMigrated(await scenario());
  const lock = await connect(s.dst.cluster, 'app');
  await lockUsers(lock);
  const run = startRehearse(
    ['--verify-only'],
    { ...s.env, ROWCOUNT_TIMEOUT_MS: '600000', CONNECT_TIMEOUT_MS: '3000', ...env },
    { timeoutMs: 220_000 },
  );
  let thaw = () => {};
  try {
    await eventually(
      async () =>
        (await s.dst.query(`SELECT 1 FROM pg_stat_activity WHERE datname = 'app' AND wait_event_type = 'Lock'`))
          .rowCount === 0,
      90_000,
    );
    thaw = freeze(s.dst.cluster);
    const t0 = Date.now();
    const r = await run.done;
    const seconds = (Date.now() - t0) / 1000;
    console.log(`frozen target: the run ended ${seconds.toFixed(1)} s after the freeze (exit ${r.code})`);
    const xml = latestJunit(s);
    return { r, seconds, cases: junitCases(xml), xml, target: `127.0.0.1:${s.dst.cluster.port}` };
  } finally {
    thaw();
    await lock.end().catch(() => {});
  }
}

test('a frozen target (SIGSTOP) mid-checks: the checks end at CHECKS_DEADLINE_S=20, every check still open fails naming the deadline, exit 1 with a report', async () => {
  const { r, seconds, cases, xml } = await frozenRun({ CHECKS_DEADLINE_S: '20' });
  expect(r.code, r.output.slice(-4000)).toBe(1);
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
}, 300_000);

test('a frozen target (SIGSTOP) mid-checks, long deadline: the dead-side probe fails every remaining check at once naming the target server', async () => {
  const { r, seconds, cases, target, xml } = await frozenRun({ CHECKS_DEADLINE_S: '600' });
  expect(r.code, r.output.slice(-4000)).toBe(1);
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
}, 300_000);
