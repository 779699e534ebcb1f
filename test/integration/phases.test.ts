/**
 * The copy phases end to end, through the real CLI against the sandbox (real pg_dump, pg_restore, psql, rsync):
 * formats, parallelism, an existing dump, and what state.json records.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { libpqEnv, parseDsn } from '../../lib/core/dsn.ts';
import { FIXTURE_TABLES } from '../../lib/sandbox/fixture.ts';
import type { CliResult, Scenario } from '../helpers/scenario.ts';

/**
 * Only the phases family (`--select phases`): these tests judge the copy phases (their state, logs and JUnit cases)
 * and the rows by direct queries; the check families have their own tests, in-process.
 */
const PHASES_ONLY = ['--select', 'phases'];
import {
  expectNoSecret,
  junitCases,
  latestJunit,
  rehearse,
  scenario,
  stateOf,
  treeListing,
} from '../helpers/scenario.ts';

/** Copy phases all ok; the exit code is 0, or 1 only while some check (not a phase) fails. */
function expectPhasesOk(
  s: Scenario,
  r: CliResult,
  expected: Record<string, 'ok' | 'skipped'> = { preflight: 'ok', dump: 'ok', restore: 'ok', mirror: 'ok' },
) {
  const state = stateOf(s);
  expect(state, r.output).toBeDefined();
  const got = Object.fromEntries(state!.phases.map((p) => [p.name, p.status]));
  expect(got, r.output).toEqual(expected);
  expect([0, 1], r.output).toContain(r.code);
  const cases = junitCases(latestJunit(s)).filter((c) => /^phase /.test(c.name));
  expect(
    cases.filter((c) => c.failed),
    r.output,
  ).toEqual([]);
  return state!;
}

async function expectSameRows(s: Scenario) {
  for (const t of FIXTURE_TABLES) {
    const a = await s.src.query(`SELECT count(*)::int AS n FROM ${t}`);
    const b = await s.dst.query(`SELECT count(*)::int AS n FROM ${t}`);
    expect(b.rows[0].n, t).toBe(a.rows[0].n);
  }
}

test('custom format: dump → single-transaction restore → analyzed target; rsync without ASSETS_DELETE keeps extra target files', async () => {
  const s = await scenario();
  fs.writeFileSync(path.join(s.dstAssets, 'stale-on-target.txt'), 'keep me');
  // No trailing slash on the source: its contents must still land at the target root.
  const r = await rehearse(PHASES_ONLY, { ...s.env, SRC_ASSETS_DIR: s.srcAssets.replace(/\/$/, '') });
  const state = expectPhasesOk(s, r);
  await expectNoSecret(s, r);
  await expectSameRows(s);

  expect(state.dump).toMatchObject({ format: 'custom', provided: false, sha256Of: 'file' });
  const dumpFile = state.dump!.path;
  expect(dumpFile.startsWith(s.workDir)).toBe(true);
  const { createHash } = await import('node:crypto');
  expect(state.dump!.sha256).toBe(createHash('sha256').update(fs.readFileSync(dumpFile)).digest('hex'));
  expect(state.dump!.toc!['TABLE']).toBe(FIXTURE_TABLES.length);
  expect(state.dump!.toc!['TABLE DATA']).toBeGreaterThanOrEqual(FIXTURE_TABLES.length);
  expect(state.dump!.toc!['EXTENSION']).toBe(1);
  expect(state.tools).toMatchObject({
    pg_dump: expect.stringMatching(/^\d+\.\d+/),
    pg_restore: expect.any(String),
    psql: expect.any(String),
    rsync: expect.any(String),
    'source server': expect.any(String),
    'target server': expect.any(String),
    'source vector': expect.any(String),
  });
  expect(state.config?.DST_DATABASE_URL).toMatch(/:\*\*\*@/);

  const restore = state.phases.find((p) => p.name === 'restore')!;
  expect(restore.details).toMatchObject({ mode: 'single-transaction', atomic: true });
  expect(JSON.stringify(restore.details)).toMatch(
    /pg_restore --no-owner --no-acl --single-transaction --exit-on-error/,
  );
  expect(JSON.stringify(restore.details)).toMatch(/PGPASSWORD=\*\*\*/);
  // ANALYZE ran: no table is left at reltuples = -1 ("never analyzed").
  const never = await s.dst.query(
    `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND reltuples < 0`,
  );
  expect(never.rows).toEqual([]);

  for (const phase of ['preflight', 'dump', 'restore', 'mirror'])
    expect(fs.existsSync(path.join(s.workDir, 'logs', `${phase}.log`)), phase).toBe(true);
  const mirrorLog = fs.readFileSync(path.join(s.workDir, 'logs', 'mirror.log'), 'utf8');
  expect(mirrorLog).toMatch(/--itemize-changes/);
  expect(mirrorLog).toMatch(/Number of regular files transferred/);

  const src = treeListing(s.srcAssets);
  const dst = treeListing(s.dstAssets);
  expect(dst['src-data']).toBeUndefined();
  expect(dst['stale-on-target.txt']).toBe(7);
  delete dst['stale-on-target.txt'];
  expect(dst).toEqual(src);
  expect(r.output).toMatch(/target: postgresql:\/\/[^ ]*:\*\*\*@/);
});

