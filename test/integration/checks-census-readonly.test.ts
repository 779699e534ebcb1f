/**
 * The asset census writes nothing (no temporary table): it runs on a target whose every transaction is read-only, as
 * a hot standby's are, and still finds a dangling reference there. In-process (test/helpers/family.ts): the family
 * against the two real databases and asset trees; what a whole run adds is shown by the CLI tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { describe, expectFailures, runFamilies } from '../helpers/family.ts';
import { migrateByHand, scenario } from '../helpers/scenario.ts';

test('the census runs on a read-only target (default_transaction_read_only = on) and names a dangling reference', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const [{ p }] = (await s.dst.query(`SELECT storage_path AS p FROM knowledge_materials ORDER BY id LIMIT 1`)).rows;
  fs.rmSync(path.join(s.dstAssets, p.replace('/app/.data/', '')));
  await s.dst.query(`ALTER DATABASE ${s.dst.name} SET default_transaction_read_only = on`);
  const outcomes = await runFamilies(s, ['asset-census'], { env: { ASSETS_SAMPLE_N: '0', HEALTH_CHECK: '0' } });
  expect(describe(outcomes)).not.toMatch(/read-only transaction/);
  expectFailures(outcomes, {
    'asset census knowledge_materials.storage_path': new RegExp(
      `1 of \\d+ paths do not resolve under .*: ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(expected a file, found nothing \\(missing\\)\\)`,
    ),
    // the same deleted file, seen by the whole-tree comparison with the (local) source
    'asset census every file size, mtime (source = target)': /1 of \d+ files differ .*: missing on the target/,
  });
  // The other columns are judged (green), and the sampled sha256 comparison is skipped (no sample).
  expect(outcomes.filter((o) => o.verdict?.status === 'pass').length).toBeGreaterThan(1);
  expect(outcomes.filter((o) => !o.verdict).map((o) => o.name)).toEqual([
    expect.stringMatching(/^asset census sampled files size and sha256/),
  ]);
});
