/**
 * `rehearse --dry-run`: the plan (every command in order, redacted, and the checks), and proof that it writes nothing:
 * target catalog, target assets, WORK_DIR and REPORTS_DIR all unchanged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { FAMILIES } from '../../lib/checks/registry.ts';
import {
  catalogSnapshot,
  expectNoSecret,
  junitCases,
  latestJunit,
  rehearse,
  scenario,
  treeListing,
} from '../helpers/scenario.ts';

test('--dry-run prints the ordered, redacted commands and the checks, and writes nothing anywhere', async () => {
  const s = await scenario();
  fs.writeFileSync(path.join(s.dstAssets, 'already-there.txt'), 'x');
  const catalogBefore = await catalogSnapshot(s.dst);
  const assetsBefore = treeListing(s.dstAssets);
  const tmpBefore = treeListing(s.tmp);
  const r = await rehearse(['--dry-run'], { ...s.env, ASSETS_DELETE: s.dstAssets, DST_DROP_SCHEMA: '1' });
  expect(r.code, r.output).toBe(0);

  // Nothing written: no WORK_DIR, no reports, same target catalog and assets, nothing new in the scenario's scratch dir.
  expect(fs.existsSync(s.workDir)).toBe(false);
  expect(fs.existsSync(s.reportsDir)).toBe(false);
  expect(await catalogSnapshot(s.dst)).toEqual(catalogBefore);
  expect(treeListing(s.dstAssets)).toEqual(assetsBefore);
  expect(treeListing(s.tmp)).toEqual(tmpBefore);

  // The exact commands, in phase order, with the password redacted.
  const out = r.stdout;
  const at = (re: RegExp) => {
    const i = out.search(re);
    expect(i, `${re} in\n${out}`).toBeGreaterThanOrEqual(0);
    return i;
  };
  const order = [
    at(/preflight \(read-only; run now\):[\s\S]*?would pass/),
    at(/PGPASSWORD=\*\*\* .*pg_dump --format=custom --no-owner --no-acl --file=\S+\/work\/source\.dump\.partial/),
    at(/pg_restore --list \S+\/work\/source\.dump/),
    at(/pg_restore --no-owner --no-acl --file=- \S+source\.dump \| PGHOST=\S+ .*PGPASSWORD=\*\*\* .*psql /),
    at(/# ANALYZE every relation \(as a database-wide ANALYZE would\) on RESTORE_ANALYZE_JOBS=auto connections/),
    // DST_ASSETS_DIR already holds a file: the mirror compares content (ASSETS_MIRROR_CHECKSUM=auto)
    at(/# content check: DST_ASSETS_DIR is not empty: content compared \(rsync --checksum\)/),
    at(
      /rsync -a --sparse --hard-links --safe-links --info=name1 --checksum --partial-dir=.rsync-partial --numeric-ids --itemize-changes --stats --timeout=\d+ --delete \S+src-data\/ \S+dst-data\//,
    ),
    at(/Checks that would run/),
  ];
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  expect(out).toMatch(
    /drop what the last restore created \(the marker's schemas and extensions; a DBA's extension is kept\)/,
  );
  // What the destructive switches would remove, listed before anything runs.
  expect(out).toMatch(
    /ASSETS_DELETE would delete 1 entries \(files and directories\) in \S+dst-data \(rsync --dry-run\), e\.g\. already-there\.txt/,
  );
  expect(out).toMatch(/DST_DROP_SCHEMA: public of "\w+" hold(?:s|\(s\)) no table/);
  expect(out).toMatch(/row count public\.users/);
  // Every family of the registry, each with its checks (names as the specs give them).
  for (const f of FAMILIES) expect(out, f.id).toContain(`  ${f.label} [${f.id}]: `);
  expect(out).toMatch(/^ {4}orphans ugc_assets\(user_id\) -> users\(id\)$/m);
  expect(out).toMatch(/^ {4}checksum public\.users$/m);
  expect(out).toMatch(/^ {4}schema indexes$/m);
  expect(out).toMatch(/^ {4}phase mirror$/m);
  await expectNoSecret(s, r);
});

test('--dry-run says when the preflight would refuse (exit 2), still writing nothing', async () => {
  const s = await scenario();
  await s.dst.query('CREATE TABLE public.users (id int)');
  const before = await catalogSnapshot(s.dst);
  const r = await rehearse(['--dry-run'], s.env);
  expect(r.code, r.output).toBe(2);
  expect(r.stdout).toMatch(/WOULD REFUSE \(exit 2\): .*refused before any write/);
  expect(r.stdout).toMatch(/target schema public is not empty/);
  expect(fs.existsSync(s.workDir)).toBe(false);
  expect(fs.existsSync(s.reportsDir)).toBe(false);
  expect(await catalogSnapshot(s.dst)).toEqual(before);
  await expectNoSecret(s, r);
});

test('an empty source with the default ASSET_COLUMNS: the dry-run says the asset columns are skipped, as the run does', async () => {
  const s = await scenario({ fixture: false });
  const dry = await rehearse(['--dry-run'], s.env);
  expect(dry.code, dry.output).toBe(0);
  expect(dry.stdout).not.toMatch(/the restore creates it/);
  const skipped = [
    ...dry.stdout.matchAll(/^ {4}path prefix (\S+) \(.*not in the source either.*would be reported as skipped\)$/gm),
  ]
    .map((m) => m[1])
    .sort();
  expect(skipped.length, dry.stdout).toBeGreaterThan(0);
  // The real run (its path-prefix family: what this test compares): the same columns are skipped, none checked.
  const r = await rehearse(['--select', 'path-prefix'], s.env);
  const cases = junitCases(latestJunit(s)).filter((c) => c.name.startsWith('path prefix '));
  expect(
    cases.filter((c) => !c.skipped).map((c) => c.name),
    r.output.slice(-3000),
  ).toEqual([]);
  expect(cases.map((c) => c.name.split(' ')[2]).sort()).toEqual(skipped);
});
