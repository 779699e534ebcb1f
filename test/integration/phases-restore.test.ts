/**
 * Restore safety: all-or-nothing restores (a restore failing halfway leaves the target exactly as before, with and
 * without DST_DROP_SCHEMA), refusals before any write, and damaged dumps. Every case runs the copy steps or the
 * preflight gate in-process (test/helpers/pipeline.ts) and asserts the phase results a rehearsal records in state.json
 * (status, reason, rehearseExitCode: the exit code `rehearse` maps the failure to) and the target's catalog. The CLI's
 * own exit 2 and exit 3 paths (its exit code, the later phases recorded as skipped in state.json) are whole runs
 * elsewhere: versions-matrix (a refused pair of majors, exit 2), hardening-faults (a dump failing on a full WORK_DIR,
 * exit 3, the restore recorded as skipped) and phases-guards (a failed mirror, exit 3).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { libpqEnv, parseDsn } from '../../lib/core/dsn.ts';
import { FIXTURE_TABLES } from '../../lib/sandbox/fixture.ts';
import { catalogSnapshot, scenario, treeListing, type Scenario } from '../helpers/scenario.ts';
import { copyInProcess, expectNoSecretIn, preflightOnly, statuses } from '../helpers/pipeline.ts';

/**
 * A target where the restore gets going and then fails: `vector` is already installed there, but in schema `legacy`,
 * so the dump's `CREATE EXTENSION IF NOT EXISTS vector` is a no-op and `CREATE TABLE material_embeddings
 * (embedding public.vector(8))` fails after the extension and the earlier tables were created.
 */
async function legacyTarget(s: Scenario, opts: { publicTable?: boolean } = {}) {
  await s.dst.query(`CREATE SCHEMA legacy; CREATE EXTENSION vector SCHEMA legacy;
    CREATE TABLE legacy.keep (id int PRIMARY KEY, note text); INSERT INTO legacy.keep SELECT g, 'row ' || g FROM generate_series(1, 3) g;`);
  if (opts.publicTable)
    await s.dst.query(
      `CREATE TABLE public.old_stuff (id int, v legacy.vector(2)); INSERT INTO public.old_stuff VALUES (1, '[1,2]'), (2, '[3,4]');`,
    );
}

function dumpSource(s: Scenario, file: string) {
  execFileSync('pg_dump', ['--format=custom', '--no-owner', '--no-acl', `--file=${file}`], {
    env: { PATH: process.env.PATH ?? '', ...libpqEnv(parseDsn(s.src.url)) },
  });
}

test('a single-transaction restore that fails halfway leaves the target exactly as before (catalog and row counts); exit 3', async () => {
  const s = await scenario();
  await legacyTarget(s);
  const before = await catalogSnapshot(s.dst);
  const phases = await copyInProcess({ ...s.env, SRC_ASSETS_DIR: undefined });
  // The first failure stops the copy (a whole run then records the mirror as skipped).
  expect(statuses(phases)).toEqual({ preflight: 'ok', dump: 'ok', restore: 'failed' });
  const restore = phases.find((p) => p.name === 'restore')!;
  expect(restore.rehearseExitCode).toBe(3);
  expect(restore.exitCode).toBe(1);
  expect(restore.reason).toMatch(/pg_restore exited with code 1/);
  expect(restore.reason).toMatch(/ROLLED BACK: the target is exactly as it was before/);
  expect(restore.reason).toMatch(/type "public\.vector" does not exist/);
  expect(await catalogSnapshot(s.dst)).toEqual(before);
  expectNoSecretIn(s, phases);
});

test('DST_DROP_SCHEMA=1: the drop and a restore failing halfway are ONE transaction, so the old public survives intact', async () => {
  const s = await scenario();
  await legacyTarget(s, { publicTable: true });
  const before = await catalogSnapshot(s.dst);
  expect(before.counts).toMatchObject({ 'public.old_stuff': 2 });
  const phases = await copyInProcess({ ...s.env, SRC_ASSETS_DIR: undefined, DST_DROP_SCHEMA: s.dst.name });
  expect(statuses(phases)).toEqual({ preflight: 'ok', dump: 'ok', restore: 'failed' });
  const restore = phases.find((p) => p.name === 'restore')!;
  expect(restore.rehearseExitCode).toBe(3);
  expect(restore.reason).toMatch(/psql exited with code 3: an SQL statement failed/);
  expect(restore.reason).toMatch(/ROLLED BACK/);
  expect(await catalogSnapshot(s.dst)).toEqual(before);
  expectNoSecretIn(s, phases);
});

