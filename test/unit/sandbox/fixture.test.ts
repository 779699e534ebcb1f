import { expect, test } from 'vitest';
import {
  assetBytes,
  fixtureDataSql,
  fixtureRowCounts,
  fixtureSchemaSql,
  FIXTURE_TABLES,
  USER_DISPLAY_NAME_SQL,
} from '../../../lib/sandbox/fixture.ts';

test('fixtureRowCounts: 13 rows per user over the fixture tables', () => {
  const rows = fixtureRowCounts(10);
  expect(Object.keys(rows).sort()).toEqual([...FIXTURE_TABLES].sort());
  expect(Object.values(rows).reduce((a, b) => a + b, 0)).toBe(130);
});

test('fixture SQL: every table created, the shared users expression, pgvector optional, the prefix quoted', () => {
  const schema = fixtureSchemaSql({ dims: 4 });
  for (const t of FIXTURE_TABLES) expect(schema).toContain(`CREATE TABLE ${t} (`);
  expect(fixtureSchemaSql({ vector: false })).not.toMatch(/\bvector\(/);
  const data = fixtureDataSql({ users: 3, prefix: "/d/o'x" });
  expect(data).toContain(USER_DISPLAY_NAME_SQL);
  expect(data).toContain("'/d/o''x/ugc/'");
});

test('assetBytes: deterministic, exactly `size` bytes when asked, a short text otherwise', () => {
  expect(assetBytes('/app/.data/a.jpg').toString()).toBe('asset /app/.data/a.jpg\n');
  const b = assetBytes('/app/.data/a.jpg', 100);
  expect(b.length).toBe(100);
  expect(b.equals(assetBytes('/app/.data/a.jpg', 100))).toBe(true);
  expect(assetBytes('/x', 0).length).toBe(0);
});
