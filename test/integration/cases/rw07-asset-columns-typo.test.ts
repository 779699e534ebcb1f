/**
 * rw07 (../shared/cases): ASSET_COLUMNS='ugc_asset.storage_path:file' while the table is `ugc_assets`, and two files
 * deleted from the target's ugc/ after the copy. Expected: not green. A full run is refused by preflight (exit 2)
 * naming the column and the table it probably meant; after a copy by hand, --verify-only is refused by the same
 * preflight against the target. With the name fixed, the two deleted files are found.
 */
// One whole run: the `--verify-only` refusal (exit 2 through the CLI, the reason on its console, JUnit's one failing
// `phase preflight`: facts of the whole run). The full run's refusal is asserted on its preflight gate in-process
// (test/helpers/pipeline.ts preflightOnly: the reason the CLI prints and its exit 2), the fixed name's verdicts on the
// check families in-process.
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { verifyInProcess } from '../../helpers/cases.ts';
import { describe, failedNames as failedChecks, failureOf } from '../../helpers/family.ts';
import { preflightOnly } from '../../helpers/pipeline.ts';
import { migrateByHand } from '../../helpers/scenario.ts';
import {
  buildCaseAssets,
  caseScenario,
  failedNames,
  loadCaseSql,
  rehearseCase,
} from '../../helpers/real-world-case.ts';

const ENV = { ASSET_COLUMNS: 'ugc_asset.storage_path:file' };

test('rw07: a misspelt ASSET_COLUMNS table is a configuration error (exit 2 in preflight), and failing checks after the copy', async () => {
  const s = await caseScenario();
  await loadCaseSql(s, 'rw07-asset-columns-typo.sql');
  buildCaseAssets(s, 'rw07-asset-columns-typo.assets.sh');

  // The full run's refusal is its preflight gate's (in-process: the same reason, the same exit 2).
  const full = await preflightOnly({ ...s.env, ...ENV }, 'full');
  expect(full, full.reason).toMatchObject({ status: 'failed', rehearseExitCode: 2 });
  expect(full.reason).toMatch(
    /ASSET_COLUMNS names public\.ugc_asset\.storage_path, but table public\.ugc_asset does not exist in the source \(did you mean ugc_assets\?\)/,
  );

  await migrateByHand(s);
  fs.rmSync(path.join(s.dstAssets, 'ugc/2/f.jpg'));
  fs.rmSync(path.join(s.dstAssets, 'ugc/4/f.jpg'));
  // A checks-only run is refused by the same preflight, now against the target (one failing test, exit 2).
  const r = await rehearseCase(s, ['--verify-only'], ENV);
  expect(r.code, r.output).toBe(2);
  expect(r.output).toMatch(
    /ASSET_COLUMNS names public\.ugc_asset\.storage_path, but table public\.ugc_asset does not exist in the target \(did you mean ugc_assets\?\)/,
  );
  expect(failedNames(r.cases)).toEqual(['phase preflight']);

  // With the name fixed, the two deleted files are found missing by the sampled check and the census.
  const fixed = await verifyInProcess(s, { ASSET_COLUMNS: 'ugc_assets.storage_path:file' });
  expect(failedChecks(fixed), describe(fixed)).toEqual(
    [
      'asset census sampled files size and sha256 (source = target)',
      'asset census every file size, mtime (source = target)',
      'asset census ugc_assets.storage_path',
      'asset ugc_assets.storage_path /app/.data/ugc/2/f.jpg',
      'asset ugc_assets.storage_path /app/.data/ugc/4/f.jpg',
    ].sort(),
  );
  expect(failureOf(fixed, 'asset census ugc_assets.storage_path')).toMatch(
    /2 of 5 paths do not resolve .*\/app\/\.data\/ugc\/2\/f\.jpg .*\/app\/\.data\/ugc\/4\/f\.jpg/,
  );
});
