/**
 * rw29 (../shared/cases): foreign keys declared on the partitions, not on the partitioned parent (pagila's
 * `payment_p2022_*` shape, pg_partman#668). With CHECKSUM=off only the orphan check can see an orphan in one partition:
 * each partition's key is its own orphan check, and the seeded orphan is red naming `payment_2025_h2(customer_id)`.
 * Orphans run in-process (test/helpers/family.ts) on a hand-made correct copy.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { evidenceOf, expectFailures, runFamilies } from '../../helpers/family.ts';
import { CASES_DIR, caseScenario, loadCaseSql } from '../../helpers/real-world-case.ts';
import { migrateByHand } from '../../helpers/scenario.ts';

const H1 = 'orphans payment_2025_h1(customer_id) -> customer(customer_id)';
const H2 = 'orphans payment_2025_h2(customer_id) -> customer(customer_id)';
const ENV = { CHECKSUM: 'off' };

test('rw29: foreign keys declared on partitions are orphan-checked; an orphan in one partition is red naming it', async () => {
  const s = await caseScenario();
  await loadCaseSql(s, 'rw29-partition-fk.sql');
  await migrateByHand(s);

  // A correct copy: one orphan check per partition-level key, each green.
  const clean = await runFamilies(s, ['orphans', 'row-counts'], { env: ENV });
  expectFailures(clean, {});
  expect(clean.map((o) => o.name)).toEqual(expect.arrayContaining([H1, H2]));
  expect(evidenceOf(clean, H2)[0]).toMatch(
    /declared foreign key payment_2025_h2_customer_fkey \(read from the source\)/,
  );

  // The fault: an orphan in payment_2025_h2 (written with triggers off, as a failed restore of the key leaves it).
  await s.dst.query(fs.readFileSync(path.join(CASES_DIR, 'rw29-partition-fk.faults.sql'), 'utf8'));
  const red = await runFamilies(s, ['orphans', 'row-counts'], { env: ENV });
  expectFailures(red, {
    [H2]: /payment_2025_h2 whose key has no customer row, found 1; example keys \(customer_id\): \(99999\)/,
  });
});
