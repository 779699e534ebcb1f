/**
 * rw32: a source tree with two legacy file names in Latin-1 bytes (not valid UTF-8). After a green copy one of them
 * is deleted on the target. Expected: the every-file census counts every file (22, not the 20 whose names decode)
 * and names the missing one, escaped (`legacy/caf\xE9.jpg`); the copy itself, untouched, is green.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { failureOf, runFamilies } from '../../helpers/family.ts';
import { rehearse, scenario } from '../../helpers/scenario.ts';
import { loadCaseSql, runCaseScript } from '../../helpers/case-files.ts';

const EVERY = 'asset census every file size, mtime (source = target)';

test('rw32: names that are not UTF-8 are counted (22 files) and the missing one is named escaped', async () => {
  const s = await scenario({ fixture: false });
  loadCaseSql(s.src, 'rw32-non-utf8-names.sql');
  runCaseScript('rw32-non-utf8-names.assets.sh', s.srcAssets);
  const env = { HEALTH_CHECK: '0', ASSET_COLUMNS: 'ugc_assets.storage_path:file' };
  const r = await rehearse([], { ...s.env, ...env });
  expect(r.code, r.output).toBe(0);

  const green = await runFamilies(s, ['asset-census'], { env });
  const every = green.find((o) => o.name === EVERY)!;
  expect(every.verdict).toEqual({ status: 'pass' });
  expect(every.notes.find((n) => n.type === 'evidence')?.message).toMatch(
    /^22 source files compared with 22 target files .* 0 differ/,
  );

  // delete the Latin-1 "café" (bytes 63 61 66 E9) on the target; its name cannot be written as a JS string
  const cafe = Buffer.concat([Buffer.from(`${s.dstAssets}/legacy/caf`), Buffer.from([0xe9]), Buffer.from('.jpg')]);
  fs.rmSync(cafe as unknown as string);
  expect(fs.readdirSync(path.join(s.dstAssets, 'legacy'))).toHaveLength(1);
  const red = await runFamilies(s, ['asset-census'], { env });
  expect(red.filter((o) => o.verdict && o.verdict.status !== 'pass').map((o) => o.name)).toEqual([EVERY]);
  expect(failureOf(red, EVERY)).toMatch(/1 of 22 files differ .*: legacy\/caf\\xE9\.jpg: missing on the target/);
  expect(failureOf(red, EVERY)).not.toContain('\ufffd');
});
