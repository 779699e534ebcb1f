/**
 * Issue 10, interruption: SIGINT / SIGTERM sent to the rehearse process while a copy phase runs. The phase is held
 * deterministically (a lock the tool waits for, a peer that never answers), so the signal always lands inside it.
 * Afterwards: the exit code says interrupted (130 SIGINT, 143 SIGTERM), state.json records it, no process of the run
 * is left, a single-transaction restore left nothing behind, and the next run starts cleanly.
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { expect, test } from 'vitest';
import { connect } from '../../lib/sandbox/clusters.ts';
import { blackhole, eventually, processesReferencing, startRehearse } from '../helpers/hardening.ts';
import { catalogSnapshot, phaseStatuses, rehearse, scenario, stateOf, type Scenario } from '../helpers/scenario.ts';

/** A session of the test holding `sql` open in a transaction; its own backend is not "left behind" by the run. */
async function holder(c: pg.Client, sql: string): Promise<number> {
  c.on('error', () => {});
  await c.query('BEGIN');
  await c.query(sql);
  return (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
}

/** Processes still referencing the run (its WORK_DIR, or the databases), other than the test's own backend(s). */
async function leftovers(s: Scenario, ignorePids: number[]) {
  return eventually(
    () =>
      processesReferencing([s.workDir, `${s.src.name} `, `${s.dst.name} `, `--dbname=${s.dst.name}`]).filter(
        (p) => !ignorePids.includes(p.pid),
      ),
    10_000,
  );
}

test('SIGINT during the dump: pg_dump stopped, partial dump removed, exit 130, state.json says so; the next run starts cleanly', async () => {
  const s = await scenario();
  const lock = await connect(s.src.cluster, s.src.name);
  try {
    // pg_dump waits for its ACCESS SHARE lock on users as long as this transaction holds the table.
    const pid = await holder(lock, 'LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
    const run = startRehearse([], s.env);
    await run.waitFor(/\[dump\] pg_dump/);
    await eventually(
      async () =>
        (
          await s.src.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [
            s.src.name,
          ])
        ).rowCount === 0,
      10_000,
    );
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.output).toBe(130);
    expect(r.output).toMatch(/interrupted by SIGINT during phase dump/);
    expect(phaseStatuses(s)).toMatchObject({ preflight: 'ok', dump: 'interrupted' });
    const st = stateOf(s)!;
    expect(st.interrupted).toMatchObject({ signal: 'SIGINT', phase: 'dump' });
    expect(st.phases.find((p) => p.name === 'dump')!.reason).toMatch(
      /1 running tool\(s\) stopped; the partial dump was removed/,
    );
    expect(fs.readdirSync(s.workDir).filter((f) => f.startsWith('source.dump'))).toEqual([]);
    expect(await leftovers(s, [pid])).toEqual([]);
  } finally {
    await lock.end();
  }
  // A stale partial dump from a run killed harder (SIGKILL) must not confuse the next run either.
  fs.writeFileSync(path.join(s.workDir, 'source.dump.partial'), 'PGDMP truncated garbage');
  const again = await rehearse([], s.env);
  expect(again.code, again.output).toBe(0);
  expect(phaseStatuses(s)).toEqual({ preflight: 'ok', dump: 'ok', restore: 'ok', mirror: 'ok' });
  expect(stateOf(s)!.interrupted).toBeUndefined();
});

test('SIGTERM during a single-transaction restore: pg_restore stopped, the target exactly as before, exit 143', async () => {
  const s = await scenario();
  const before = await catalogSnapshot(s.dst);
  const blocker = await connect(s.dst.cluster, s.dst.name);
  let pid = 0;
  try {
    // The restore's CREATE EXTENSION vector waits for this uncommitted one (same unique key in pg_extension).
    pid = await holder(blocker, 'CREATE EXTENSION vector');
    const run = startRehearse([], { ...s.env, SRC_ASSETS_DIR: undefined });
    await run.waitFor(/\[restore\] pg_restore/);
    await eventually(
      async () =>
        (
          await s.dst.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [
            s.dst.name,
          ])
        ).rowCount === 0,
      10_000,
    );
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code, r.output).toBe(143);
    expect(phaseStatuses(s)).toMatchObject({ preflight: 'ok', dump: 'ok', restore: 'interrupted' });
    expect(stateOf(s)!.interrupted).toMatchObject({ signal: 'SIGTERM', phase: 'restore' });
    expect(stateOf(s)!.phases.find((p) => p.name === 'restore')!.reason).toMatch(/rolled back by the server/);
    expect(await leftovers(s, [pid])).toEqual([]);
  } finally {
    // Once the blocker is gone, a restore still alive anywhere would go on and commit: it must not.
    await blocker.query('ROLLBACK').catch(() => {});
    await blocker.end();
  }
  await new Promise((r) => setTimeout(r, 1000));
  expect(await catalogSnapshot(s.dst)).toEqual(before);
  expect(
    (
      await s.dst.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [s.dst.name],
      )
    ).rows[0].n,
  ).toBe(0);
});

test('a remote SRC_ASSETS_DIR that never answers is found by the preflight, before the dump; SIGINT during its probe stops rsync, exit 130', async () => {
  const s = await scenario();
  const peer = await blackhole();
  const env = { ...s.env, SRC_ASSETS_DIR: `rsync://127.0.0.1:${peer.port}/data/`, CONNECT_TIMEOUT_MS: '2000' };
  // Left alone: refused by the preflight's rsync --list-only probe (bounded), nothing dumped.
  const refused = await startRehearse([], env).done;
  expect(refused.code, refused.output).toBe(2);
  expect(refused.output).toMatch(/remote SRC_ASSETS_DIR rsync:\/\/127\.0\.0\.1:\d+\/data\/ does not answer/);
  expect(refused.output).not.toMatch(/\[dump\]/);
  // Interrupted while the probe waits: the probe is stopped too.
  const before = peer.connections();
  const run = startRehearse([], { ...env, CONNECT_TIMEOUT_MS: '20000' });
  await run.waitFor(/reports: /);
  await eventually(() => peer.connections() > before, 20_000);
  run.child.kill('SIGINT');
  const r = await run.done;
  expect(r.code, r.output).toBe(130);
  expect(r.output).toMatch(/interrupted by SIGINT during the preflight/);
  expect(await leftovers(s, [])).toEqual([]);
  expect(processesReferencing([`127.0.0.1:${peer.port}`])).toEqual([]);
});
