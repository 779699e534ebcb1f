/**
 * rw08 (../shared/cases): stored paths the sampled asset check and the census must read alike. Expected: the `//`
 * path (id 5) is found by both; the NFD name (id 1) and the percent-encoded name (id 7) stay red with a message
 * saying that a file differing only in Unicode normalization / percent-encoding exists; the symlink leaving the tree
 * (id 2) is reported, never read; the sparse file and the hard links arrive without blowing up the target's disk use.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import {
  annotations,
  buildCaseAssets,
  caseNamed,
  caseScenario,
  failedNames,
  failureText,
  loadCaseSql,
  rehearseCase,
} from '../../helpers/real-world-case.ts';

const P = '/app/.data';
const asset = (p: string) => `asset ugc_assets.storage_path ${p}`;
const NFC = `${P}/ugc/1/caf\u00e9.jpg`;
const CENSUS = 'asset census ugc_assets.storage_path';
const SAMPLE = 'asset census sampled files size and sha256 (source = target)';

test('rw08: one path resolver for the sampled check and the census; near twins named; symlink out reported; sparse and hard links kept', async () => {
  const s = await caseScenario();
  await loadCaseSql(s, 'rw08-paths.sql');
  const outside = path.join(s.tmp, 'outside-volume');
  buildCaseAssets(s, 'rw08-paths.assets.sh', [outside]);

  const r = await rehearseCase(s, [], {
    ASSET_COLUMNS: 'ugc_assets.storage_path:file,gallery_items.storage_dir:dir',
  });
  expect(r.code, r.output).toBe(1);
  expect(failedNames(r.cases)).toEqual(
    [asset(NFC), asset(`${P}/ugc/2/photo.jpg`), asset(`${P}/ugc/7/my%20photo.jpg`), CENSUS].sort(),
  );

  // id 5: found by both.
  expect(caseNamed(r.cases, asset(`${P}//ugc/5/double-slash.jpg`)).failed).toBe(false);
  const census = failureText(caseNamed(r.cases, CENSUS));
  expect(census).not.toMatch(/double-slash/);
  expect(census).toMatch(/3 of 9 paths do not resolve/);

  // ids 1 and 7: red, with the near twin named.
  expect(failureText(caseNamed(r.cases, asset(NFC)))).toMatch(
    /missing: .* a file whose name differs only in Unicode normalization \(the file on disk is NFD\) exists: .*ugc\/1\/cafe\u0301\.jpg/,
  );
  expect(failureText(caseNamed(r.cases, asset(`${P}/ugc/7/my%20photo.jpg`)))).toMatch(
    /a file whose name differs only in percent-encoding \(the stored path is percent-encoded, the file name is not\) exists: .*ugc\/7\/my photo\.jpg/,
  );
  expect(census).toMatch(
    /caf\u00e9\.jpg \(expected a file, found nothing \(missing\); a file whose name differs only in Unicode normalization/,
  );
  expect(census).toMatch(
    /my%20photo\.jpg \(expected a file, found nothing \(missing\); a file whose name differs only in percent-encoding/,
  );

  // id 2: the symlink to a volume outside the tree is not copied (rsync --safe-links), the mirror names it, and the
  // stored path is red on the target (nothing there); its target is never read.
  expect(r.output).toMatch(/\[mirror\].*ugc\/2\/photo\.jpg/);
  const sym = caseNamed(r.cases, asset(`${P}/ugc/2/photo.jpg`));
  expect(sym.failed).toBe(true);
  expect(annotations(sym).join('\n')).not.toMatch(/read the first/);
  expect(census).toMatch(/ugc\/2\/photo\.jpg \(expected a file, found nothing/);

  // Sparse file and hard links: the target's disk use stays near the source's (not 200 MiB more).
  const du = (d: string) => Number(execFileSync('du', ['-sk', d], { encoding: 'utf8' }).split('\t')[0]);
  const [srcKb, dstKb] = [du(s.srcAssets), du(s.dstAssets)];
  expect(dstKb, `target ${dstKb} KiB, source ${srcKb} KiB`).toBeLessThan(srcKb + 1024);
  const ino = (f: string) => fs.statSync(path.join(s.dstAssets, f)).ino;
  expect(ino('ugc/9/hard1.bin')).toBe(ino('ugc/9/hard2.bin'));
  expect(fs.statSync(path.join(s.dstAssets, 'ugc/8/sparse.bin')).size).toBe(200 * 1024 * 1024 + 4);
});
