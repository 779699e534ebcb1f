/**
 * rw23: a foreign key that references a partitioned table (pg_partman's shape: a partition created after the FK).
 * PostgreSQL keeps one clone of the FK per referenced partition (`conparentid <> 0`), named by creation order; the
 * restore creates the partitions in another order and numbers the clones differently (pgschema#460). A correct copy
 * is green: the clones are the restore's own work, the FK itself is compared (catalog and pg_dump's rendering).
 */
import { expect, test } from 'vitest';
import { caseNamed, loadCase, runCase } from '../../helpers/cases.ts';
import { scenario } from '../../helpers/scenario.ts';

test('rw23: an FK to a partitioned table is green after a correct copy (clone names renumbered by the restore)', async () => {
  const s = await scenario({ fixture: false });
  await loadCase(s.src, 'rw23-fk-to-partitioned.sql');
  const clones = async (db: typeof s.src) =>
    (
      await db.query(
        `SELECT conname FROM pg_constraint WHERE conrelid = 'event'::regclass AND contype = 'f' ORDER BY conname`,
      )
    ).rows.map((r) => r.conname);
  const r = await runCase(s, []);
  expect(r.failed, r.output).toEqual([]);
  expect(r.code, r.output).toBe(0);
  // the case is what it claims: the FK has per-partition clones on both sides
  expect((await clones(s.src)).length).toBeGreaterThan(1);
  expect((await clones(s.dst)).length).toBe((await clones(s.src)).length);
  const constraints = caseNamed(r, 'schema constraints');
  expect(constraints.skipped).toBeFalsy();
  expect(constraints.body).toMatch(/pg_dump \S+ --schema-only of both sides/);
}, 400_000);
