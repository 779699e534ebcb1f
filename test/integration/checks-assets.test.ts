/**
 * Seeded asset faults, several per run (each hits a different testcase), on a correct hand-made copy: exactly the
 * right asset / path-prefix / health checks go red, each naming the culprit. The core families run in-process against
 * the real clusters (test/helpers/family.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { evidenceOf, expectFailures, runFamilies } from '../helpers/family.ts';
import { migrateByHand, scenario } from '../helpers/scenario.ts';

const PREFIX = '/app/.data/';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('missing file, directory for a file, dangling symlink, size mismatch, escaping symlink, missing dir, outside-prefix and ".." paths, no health listener', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const paths = async (sql: string) => (await s.dst.query<{ p: string }>(sql)).rows.map((r) => r.p);
  const km = await paths(
    'SELECT storage_path AS p FROM knowledge_materials WHERE storage_path IS NOT NULL ORDER BY id LIMIT 4',
  );
  const ugc = await paths('SELECT storage_path AS p FROM ugc_assets ORDER BY id LIMIT 3');
  const gal = await paths('SELECT storage_dir AS p FROM gallery_items ORDER BY id LIMIT 1');
  const disk = (p: string) => path.join(s.dstAssets, p.slice(PREFIX.length));

  fs.rmSync(disk(km[0])); // missing file
  fs.rmSync(disk(km[1]));
  fs.mkdirSync(disk(km[1])); // a directory where a file should be
  fs.appendFileSync(disk(km[2]), 'extra bytes'); // size differs from the source file
  fs.rmSync(disk(ugc[0]));
  fs.symlinkSync('no-such-file.jpg', disk(ugc[0])); // dangling symlink
  const outside = path.join(s.tmp, 'outside-secret.txt');
  fs.writeFileSync(outside, 'must never be read\n');
  fs.rmSync(disk(ugc[1]));
  fs.symlinkSync(outside, disk(ugc[1])); // symlink escaping DST_ASSETS_DIR
  fs.rmSync(disk(gal[0]), { recursive: true }); // missing directory
  const elsewhere = '/srv/elsewhere/photo.jpg';
  await s.dst.query('UPDATE ugc_assets SET storage_path = $1 WHERE storage_path = $2', [elsewhere, ugc[2]]); // outside the prefix
  const dotdot = '/app/.data/knowledge/../../../etc/passwd';
  await s.dst.query('UPDATE knowledge_materials SET storage_path = $1 WHERE storage_path = $2', [dotdot, km[3]]); // ".." segment
  await s.health.close(); // nothing listens on the health port any more

  // ASSETS_SAMPLE_N above the row counts: every path is sampled, so every seeded fault is in the sample.
  const outcomes = await runFamilies(s, ['row-counts', 'orphans', 'assets', 'path-prefix', 'health'], {
    env: { ASSETS_SAMPLE_N: '1000', HEALTH_TIMEOUT_MS: '2000' },
  });
  expectFailures(outcomes, {
    [`asset knowledge_materials.storage_path ${km[0]}`]: new RegExp(
      `missing: expected ${esc(disk(km[0]))} to exist, found nothing`,
    ),
    [`asset knowledge_materials.storage_path ${km[1]}`]: new RegExp(
      `expected a regular file at ${esc(disk(km[1]))}, found a directory`,
    ),
    [`asset knowledge_materials.storage_path ${km[2]}`]:
      /size mismatch: source .* has (\d+) bytes, target .* has (?!\1)\d+ bytes/,
    [`asset ugc_assets.storage_path ${ugc[0]}`]: new RegExp(
      `dangling symlink: ${esc(disk(ugc[0]))} -> no-such-file.jpg, which does not exist`,
    ),
    [`asset ugc_assets.storage_path ${ugc[1]}`]: new RegExp(
      `symlink escapes DST_ASSETS_DIR: ${esc(disk(ugc[1]))} resolves to ${esc(fs.realpathSync(outside))} \\(not read\\)`,
    ),
    [`asset gallery_items.storage_dir ${gal[0]}`]: new RegExp(
      `missing: expected ${esc(disk(gal[0]).replace(/\/$/, ''))}/? to exist`,
    ),
    [`asset ugc_assets.storage_path ${elsewhere}`]:
      /path is outside ASSETS_DB_PATH_PREFIX \(expected it to start with "\/app\/\.data\/"\); not read/,
    [`asset knowledge_materials.storage_path ${dotdot}`]: /path contains a "\.\." segment; not read/,
    'path prefix ugc_assets.storage_path':
      /expected every path to start with "\/app\/\.data\/" and contain no "\.\." segment; 1 of 60 do not, e\.g\. "\/srv\/elsewhere\/photo\.jpg"/,
    'path prefix knowledge_materials.storage_path':
      /1 of \d+ do not, e\.g\. "\/app\/\.data\/knowledge\/\.\.\/\.\.\/\.\.\/etc\/passwd"/,
    'health GET /health': /health GET http:\/\/127\.0\.0\.1:\d+\/health: expected a 2xx answer, got connection refused/,
  });
  expect(evidenceOf(outcomes, 'path prefix gallery_items.storage_dir').join('\n')).toMatch(
    /60 non-NULL path\(s\) scanned, 0 outside/,
  );
  expect(evidenceOf(outcomes, `asset knowledge_materials.storage_path ${km[2]}`).join('\n')).toMatch(
    /regular file, \d+ bytes/,
  );
});
