/**
 * rw34: a directory-kind asset column (galleries). After a green rehearsal a moderator deletes one image in the source
 * and another is renamed; the second rehearsal (DST_DROP_SCHEMA=1, no ASSETS_DELETE) keeps both on staging. Expected:
 * the every-file census names gallery/4/2.jpg and gallery/7/3.jpg as files staging has and the source no longer has,
 * as a warning naming ASSETS_DELETE, with a byte-exact full list (rclone's --missing-on-src) in the run's folder; the
 * renamed file, new in the source, is copied (nothing is red).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { rehearse, scenario } from '../../helpers/scenario.ts';
import { loadCaseSql, runCaseScript } from '../../helpers/case-files.ts';
import { annotations, caseNamed, rehearseCase } from '../../helpers/real-world-case.ts';

const EVERY = 'asset census every file size, mtime (source = target)';

test('rw34: files the source deleted between rehearsals are a warning with a full list, naming ASSETS_DELETE', async () => {
  const s = await scenario({ fixture: false });
  loadCaseSql(s.src, 'rw34-source-deletions.sql');
  runCaseScript('rw34-source-deletions.assets.sh', s.srcAssets);
  const env = { HEALTH_CHECK: '0', ASSET_COLUMNS: 'gallery_items.storage_dir:dir' };
  const first = await rehearse([], { ...s.env, ...env });
  expect(first.code, first.output).toBe(0);

  runCaseScript('rw34-source-deletions.change.sh', s.srcAssets);
  const second = await rehearseCase(s, [], { ...env, DST_DROP_SCHEMA: '1' });
  expect(second.code, second.output).toBe(0);
  const every = caseNamed(second.cases, EVERY);
  expect(every.failed).toBe(false);
  const notes = annotations(every);
  const warning = notes.find((n) => n.startsWith('warning: '));
  expect(warning).toMatch(
    /2 file\(s\) under .* no longer has \(deleted or renamed in the source .*\): gallery\/4\/2\.jpg, gallery\/7\/3\.jpg\. .*ASSETS_DELETE/,
  );
  const list = notes.find((n) => /^full-list: failures\/.*\.missing-on-source\.txt:/.test(n));
  expect(list, notes.join('\n')).toBeDefined();
  const rel = /^full-list: (\S+):/.exec(list!)![1];
  const runs = path.join(s.reportsDir, 'runs');
  const runDir = fs
    .readdirSync(runs)
    .map((d) => path.join(runs, d))
    .find((d) => fs.existsSync(path.join(d, rel)));
  expect(fs.readFileSync(path.join(runDir!, rel), 'utf8')).toBe('gallery/4/2.jpg\ngallery/7/3.jpg\n');
  // the renamed file reached staging: nothing is missing on the target
  expect(fs.existsSync(path.join(s.dstAssets, 'gallery/7/3-renamed.jpg'))).toBe(true);

  // the cure the warning names: with ASSETS_DELETE the mirror deletes them and the census is green without a warning
  const third = await rehearseCase(s, [], { ...env, DST_DROP_SCHEMA: '1', ASSETS_DELETE: '1' });
  expect(third.code, third.output).toBe(0);
  const cured = caseNamed(third.cases, EVERY);
  expect(cured.failed).toBe(false);
  expect(annotations(cured).filter((n) => n.startsWith('warning: '))).toEqual([]);
  expect(fs.existsSync(path.join(s.dstAssets, 'gallery/4/2.jpg'))).toBe(false);
});
