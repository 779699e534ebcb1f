/**
 * Checksums and bisection through the library, against real databases: multi-level bisection over composite and
 * text keys, every hash method green on identical tables under different server defaults.
 */
import { afterAll, expect, test } from 'vitest';
import {
  compareTable,
  displayKey,
  displayRange,
  locateDifferences,
  sideRunner,
  type HashMethod,
} from '../../lib/checks/families/checksums/checksum.ts';
import { closePools, getPool } from '../../lib/core/db.ts';
import { parseDsn } from '../../lib/core/dsn.ts';
import { freshDb, type TestDb } from '../helpers/sandbox.ts';

afterAll(() => closePools());

async function pair(
  setup: string,
): Promise<{ src: TestDb; dst: TestDb; pools: { src: ReturnType<typeof getPool>; dst: ReturnType<typeof getPool> } }> {
  const src = await freshDb('source');
  const dst = await freshDb('target');
  await src.query(setup);
  await dst.query(setup);
  return {
    src,
    dst,
    pools: { src: getPool(parseDsn(src.url), { max: 2 }), dst: getPool(parseDsn(dst.url), { max: 2 }) },
  };
}

test('bisection over a composite (int, text) key narrows 5000 rows down to the changed, missing and extra keys', async () => {
  const { dst, pools } = await pair(`
    CREATE TABLE items (tenant int, code text COLLATE "C", payload jsonb, price numeric, PRIMARY KEY (tenant, code));
    INSERT INTO items SELECT g % 50, 'code-' || g, jsonb_build_object('g', g), g * 1.5 FROM generate_series(1, 5000) g;`);
  await dst.query(`UPDATE items SET price = price + 0.01 WHERE tenant = 7 AND code = 'code-1207';
    DELETE FROM items WHERE tenant = 33 AND code = 'code-4033';
    INSERT INTO items VALUES (49, 'zzz-new', NULL, 1);
    UPDATE items SET price = 1.50 * 2 WHERE tenant = 2 AND code = 'code-2'`); // 3.00 vs 3.0: equal value, different scale
  const t = { schema: 'public', name: 'items' };
  const r = await compareTable(pools, t);
  expect(r.equal).toBe(false);
  expect(r.hasKey).toBe(true);
  const found = await locateDifferences(
    sideRunner(pools),
    t,
    r.shape!,
    r.method!,
    { src: BigInt(r.src!.rows), dst: BigInt(r.dst!.rows) },
    { leafRows: 64 },
  );
  const keys = found.keys.map((k) => `${displayKey(r.shape!.key, k.key)} ${k.what}`).sort();
  expect(keys).toEqual([
    '(tenant, code)=(2, code-2) changed',
    '(tenant, code)=(33, code-4033) missing on target',
    '(tenant, code)=(49, zzz-new) extra on target',
    '(tenant, code)=(7, code-1207) changed',
  ]);
  expect(found.queries).toBeGreaterThan(2); // it really bisected, not one big leaf
  expect(found.ranges.map((x) => displayRange(r.shape!.key, x))).toContain(
    '(tenant, code) in [(7, code-1207), (7, code-1207)]',
  );
});

test('bisection over an integer key with gaps finds a changed row among 20000', async () => {
  const { dst, pools } = await pair(`CREATE TABLE big (id bigint PRIMARY KEY, v text);
    INSERT INTO big SELECT g * 7, md5(g::text) FROM generate_series(1, 20000) g;`);
  await dst.query(`UPDATE big SET v = 'changed' WHERE id = 7 * 12345`);
  const t = { schema: 'public', name: 'big' };
  const r = await compareTable(pools, t);
  const found = await locateDifferences(sideRunner(pools), t, r.shape!, r.method!, { src: 20000n, dst: 20000n });
  expect(found.keys.map((k) => displayKey(r.shape!.key, k.key))).toEqual(['id=86415']);
  expect(found.queries).toBeLessThan(10);
});

test('bisection over a one-column text key (segments by width_bucket in byte order) finds changed, missing, extra keys', async () => {
  // Mixed case, accents and digits in an ICU collation: byte order (COLLATE "C", the bisection's) differs from it.
  const { dst, pools } = await pair(`CREATE TABLE tags (name text COLLATE "und-x-icu" PRIMARY KEY, v int);
    INSERT INTO tags SELECT (ARRAY['a', 'B', 'é', 'Z', '1'])[g % 5 + 1] || '-' || g, g FROM generate_series(1, 4000) g;`);
  await dst.query(`UPDATE tags SET v = -1 WHERE name = 'é-1202'; DELETE FROM tags WHERE name = 'Z-3003';
    INSERT INTO tags VALUES ('zz-new', 0)`);
  const t = { schema: 'public', name: 'tags' };
  const r = await compareTable(pools, t);
  expect(r.equal).toBe(false);
  const found = await locateDifferences(
    sideRunner(pools),
    t,
    r.shape!,
    r.method!,
    { src: BigInt(r.src!.rows), dst: BigInt(r.dst!.rows) },
    { leafRows: 32 },
  );
  expect(found.keys.map((k) => `${displayKey(r.shape!.key, k.key)} ${k.what}`).sort()).toEqual([
    'name=Z-3003 missing on target',
    'name=zz-new extra on target',
    'name=é-1202 changed',
  ]);
  expect(found.queries).toBeGreaterThan(2); // it split the table (bounds, segments), not one big leaf
});

test.each<HashMethod>(['record', 'text', 'md5'])(
  'method %s: identical float/timestamp/jsonb/bytea/NULL/unicode rows are equal although the target defaults differ',
  async (method) => {
    const { dst, pools } = await pair(`
    CREATE TABLE edge (id int PRIMARY KEY, f4 float4, f8 float8, ts timestamptz, iv interval, j jsonb, b bytea, t text, n numeric, d date, m money);
    INSERT INTO edge VALUES (1, 'NaN', '-0', '2024-02-29 23:59:59.999999+14', '1 year -3 days 04:05:06.7', '{"b": [1, 2.50], "a": "é"}', '\\x00ff', 'Zoë 🚀 用户', 1.10, '2024-01-31', 1.5),
      (2, 1.17549435e-38, 2.2250738585072014e-308, '-infinity', '-178000000 years', '[]', '', '', 'NaN', 'infinity', -0.01),
      (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);`);
    await dst.query(`ALTER DATABASE "${dst.name}" SET TimeZone = 'America/St_Johns'; ALTER DATABASE "${dst.name}" SET DateStyle = 'German';
    ALTER DATABASE "${dst.name}" SET extra_float_digits = -15; ALTER DATABASE "${dst.name}" SET bytea_output = 'escape';
    ALTER DATABASE "${dst.name}" SET IntervalStyle = 'iso_8601'; ALTER DATABASE "${dst.name}" SET lc_monetary = 'C'`);
    // The pools have not connected yet: their sessions start with the target's altered defaults.
    const t = { schema: 'public', name: 'edge' };
    const r = await compareTable(pools, t, { method });
    expect(r.method).toBe(method);
    expect(r.src, JSON.stringify(r)).toEqual(r.dst);
    expect(r.equal).toBe(true);
    // And a real difference in the same table is still seen with this method.
    await dst.query(`UPDATE edge SET f8 = 2.2250738585072009e-308 WHERE id = 2`);
    expect((await compareTable(pools, t, { method })).equal).toBe(false);
  },
);
