import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { FIXTURE_TABLES, fixtureRowCounts } from '../../lib/sandbox/fixture.ts';
import { inject } from 'vitest';
import { scenario } from '../helpers/scenario.ts';

test('the fixture has the documented row counts and its asset tree matches the rows', async () => {
  const s = await scenario();
  const expected = fixtureRowCounts(inject('fixtureUsers'));
  for (const t of FIXTURE_TABLES) {
    const r = await s.src.query(`SELECT count(*)::int AS n FROM ${t}`);
    expect(r.rows[0].n, t).toBe(expected[t]);
  }
  const paths = await s.src.query<{ p: string; dir: boolean }>(
    `SELECT storage_path AS p, false AS dir FROM knowledge_materials WHERE storage_path IS NOT NULL
     UNION ALL SELECT storage_path, false FROM ugc_assets
     UNION ALL SELECT storage_dir, true FROM gallery_items WHERE storage_dir IS NOT NULL`,
  );
  for (const { p, dir } of paths.rows) {
    const onDisk = path.join(s.srcAssets, p.slice('/app/.data'.length));
    const st = fs.statSync(onDisk);
    expect(dir ? st.isDirectory() : st.isFile(), p).toBe(true);
  }
  expect(paths.rows.some((r) => /[^\x00-\x7f]/.test(r.p) && r.p.includes(' '))).toBe(true);
});
