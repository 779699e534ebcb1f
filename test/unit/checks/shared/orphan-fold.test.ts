/**
 * The orphan checks folded into the fused scan (lib/checks/shared/orphan-fold.ts), without a database: which relations
 * each side's catalog lets fold and why the others do not, the per-relation aggregate (MATCH SIMPLE, composite keys,
 * partitions by tableoid, the parent probed by a per-row `OFFSET 0` SubPlan), and the wrapped fused query that probes
 * once per row. The planner's side (Index Only Scan per row, no Seq Scan of the parent) is proven by
 * test/integration/verify-one-scan.test.ts.
 */
import { expect, test } from 'vitest';
import type { Relation } from '../../../../lib/core/config.ts';
import {
  decideProbes,
  FOLD_SAMPLE,
  foldedColumns,
  orphanAggregate,
  orphanKey,
  probeCatalogQuery,
  type ProbeRow,
} from '../../../../lib/checks/shared/orphan-fold.ts';
import { scanQuery } from '../../../../lib/checks/shared/table-scan.ts';

const rel = (child: string, cc: string[], parent: string, pc: string[]): Relation => ({
  child: { schema: 'public', name: child },
  childColumns: cc,
  parent: { schema: 'public', name: parent },
  parentColumns: pc,
  origin: 'declared',
});
const simple = rel('orders', ['user_id'], 'users', ['id']);
const composite = rel('gallery_items', ['owner_id', 'gallery_slug'], 'galleries', ['owner_id', 'slug']);
const onPartition = rel('payment_h2', ['customer_id'], 'customer', ['customer_id']);

const row = (i: number, o: Partial<ProbeRow> = {}): ProbeRow => ({
  i,
  child_exists: true,
  is_host: true,
  leaf_oids: null,
  parent_exists: true,
  columns_exist: true,
  index: 'users_pkey',
  same_types: true,
  same_collations: true,
  declared_here: true,
  ...o,
});

test('a relation folds when the parent has a unique index on the key; otherwise it is skipped with the reason', () => {
  const rels = [simple, composite, onPartition, rel('a', ['x'], 'b', ['y']), rel('c', ['x'], 'd', ['y'])];
  const { probes, skipped } = decideProbes(rels, [
    row(0),
    row(1, { index: null }),
    row(2, { is_host: false, leaf_oids: ['16390'], index: 'customer_pkey' }),
    row(3, { same_types: false, declared_here: false }),
    row(4, { is_host: false, leaf_oids: null }), // not this scan's child: neither folded nor skipped
  ]);
  expect(probes.map((p) => [p.key, p.index, p.leafOids])).toEqual([
    [orphanKey(simple), 'users_pkey', undefined],
    [orphanKey(onPartition), 'customer_pkey', ['16390']],
  ]);
  expect(skipped).toEqual({
    [orphanKey(composite)]: 'the parent has no unique index on exactly the key columns here',
    [orphanKey(rels[3])]: 'the key columns have different types and no foreign key declares them here',
  });
  // A declared key with different types (int -> bigint) folds; different collations never do; a missing parent says so.
  expect(decideProbes([simple], [row(0, { same_types: false })]).probes).toHaveLength(1);
  expect(decideProbes([simple], [row(0, { same_collations: false })]).skipped[orphanKey(simple)]).toMatch(
    /different collations/,
  );
  expect(decideProbes([simple], [row(0, { parent_exists: false })]).skipped[orphanKey(simple)]).toMatch(
    /parent table does not exist/,
  );
  expect(decideProbes([simple], [row(0, { child_exists: false })])).toEqual({ probes: [], skipped: {} });
});

test('the aggregate: every key column NOT NULL (MATCH SIMPLE), the parent probed per row by NOT EXISTS … OFFSET 0', () => {
  const [p] = decideProbes([composite], [row(0, { index: 'galleries_owner_id_slug_key' })]).probes;
  const agg = orphanAggregate(p, 'o0');
  expect(agg).toBe(
    'array_agg(to_json(ARRAY[t."owner_id"::text, t."gallery_slug"::text])::text) FILTER (WHERE t."owner_id" IS NOT NULL ' +
      'AND t."gallery_slug" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "public"."galleries" AS pa WHERE ' +
      'pa."owner_id" = t."owner_id" AND pa."slug" = t."gallery_slug" OFFSET 0)) AS o0',
  );
  const [q] = decideProbes([onPartition], [row(0, { is_host: false, leaf_oids: ['16390', '16402'] })]).probes;
  expect(orphanAggregate(q, 'o1')).toContain(`FILTER (WHERE t.tableoid = ANY ('{16390,16402}'::oid[]) AND`);
  expect(foldedColumns('o1')).toEqual([
    'coalesce(cardinality(f.o1), 0)::text AS o1_n',
    `coalesce(f.o1[1:${FOLD_SAMPLE}], '{}') AS o1_k`,
  ]);
});

test('the fused query with folded relations: each aggregate once (one probe per row), only counts and samples out', () => {
  const probes = decideProbes([simple, composite], [row(0), row(1)]).probes;
  const t = { schema: 'public', name: 'orders' };
  const q = scanQuery({ table: t, prefixColumns: ['path'], prefix: '/app' }, {}, probes);
  expect(q.text).toMatch(/^SELECT f\.n, f\.p0_total, f\.p0_bad, coalesce\(cardinality\(f\.o0\), 0\)::text AS o0_n, /);
  expect(q.text.match(/array_agg\(/g)).toHaveLength(2);
  expect(q.text.match(/NOT EXISTS/g)).toHaveLength(2);
  // The child is read by a TID Range Scan from block 0 (the scan runs with enable_seqscan off).
  expect(q.text).toMatch(/ FROM "public"\."orders" t WHERE t\.ctid >= '\(0,0\)'::tid\) f$/);
  expect(scanQuery({ table: t, prefixColumns: [], prefix: '' }, { lo: 100, hi: 200 }, probes).text).toMatch(
    /WHERE t\.ctid >= '\(100,0\)'::tid AND t\.ctid < '\(200,0\)'::tid\) f$/,
  );
  expect(q.values).toHaveLength(2); // the prefix's two values only
  // Without folded relations, the query is the plain fused one.
  expect(scanQuery({ table: { schema: 'public', name: 'orders' }, prefixColumns: [], prefix: '/app' }).text).toBe(
    'SELECT count(*)::text AS n FROM "public"."orders" t',
  );
});

test('the catalog query takes the candidates as one JSON parameter and the scanned table by name', () => {
  const q = probeCatalogQuery({ schema: 'app', name: 'payment' }, [simple, onPartition]);
  expect(JSON.parse(q.values[0] as string)).toEqual([
    { i: 0, cs: 'public', cn: 'orders', cc: ['user_id'], ps: 'public', pn: 'users', pc: ['id'] },
    { i: 1, cs: 'public', cn: 'payment_h2', cc: ['customer_id'], ps: 'public', pn: 'customer', pc: ['customer_id'] },
  ]);
  expect(q.values.slice(1)).toEqual(['app', 'payment']);
  expect(q.text).toContain('pg_partition_root(r.coid)');
  expect(q.text).toContain('x.indisunique AND x.indisvalid AND x.indpred IS NULL AND x.indexprs IS NULL');
});
