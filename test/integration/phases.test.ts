/**
 * The copy phases against the sandbox (real pg_dump, pg_restore, psql, rsync): formats, parallelism, an existing
 * dump, and what each phase records. They run in-process (test/helpers/pipeline.ts copyInProcess: the same steps, in
 * the same order, recorded by the same `runPhase` as a rehearsal's global setup), and the tests judge the phase results
 * (what state.json records of them), the phase logs (every console line of a phase, redacted: `say` writes both), the
 * target's rows and the asset tree. Nothing here needs a whole CLI run: a green rehearsal's state.json, manifest and
 * JUnit are versions-matrix's (13 → 15), a failed phase's exit code and the phases skipped after it hardening-faults'
 * (a dump failing on a full WORK_DIR: exit 3, the restore recorded as skipped).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { effectiveConfig } from '../../lib/core/config-printout.ts';
import { libpqEnv, parseDsn } from '../../lib/core/dsn.ts';
import { detailsOf } from '../../lib/phases/phase.ts';
import type { PhaseName, PhaseResult } from '../../lib/phases/phase-types.ts';
import { NOT_ATOMIC_WARNING } from '../../lib/phases/restore.ts';
import { FIXTURE_TABLES } from '../../lib/sandbox/fixture.ts';
import { configOf, copyWithState, expectCopied, expectNoSecretIn } from '../helpers/pipeline.ts';
import { scenario, treeListing, type Scenario } from '../helpers/scenario.ts';

async function expectSameRows(s: Scenario) {
  for (const t of FIXTURE_TABLES) {
    const a = await s.src.query(`SELECT count(*)::int AS n FROM ${t}`);
    const b = await s.dst.query(`SELECT count(*)::int AS n FROM ${t}`);
    expect(b.rows[0].n, t).toBe(a.rows[0].n);
  }
}

/** The archive's TOC by entry type, as the dump phase records it (state.json's `dump.toc`). */
function tocOf(dump: PhaseResult): Record<string, number> {
  return dump.details?.toc as Record<string, number>;
}

function phaseLog(s: Scenario, phase: PhaseName): string {
  return fs.readFileSync(path.join(s.workDir, 'logs', `${phase}.log`), 'utf8');
}

test('custom format: dump → single-transaction restore → analyzed target; rsync without ASSETS_DELETE keeps extra target files', async () => {
  const s = await scenario();
  fs.writeFileSync(path.join(s.dstAssets, 'stale-on-target.txt'), 'keep me');
  // No trailing slash on the source: its contents must still land at the target root.
  const env = { ...s.env, SRC_ASSETS_DIR: s.srcAssets.replace(/\/$/, '') };
  const { results: phases, state } = await copyWithState(env);
  const { preflight, dump, restore } = expectCopied(phases);
  expectNoSecretIn(s, phases);
  await expectSameRows(s);

  // The archive the tool made (state.json's `dump`: custom format, not provided, the sha256 of the file itself).
  expect(state.dump).toMatchObject({ format: 'custom', provided: false, sha256Of: 'file' });
  const dumpFile = String(dump.details?.renamedTo);
  expect(state.dump!.path).toBe(dumpFile);
  expect(state.dump!.sha256).toBe(dump.details?.sha256);
  expect(dumpFile.startsWith(s.workDir)).toBe(true);
  expect(dump.reason).toMatch(new RegExp(`^custom archive ${dumpFile}: `));
  expect(dump.details?.provided).toBeUndefined();
  expect(dump.details?.sha256).toBe(createHash('sha256').update(fs.readFileSync(dumpFile)).digest('hex'));
  const toc = tocOf(dump);
  expect(toc['TABLE']).toBe(FIXTURE_TABLES.length);
  expect(toc['TABLE DATA']).toBeGreaterThanOrEqual(FIXTURE_TABLES.length);
  expect(toc['EXTENSION']).toBe(1);
  // The tools the preflight resolved (state.json's `tools`).
  expect(detailsOf(preflight).tools).toMatchObject({
    pg_dump: expect.stringMatching(/^\d+\.\d+/),
    pg_restore: expect.any(String),
    psql: expect.any(String),
    rsync: expect.any(String),
    'source server': expect.any(String),
    'target server': expect.any(String),
    'source vector': expect.any(String),
  });
  // The run's configuration as state.json records it, and the target as the preflight says it on the console.
  expect(effectiveConfig(configOf(env)).DST_DATABASE_URL).toMatch(/:\*\*\*@/);
  expect(phaseLog(s, 'preflight')).toMatch(/target: postgresql:\/\/[^ ]*:\*\*\*@/);

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
  const mirrorLog = phaseLog(s, 'mirror');
  expect(mirrorLog).toMatch(/--itemize-changes/);
  expect(mirrorLog).toMatch(/Number of regular files transferred/);

  const src = treeListing(s.srcAssets);
  const dst = treeListing(s.dstAssets);
  expect(dst['src-data']).toBeUndefined();
  expect(dst['stale-on-target.txt']).toBe(7);
  delete dst['stale-on-target.txt'];
  expect(dst).toEqual(src);
});

