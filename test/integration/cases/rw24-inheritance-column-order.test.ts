/**
 * rw24 (../shared/cases): an inheritance child whose parent gained a column later. pg_dump recreates the child with
 * its inherited columns first, so the child's column order differs on the target by design (gpdb#4955). Expected:
 * green, every row of the child compared (columns compared by name); a changed row of the child is still red naming
 * its key. And the rw25 NO INHERIT fault on the target: the parent's row count and checksum say the rows moved to the
 * detached child, not only that they are missing. Checksums and row counts run in-process on a hand-made copy.
 */
import { expect, test } from 'vitest';
import { evidenceOf, expectFailures, runFamilies } from '../../helpers/family.ts';
import { caseScenario, loadCaseSql } from '../../helpers/real-world-case.ts';
import { migrateByHand } from '../../helpers/scenario.ts';

const TRUCKS = 'checksum public.trucks';
const VEHICLES = 'checksum public.vehicles';

test('rw24: an inheritance child with another column order is compared row by row, by column name', async () => {
  const s = await caseScenario();
  await loadCaseSql(s, 'rw24-inheritance-column-order.sql');
  await migrateByHand(s);
  const order = `SELECT string_agg(attname, ',' ORDER BY attnum) AS cols FROM pg_attribute
    WHERE attrelid = 'trucks'::regclass AND attnum > 0 AND NOT attisdropped`;
  const [src, dst] = [(await s.src.query(order)).rows[0].cols, (await s.dst.query(order)).rows[0].cols];
  expect(src).not.toBe(dst); // the case's premise: the restore changed the child's column order

  const clean = await runFamilies(s, ['checksums', 'row-counts']);
  expectFailures(clean, {});
  const ev = evidenceOf(clean, TRUCKS).join('\n');
  expect(ev).toMatch(/column order differs \(source: .*; target: .*\): columns compared by name/);
  expect(ev).toMatch(/source: 10 rows, sum -?\d+ .*target: 10 rows, sum -?\d+/);

  // A changed value in the child is found, by key.
  await s.dst.query(`UPDATE trucks SET color = 'green' WHERE id = 15`);
  const red = await runFamilies(s, ['checksums', 'row-counts']);
  expectFailures(red, {
    [TRUCKS]: /checksum public\.trucks differs .*differing keys: id=15 \(changed\)/,
    [VEHICLES]: /checksum public\.vehicles differs .*differing keys: id=15 \(changed\)/,
  });
});

test('rw25 NO INHERIT on the target: the parent says its rows moved to the detached child', async () => {
  const s = await caseScenario();
  await loadCaseSql(s, 'rw24-inheritance-column-order.sql');
  await migrateByHand(s);
  await s.dst.query('ALTER TABLE trucks NO INHERIT vehicles');
  const red = await runFamilies(s, ['checksums', 'row-counts']);
  const moved =
    /rows moved to a detached child: public\.trucks \(a child of public\.vehicles on the source, not on the target/;
  expectFailures(red, {
    'row count public.vehicles': new RegExp(
      `expected the target to have 20 rows like the source .* it has 10 .*; ${moved.source}`,
    ),
    [VEHICLES]: new RegExp(`checksum public\\.vehicles differs \\(rows: source 20, target 10; ${moved.source}`),
  });
});
