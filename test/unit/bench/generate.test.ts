import { expect, test } from 'vitest';
import { benchDataSql, benchShape, BENCH_TABLES, PROBE_TABLE, totalFiles } from '../../../lib/bench/generate.ts';
import { USER_DISPLAY_NAME_SQL } from '../../../lib/sandbox/fixture.ts';

test('benchShape: 13 rows per user, files split 3:2:2 and never more than the rows that reference them', () => {
  const s = benchShape(13_000, 700, { prefix: '/app/.data' });
  expect(s.users).toBe(1000);
  expect(s.rows.knowledge_materials).toBe(3000);
  expect(s.rows[PROBE_TABLE]).toBe(1);
  expect(s.files).toEqual({ knowledge: 300, ugc: 200, gallery: 200 });
  expect(totalFiles(s)).toBe(700);
  const tiny = benchShape(13, 1_000_000);
  expect(tiny.files.ugc).toBeLessThanOrEqual(tiny.rows.ugc_assets);
  expect(BENCH_TABLES).toContain(PROBE_TABLE);
});

test('benchDataSql: the shared users expression, the probe table, the prefix quoted for SQL', () => {
  const sql = benchDataSql(benchShape(130, 10, { prefix: "/srv/o'brien" }));
  expect(sql).toContain(USER_DISPLAY_NAME_SQL);
  expect(sql).toContain(`CREATE TABLE ${PROBE_TABLE}`);
  expect(sql).toContain("/srv/o''brien/ugc/");
  expect(sql).not.toContain("/srv/o'brien/");
});

test('benchDataSql: the HNSW index is built after the load, or left out with hnsw: false (BENCH_HNSW=0)', () => {
  const withIndex = benchDataSql(benchShape(130, 10));
  expect(withIndex).toMatch(/CREATE INDEX material_embeddings_hnsw_idx ON material_embeddings USING hnsw/);
  const without = benchDataSql(benchShape(130, 10, { hnsw: false }));
  expect(without).toContain('DROP INDEX material_embeddings_hnsw_idx');
  expect(without).not.toMatch(/CREATE INDEX material_embeddings_hnsw_idx/);
});
