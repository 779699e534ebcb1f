/**
 * Issue 10, scale: the asset sample never sorts a whole table. PostgreSQL keeps only the top N rows while scanning
 * (a bounded top-N heapsort), whatever the table's size. HARDENING_FULL_SCALE=1 uses 1,000,000 rows instead of 100,000.
 */
import { expect, test } from 'vitest';
import { sampleQuery } from '../../lib/sql/index.ts';
import { freshDb } from '../helpers/sandbox.ts';

const ROWS = process.env.HARDENING_FULL_SCALE === '1' ? 1_000_000 : 100_000;

test(`the asset sample over ${ROWS} rows is a top-N heapsort in bounded memory, not a sort of the table`, async () => {
  const db = await freshDb('target');
  await db.query(`CREATE TABLE "Big Assets" (id bigint PRIMARY KEY, "Storage Path" text);
    INSERT INTO "Big Assets" SELECT g, '/app/.data/ugc/' || g || '/file.bin' FROM generate_series(1, ${ROWS}) g; ANALYZE "Big Assets"`);
  const q = sampleQuery({ schema: 'public', name: 'Big Assets' }, 'Storage Path', 'seed-1', 50);
  const plan = (await db.query(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${q.text}`, q.values as unknown[])).rows.map((r) => r['QUERY PLAN']).join('\n');
  expect(plan).toMatch(/Limit/);
  expect(plan).toMatch(/Sort Method: top-N heapsort\s+Memory: \d+kB/);
  expect(plan).not.toMatch(/external merge|Disk:/);
  const kb = Number(/top-N heapsort\s+Memory: (\d+)kB/.exec(plan)![1]);
  expect(kb, 'sort memory stays bounded by the sample size, not the table size').toBeLessThan(256);
  expect((await db.query(q.text, q.values as unknown[])).rowCount).toBe(50);
});