test('directory format with DUMP_JOBS=2 and RESTORE_JOBS=2 (parallel, said to be NOT atomic); ASSETS_DELETE=1 removes extra target files', async () => {
  const s = await scenario();
  fs.writeFileSync(path.join(s.dstAssets, 'stale-on-target.txt'), 'delete me');
  const { results: phases, state } = await copyWithState({
    ...s.env,
    DUMP_FORMAT: 'directory',
    DUMP_JOBS: '2',
    RESTORE_JOBS: '2',
    ASSETS_DELETE: s.dstAssets,
    SRC_ASSETS_DIR: s.srcAssets + '/',
  });
  const { dump, restore, mirror } = expectCopied(phases);
  expectNoSecretIn(s, phases);
  await expectSameRows(s);
  const dumpDir = String(dump.details?.renamedTo);
  // state.json's `dump`: a directory archive, hashed by its file list.
  expect(state.dump).toMatchObject({ path: dumpDir, format: 'directory', sha256Of: 'file-list' });
  expect(state.dump!.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(dump.reason).toMatch(new RegExp(`^directory archive ${dumpDir}: `));
  expect(fs.statSync(dumpDir).isDirectory()).toBe(true);
  expect(fs.existsSync(path.join(dumpDir, 'toc.dat'))).toBe(true);
  expect(String(dump.details?.command)).toMatch(/pg_dump --format=directory --no-owner --no-acl --jobs=2 /);
  expect(restore.details).toMatchObject({ mode: 'parallel', atomic: false });
  expect(JSON.stringify(restore.details)).toMatch(/pg_restore --no-owner --no-acl --jobs=2 --exit-on-error/);
  // Said loudly: in the phase's reason (the summary line) and as its own line (the console's, kept in restore.log).
  expect(restore.reason).toMatch(/\(parallel, 2 jobs, NOT atomic\)/);
  expect(phaseLog(s, 'restore')).toContain(NOT_ATOMIC_WARNING);
  expect(String(mirror.details?.command)).toMatch(/ --delete /);
  expect(mirror.details).toMatchObject({ deletions: 1 });
  expect(treeListing(s.dstAssets)).toEqual(treeListing(s.srcAssets));
});

test('SRC_DB_DUMP_PATH: an existing custom-format dump is validated and restored, not dumped again', async () => {
  const s = await scenario();
  const dumpFile = path.join(s.tmp, 'existing.dump');
  execFileSync('pg_dump', ['--format=custom', '--no-owner', '--no-acl', `--file=${dumpFile}`], {
    env: { PATH: process.env.PATH ?? '', ...libpqEnv(parseDsn(s.src.url)) },
  });
  // No source DSN at all: the dump is the only input (the checks then read the target only).
  const { results: phases, state } = await copyWithState({
    ...s.env,
    SRC_DATABASE_URL: undefined,
    SRC_DB_DUMP_PATH: dumpFile,
  });
  const { preflight, dump, restore } = expectCopied(phases);
  expectNoSecretIn(s, phases);
  await expectSameRows(s);
  expect(dump.details).toMatchObject({ provided: true });
  expect(state.dump).toMatchObject({ path: dumpFile, format: 'custom', provided: true });
  expect(dump.reason).toMatch(
    new RegExp(`^existing dump \\(SRC_DB_DUMP_PATH\\), not dumped again: custom archive ${dumpFile}: `),
  );
  expect(tocOf(dump)['TABLE']).toBe(FIXTURE_TABLES.length);
  expect(restore.reason).toContain(`restored ${dumpFile} (single-transaction)`);
  expect(fs.existsSync(path.join(s.workDir, 'source.dump'))).toBe(false);
  expect(detailsOf(preflight).tools?.pg_dump).toBeUndefined(); // not needed, not required
});
