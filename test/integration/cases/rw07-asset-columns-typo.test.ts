/**
 * rw07 (../shared/cases): ASSET_COLUMNS='ugc_asset.storage_path:file' while the table is `ugc_assets`, and two files
 * deleted from the target's ugc/ after the copy. Expected: not green. A full run is refused by preflight (exit 2)
 * naming the column and the table it probably meant; after a copy by hand, --verify-only fails every asset check of
 * that column naming it, and the checks that would have judged nothing (unreferenced files, sampled sha256) are
 * "not checked" — never a pass.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { migrateByHand } from '../../helpers/scenario.ts';
import {
  buildCaseAssets,
  caseNamed,
  caseScenario,
  failedNames,
  failureText,
  loadCaseSql,
  rehearseCase,
} from '../../helpers/real-world-case.ts';

const ENV = { ASSET_COLUMNS: 'ugc_asset.storage_path:file' };

test('rw07: a misspelt ASSET_COLUMNS table is a configuration error (exit 2 in preflight), and failing checks after the copy', async () => {
  const s = await caseScenario();
  await loadCaseSql(s, 'rw07-asset-columns-typo.sql');
  buildCaseAssets(s, 'rw07-asset-columns-typo.assets.sh');

  const full = await rehearseCase(s, [], ENV);
  expect(full.code, full.output).toBe(2);
  expect(full.output).toMatch(
    /ASSET_COLUMNS names public\.ugc_asset\.storage_path, but table public\.ugc_asset does not exist in the source \(did you mean ugc_assets\?\)/,
  );

  await migrateByHand(s);
  fs.rmSync(path.join(s.dstAssets, 'ugc/2/f.jpg'));
  fs.rmSync(path.join(s.dstAssets, 'ugc/4/f.jpg'));
  const r = await rehearseCase(s, ['--verify-only'], ENV);
  expect(r.code, r.output).toBe(1);
  const tree = 'asset census unreferenced files under DST_ASSETS_DIR';
  const sample = 'asset census sampled files size and sha256 (source = target)';
  expect(failedNames(r.cases)).toEqual(
    [
      'asset ugc_asset.storage_path',
      'path prefix ugc_asset.storage_path',
      'asset census ugc_asset.storage_path',
      tree,
      sample,
      // the two files deleted on the target, seen by the whole-tree comparison with the source
      'asset census every file size, mtime (source = target)',
    ].sort(),
  );
  for (const n of [
    'asset ugc_asset.storage_path',
    'path prefix ugc_asset.storage_path',
    'asset census ugc_asset.storage_path',
  ])
    expect(failureText(caseNamed(r.cases, n)), n).toMatch(
      /ASSET_COLUMNS names this column, but table public\.ugc_asset does not exist in the target \(did you mean ugc_assets\?\); fix ASSET_COLUMNS/,
    );
  expect(failureText(caseNamed(r.cases, tree))).toMatch(
    /not checked: .*ASSET_COLUMNS names ugc_asset\.storage_path, which does not exist/,
  );
  expect(failureText(caseNamed(r.cases, sample))).toMatch(/not checked: .*no sampled file/);

  // With the name fixed, the two deleted files are found missing by the sampled check and the census.
  const fixed = await rehearseCase(s, ['--verify-only'], { ASSET_COLUMNS: 'ugc_assets.storage_path:file' });
  expect(fixed.code, fixed.output).toBe(1);
  expect(failedNames(fixed.cases)).toEqual(
    [
      'asset census sampled files size and sha256 (source = target)',
      'asset census every file size, mtime (source = target)',
      'asset census ugc_assets.storage_path',
      'asset ugc_assets.storage_path /app/.data/ugc/2/f.jpg',
      'asset ugc_assets.storage_path /app/.data/ugc/4/f.jpg',
    ].sort(),
  );
  expect(failureText(caseNamed(fixed.cases, 'asset census ugc_assets.storage_path'))).toMatch(
    /2 of 5 paths do not resolve .*\/app\/\.data\/ugc\/2\/f\.jpg .*\/app\/\.data\/ugc\/4\/f\.jpg/,
  );
});
