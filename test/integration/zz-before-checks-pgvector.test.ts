/**
 * pgvector on real embedding tables: `vector` with an HNSW index (and an HNSW index on its binary quantization),
 * `halfvec` with IVFFlat, `sparsevec` with HNSW, and a binary-quantized `bit(8)` column with a Hamming HNSW index.
 * A correct copy is green; one seeded fault per column (dropped index, moved vector, changed IVFFlat lists, changed
 * bits, changed sparse value) turns exactly that column's test red, naming the culprit.
 */
import { expect, test } from 'vitest';
import { junitCases, latestJunit, migrateByHand, rehearse, scenario, unescapeXml } from '../helpers/scenario.ts';

const TABLES = `
CREATE TABLE e_vec (id int PRIMARY KEY, v vector(3));
INSERT INTO e_vec SELECT g, ('[' || g || ',1,2]')::vector FROM generate_series(1, 20) g;
CREATE INDEX e_vec_hnsw ON e_vec USING hnsw (v vector_l2_ops);
CREATE INDEX e_vec_bq ON e_vec USING hnsw ((binary_quantize(v)::bit(3)) bit_hamming_ops);
CREATE TABLE e_half (id int PRIMARY KEY, h halfvec(3));
INSERT INTO e_half SELECT g, ('[' || g || ',1,2]')::halfvec FROM generate_series(1, 20) g;
CREATE INDEX e_half_ivf ON e_half USING ivfflat (h halfvec_l2_ops) WITH (lists = 2);
CREATE TABLE e_sparse (id int PRIMARY KEY, s sparsevec(5));
INSERT INTO e_sparse SELECT g, ('{1:' || g || ',3:1}/5')::sparsevec FROM generate_series(1, 20) g;
CREATE INDEX e_sparse_hnsw ON e_sparse USING hnsw (s sparsevec_l2_ops);
CREATE TABLE e_bits (id int PRIMARY KEY, b bit(8));
INSERT INTO e_bits SELECT g, g::bit(8) FROM generate_series(1, 20) g;
CREATE INDEX e_bits_hnsw ON e_bits USING hnsw (b bit_hamming_ops);`;

const COLS = ['public.e_bits.b', 'public.e_half.h', 'public.e_sparse.s', 'public.e_vec.v'].map((c) => `pgvector ${c}`);

test('vector/halfvec/sparsevec/bit columns with HNSW and IVFFlat indexes: green on a copy, one seeded fault each turns exactly that column red', async () => {
  const s = await scenario();
  await s.src.query(TABLES);
  await migrateByHand(s);
  const env = { ...s.env, HEALTH_CHECK: '0', CHECKSUM: 'off' };
  const ok = await rehearse(['--verify-only'], env);
  let cases = junitCases(latestJunit(s)).filter((c) => c.name.startsWith('pgvector '));
  expect(
    cases.filter((c) => c.failed).map((c) => c.name),
    ok.output,
  ).toEqual([]);
  for (const n of COLS) {
    const c = cases.find((x) => x.name === n);
    expect(c, n).toBeDefined();
    expect(unescapeXml(c!.body), n).toMatch(/exact nearest neighbours \(k=5\) of 3 sampled vectors compared/);
  }
  const vec = unescapeXml(cases.find((x) => x.name === 'pgvector public.e_vec.v')!.body);
  expect(vec).toMatch(/indexes e_vec_bq \(hnsw\), e_vec_hnsw \(hnsw\)/);

  await s.dst.query(`
    DROP INDEX e_vec_hnsw;
    DROP INDEX e_half_ivf; CREATE INDEX e_half_ivf ON e_half USING ivfflat (h halfvec_l2_ops) WITH (lists = 3);
    UPDATE e_sparse SET s = '{1:500,3:1}/5' WHERE id = 2;
    UPDATE e_bits SET b = B'11111111' WHERE id = 2;`);
  const bad = await rehearse(['--verify-only'], env);
  expect(bad.code, bad.output).toBe(1);
  cases = junitCases(latestJunit(s)).filter((c) => c.name.startsWith('pgvector '));
  expect(
    cases
      .filter((c) => c.failed)
      .map((c) => c.name)
      .sort(),
  ).toEqual(COLS);
  const body = (n: string) => unescapeXml(cases.find((x) => x.name === `pgvector ${n}`)!.body);
  expect(body('public.e_vec.v')).toMatch(/vector index e_vec_hnsw \(hnsw\) is missing on the target/);
  expect(body('public.e_half.h')).toMatch(
    /vector index e_half_ivf \(ivfflat\) differs: source .*lists='?2'?.*; target .*lists='?3'?/,
  );
  expect(body('public.e_sparse.s')).toMatch(
    /nearest 5 neighbours of id=1: source \[1, 2, 3, 4, 5\], target \[1, 3, 4, 5, 6\]/,
  );
  expect(body('public.e_bits.b')).toMatch(/nearest 5 neighbours of id=\d+: source \[.*\], target \[.*\]/);
});