test('directory format with DUMP_JOBS=2 and RESTORE_JOBS=2 (parallel, said to be NOT atomic); ASSETS_DELETE=1 removes extra target files', async () => {
  const s = await scenario();
  fs.writeFileSync(path.join(s.dstAssets, 'stale-on-target.txt'), 'delete me');
  const r = await rehearse(PHASES_ONLY, {
    ...s.env,
    DUMP_FORMAT: 'directory',
    DUMP_JOBS: '2',
    RESTORE_JOBS: '2',
    ASSETS_DELETE: s.dstAssets,
    SRC_ASSETS_DIR: s.srcAssets + '/',
  });
  const state = expectPhasesOk(s, r);
  await expectNoSecret(s, r);
  await expectSameRows(s);
  expect(state.dump).toMatchObject({ format: 'directory', sha256Of: 'file-list' });
  expect(fs.statSync(state.dump!.path).isDirectory()).toBe(true);
  expect(fs.existsSync(path.join(state.dump!.path, 'toc.dat'))).toBe(true);
  const dump = state.phases.find((p) => p.name === 'dump')!;
  expect(String(dump.details?.command)).toMatch(/pg_dump --format=directory --no-owner --no-acl --jobs=2 /);
  const restore = state.phases.find((p) => p.name === 'restore')!;
  expect(restore.details).toMatchObject({ mode: 'parallel', atomic: false });
  expect(JSON.stringify(restore.details)).toMatch(/pg_restore --no-owner --no-acl --jobs=2 --exit-on-error/);
  expect(r.output).toMatch(/NOT atomic/);
  const mirror = state.phases.find((p) => p.name === 'mirror')!;
  expect(String(mirror.details?.command)).toMatch(/ --delete /);
  expect(mirror.details).toMatchObject({ deletions: 1 });
  expect(treeListing(s.dstAssets)).toEqual(treeListing(s.srcAssets));
});

test('SRC_DB_DUMP_PATH: an existing custom-format dump is validated and restored, not dumped again', async () => {
  const s = await scenario();
  const dump = path.join(s.tmp, 'existing.dump');
  execFileSync('pg_dump', ['--format=custom', '--no-owner', '--no-acl', `--file=${dump}`], {
    env: { PATH: process.env.PATH ?? '', ...libpqEnv(parseDsn(s.src.url)) },
  });
  // No source DSN at all: the dump is the only input (the checks then read the target only).
  const r = await rehearse(PHASES_ONLY, { ...s.env, SRC_DATABASE_URL: undefined, SRC_DB_DUMP_PATH: dump });
  const state = expectPhasesOk(s, r);
  await expectNoSecret(s, r);
  await expectSameRows(s);
  expect(state.dump).toMatchObject({ path: dump, format: 'custom', provided: true });
  expect(state.dump!.toc!['TABLE']).toBe(FIXTURE_TABLES.length);
  expect(fs.existsSync(path.join(s.workDir, 'source.dump'))).toBe(false);
  expect(state.tools.pg_dump).toBeUndefined(); // not needed, not required
});
