/**
 * rw35: other spellings of the same file. A `file` path stored with a trailing '/' is broken alike in the source (the
 * same stored value): a pre-existing defect, a warning, not a new one. The near-twin hint finds a case-only twin
 * (`D.JPG` for `d.jpg`) and a trailing-blank twin (`e.jpg ` for `e.jpg`); both stay red (the target serves neither).
 */
import { expect, test } from 'vitest';
import { scenario } from '../../helpers/scenario.ts';
import { loadCaseSql, runCaseScript } from '../../helpers/case-files.ts';
import { annotations, caseNamed, failureText, rehearseCase } from '../../helpers/real-world-case.ts';

test('rw35: a file path ending in "/" is pre-existing (warning); case-only and trailing-blank twins are named', async () => {
  const s = await scenario({ fixture: false });
  loadCaseSql(s.src, 'rw35-path-twins.sql');
  runCaseScript('rw35-path-twins.assets.sh', s.srcAssets);
  const r = await rehearseCase(s, [], {
    HEALTH_CHECK: '0',
    ASSET_COLUMNS: 'ugc_assets.storage_path:file,gallery_items.storage_dir:dir',
    ASSETS_SAMPLE_N: '100',
  });
  expect(r.code, r.output).toBe(1);

  const census = caseNamed(r.cases, 'asset census ugc_assets.storage_path');
  expect(census.failed).toBe(true);
  const msg = failureText(census);
  expect(msg).toMatch(/2 of \d+ paths do not resolve under .* \(besides 1 already dangling in the source\)/);
  expect(msg).toMatch(/ugc\/4\/D\.JPG .*name differs only in letter case .*: ugc\/4\/d\.jpg/);
  expect(msg).toMatch(/ugc\/5\/e\.jpg  .*name differs only in blanks .*: ugc\/5\/e\.jpg/);
  expect(annotations(census).join('\n')).toMatch(
    /warning: .*1 dangling path\(s\) already dangling in the source tree, e\.g\. \/app\/\.data\/ugc\/2\/b\.jpg\/ .*a file exists at the path without the trailing "\/": ugc\/2\/b\.jpg/,
  );
  expect(caseNamed(r.cases, 'asset census gallery_items.storage_dir').failed).toBe(false);

  // the sampled check agrees: the trailing '/' is a warning, the twins are red with their hint
  const slash = caseNamed(r.cases, 'asset ugc_assets.storage_path /app/.data/ugc/2/b.jpg/');
  expect(slash.failed).toBe(false);
  expect(annotations(slash).join('\n')).toMatch(/warning: .*already missing in the source/);
  expect(failureText(caseNamed(r.cases, 'asset ugc_assets.storage_path /app/.data/ugc/4/D.JPG'))).toMatch(
    /differs only in letter case/,
  );
  expect(failureText(caseNamed(r.cases, 'asset ugc_assets.storage_path /app/.data/ugc/5/e.jpg '))).toMatch(
    /differs only in blanks/,
  );
  // the prefix glued to the next segment is the path-prefix check's (never resolved)
  expect(caseNamed(r.cases, 'path prefix ugc_assets.storage_path').failed).toBe(true);
  expect(caseNamed(r.cases, 'asset census every file size, mtime (source = target)').failed).toBe(false);
});
