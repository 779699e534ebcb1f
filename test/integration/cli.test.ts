/**
 * The rehearse CLI surface: --help generated from the config table, usage errors (exit 2), --verify-only (no copy
 * phases, target untouched).
 */
import { expect, test } from 'vitest';
import { VARS } from '../../lib/core/config.ts';
import {
  catalogSnapshot,
  expectNoSecret,
  migrateByHand,
  phaseStatuses,
  rehearse,
  scenario,
  treeListing,
} from '../helpers/scenario.ts';

test('--help lists every option, every environment variable with its default, and the exit codes (exit 0, no env needed)', async () => {
  const r = await rehearse(['--help'], {});
  expect(r.code, r.output).toBe(0);
  for (const flag of ['--help', '--version', '--dry-run', '--list', '--verify-only', '--rerun-failed'])
    expect(r.stdout).toContain(flag);
  for (const v of VARS) {
    expect(r.stdout, v.name).toContain(v.name);
    if (v.default) expect(r.stdout, `${v.name} default`).toContain(v.default);
  }
  expect(r.stdout).toMatch(
    /0 all checks passed, 1 a check failed, 2 usage\/configuration error.*\n.*3 a copy phase failed/,
  );
});

test('usage errors exit 2 before anything is touched: unknown option, two modes, a SQLAlchemy DSN', async () => {
  const s = await scenario();
  const unknown = await rehearse(['--frobnicate'], s.env);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/unknown option "--frobnicate"; see npm run rehearse -- --help/);
  const two = await rehearse(['--dry-run', '--verify-only'], s.env);
  expect(two.code).toBe(2);
  expect(two.stderr).toMatch(/--dry-run and --verify-only cannot be combined/);
  const sqlalchemy = await rehearse([], {
    ...s.env,
    DST_DATABASE_URL: s.dst.url.replace('postgresql://', 'postgresql+psycopg://'),
  });
  expect(sqlalchemy.code).toBe(2);
  expect(sqlalchemy.stderr).toMatch(/postgresql:\/\/rehearsal:\*\*\*@/);
  for (const r of [unknown, two, sqlalchemy]) await expectNoSecret(s, r);
  expect(treeListing(s.tmp)).not.toHaveProperty('work');
  expect(treeListing(s.tmp)).not.toHaveProperty('reports');
});

test('--verify-only runs no copy phase (recorded as skipped; only the read-only preflight) and leaves the target as it is', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const before = await catalogSnapshot(s.dst);
  const assets = treeListing(s.dstAssets);
  const r = await rehearse(['--verify-only'], s.env);
  expect([0, 1], r.output).toContain(r.code);
  expect(phaseStatuses(s)).toEqual({ preflight: 'ok', dump: 'skipped', restore: 'skipped', mirror: 'skipped' });
  expect(await catalogSnapshot(s.dst)).toEqual(before);
  expect(treeListing(s.dstAssets)).toEqual(assets);
  await expectNoSecret(s, r);
});

test('--version prints the tool, node, its npm dependencies and the client tools found (exit 0, no env needed)', async () => {
  const r = await rehearse(['--version'], {});
  expect(r.code, r.output).toBe(0);
  expect(r.stdout).toMatch(/^migration-rehearsal \d+\.\d+\.\d+$/m);
  for (const name of [
    'node',
    'vitest',
    'pg',
    'zx',
    'execa',
    'fast-xml-parser',
    'pg_dump',
    'pg_restore',
    'psql',
    'rsync',
  ])
    expect(r.stdout, name).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
  expect(r.stdout).toMatch(/^ {2}pg_dump +pg_dump \(PostgreSQL\) \d+/m);
});

test('a mistyped contract variable is named with the right one (a warning: the run goes on)', async () => {
  const r = await rehearse(['--dry-run'], { ROWCOUNT_TIMEOUT: '5', CHECKSUMS: 'off' });
  expect(r.code).toBe(2); // no DST_DATABASE_URL: the usual configuration error, after the warnings
  expect(r.stderr).toMatch(/warning: CHECKSUMS is not a variable this tool reads \(ignored\); did you mean CHECKSUM\?/);
  expect(r.stderr).toMatch(/warning: ROWCOUNT_TIMEOUT is not a variable .*; did you mean ROWCOUNT_TIMEOUT_MS\?/);
  expect(r.stderr).toMatch(/DST_DATABASE_URL is not set/);
});