test('a non-empty target public schema without DST_DROP_SCHEMA is refused before any write (exit 2)', async () => {
  const s = await scenario();
  await s.dst.query(`CREATE TABLE public.users (id int); INSERT INTO public.users VALUES (42);`);
  const before = await catalogSnapshot(s.dst);
  const pre = await preflightOnly(s.env);
  expect(pre).toMatchObject({ status: 'failed', rehearseExitCode: 2 });
  expect(pre.reason).toMatch(/target schema public is not empty \(1 objects, e\.g\. users\)/);
  expect(pre.reason).toMatch(/DST_DROP_SCHEMA=<the target database name>/);
  // The gate (what `rehearse` runs before any copy step) wrote nothing: no dump, the target and its assets untouched.
  expect(await catalogSnapshot(s.dst)).toEqual(before);
  expect(treeListing(s.dstAssets)).toEqual({});
  expect(fs.existsSync(path.join(s.workDir, 'source.dump'))).toBe(false);
  expectNoSecretIn(s, [pre]);
});

test('DST_DROP_SCHEMA=1 replaces a non-empty public with the source (old tables gone)', async () => {
  const s = await scenario();
  await s.dst.query(
    `CREATE TABLE public.old_stuff (id int); INSERT INTO public.old_stuff VALUES (1); CREATE TABLE public.users (id int);`,
  );
  const phases = await copyInProcess({ ...s.env, SRC_ASSETS_DIR: undefined, DST_DROP_SCHEMA: s.dst.name });
  // (No SRC_ASSETS_DIR: the schedule does not want the mirror; a whole run records it as skipped.)
  expect(statuses(phases), JSON.stringify(phases)).toEqual({ preflight: 'ok', dump: 'ok', restore: 'ok' });
  const old = await s.dst.query(`SELECT to_regclass('public.old_stuff') AS t`);
  expect(old.rows[0].t).toBeNull();
  for (const t of FIXTURE_TABLES) {
    const a = await s.src.query(`SELECT count(*)::int AS n FROM ${t}`);
    const b = await s.dst.query(`SELECT count(*)::int AS n FROM ${t}`);
    expect(b.rows[0].n, t).toBe(a.rows[0].n);
  }
  const restore = phases.find((p) => p.name === 'restore')!;
  expect(restore.details).toMatchObject({ mode: 'single-transaction-with-drop', atomic: true });
  expectNoSecretIn(s, phases);
});

test('a truncated SRC_DB_DUMP_PATH is refused in preflight with a clear message; the target is untouched (exit 2)', async () => {
  const s = await scenario();
  const good = path.join(s.tmp, 'good.dump');
  dumpSource(s, good);
  const bytes = fs.readFileSync(good);
  const bad = path.join(s.tmp, 'truncated.dump');
  // The TOC is at the start, so `pg_restore --list` alone would accept this: only reading every byte catches it.
  fs.writeFileSync(bad, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
  const before = await catalogSnapshot(s.dst);
  const pre = await preflightOnly({ ...s.env, SRC_DATABASE_URL: undefined, SRC_DB_DUMP_PATH: bad });
  expect(pre).toMatchObject({ status: 'failed', rehearseExitCode: 2 });
  expect(pre.reason).toMatch(
    /truncated\.dump cannot be read to the end \(truncated or corrupt data\); make a new dump/,
  );
  expect(await catalogSnapshot(s.dst)).toEqual(before);
  expect(treeListing(s.dstAssets)).toEqual({});
  expectNoSecretIn(s, [pre]);
});

test('a missing SRC_DB_DUMP_PATH is refused with the fix (exit 2)', async () => {
  const s = await scenario();
  const pre = await preflightOnly({
    ...s.env,
    SRC_DATABASE_URL: undefined,
    SRC_DB_DUMP_PATH: path.join(s.tmp, 'nope.dump'),
  });
  expect(pre).toMatchObject({ status: 'failed', rehearseExitCode: 2 });
  expect(pre.reason).toMatch(/SRC_DB_DUMP_PATH=.*nope\.dump does not exist; point it at a pg_dump archive/);
  expect((await catalogSnapshot(s.dst)).relations).toEqual([]);
});
