/**
 * Content checksums: an order-independent checksum of every row, computed inside PostgreSQL with the same SQL on both
 * sides (count + the exact numeric sum of a 64-bit hash per row; a sum, not an xor, so duplicate rows do not cancel),
 * and, on a mismatch, a bisection by primary-key ranges (as data-diff does) down to small segments whose per-key
 * hashes are compared, to name the differing keys.
 *
 * Row hash: on PostgreSQL 14+ `hash_record_extended(ROW(...), 0)` over one expression per column, chosen by
 * `columnHashExpr` (the per-type rules are in `VALUE_HASHED_TYPES` below). The rule: a checksum hashes what a
 * migration carries, never an internal identity or a folded value. pg_dump carries every value as its type's output
 * text (COPY), so a column is hashed as a value only when its type's hash function is injective on that text (ints,
 * text in COLLATE "C", uuid, timestamps...); every other type is hashed through its output text, under the pinned
 * settings of lib/checks/shared/deep-context.ts. Before 14: `hashtextextended(ROW(...)::text, 0)` (11+), else md5, both over
 * the row's output text (record_out calls each column's output function, so the same rules hold). The method is
 * chosen from the lower of the two server versions, so both sides always run the same SQL. (Hash functions are those
 * of hash partitioning, stable across versions; they differ between little- and big-endian machines, which no
 * migration here crosses.)
 */
import type pg from 'pg';
import { quoteIdent, quoteTable, type TableRef } from '../../../core/ident.ts';
import type { Query } from '../../../core/query.ts';
import { withPinned } from '../../shared/deep-context.ts';

export interface ColumnShape {
  name: string;
  /** format_type() under the pinned search_path: schema-qualified where needed, usable in a cast. */
  type: string;
  collatable: boolean;
  /**
   * Hashed as a value (its base type is in `VALUE_HASHED_TYPES`), not through its output text. Computed per side; the
   * comparison ANDs both sides so both run the same SQL.
   */
  hashable: boolean;
  /**
   * The base type's output function (regproc text, e.g. `xml_out`) when its cast to text is NOT the output function
   * (a binary or function cast: xml, bpchar, inet...), so the text form must call it explicitly; null when `::text`
   * already is the output text.
   */
  outputFn?: string | null;
  /** Position in the primary key (1-based), or null. */
  pkOrd: number | null;
  integer: boolean;
}

export interface TableShape {
  exists: boolean;
  columns: ColumnShape[];
  /** Primary-key columns in key order (empty: no primary key). */
  key: ColumnShape[];
  version: number;
}

export type HashMethod = 'record' | 'text' | 'md5';

/**
 * Built-in types (pg_catalog) hashed as values: each one's hash function distinguishes exactly the values its output
 * text distinguishes, so hashing the value equals hashing what pg_dump carries (and is about twice as fast). Every
 * other type is hashed through its output text. Why the usual suspects are NOT here:
 * - enum: hashenum hashes the pg_enum OID, which the restore reassigns (hashed by label, also inside domains, arrays,
 *   composites and ranges, which all go through their output text);
 * - reg* (regclass, regtype, regproc...): the value is an OID the restore reassigns; the text is the object's name;
 * - numeric: hash ignores the display scale (1.0 = 1.00); jsonb: hashes numbers as numeric, same folding;
 * - float4/float8: hash folds -0 into 0 (and every NaN together); the text keeps -0;
 * - interval: hash folds '1 day' = '24 hours' = '1 mon' vs '30 days'; the text keeps them apart;
 * - bpchar: hash and cast to text drop trailing blanks; citext (contrib): hash folds case;
 * - arrays: hash ignores the lower bound ('[0:1]={1,2}' = '{1,2}'); tsvector, xml, json, geometric, money, range,
 *   multirange, composite, hstore, ltree, pgvector types... have no hash or one not proven injective: text;
 * - xml: its cast to text is binary (the stored text, with any `<?xml …?>` declaration) while pg_dump writes
 *   xml_out's text, which drops a plain declaration: hashed through xml_out (see `outputFn`).
 * Collatable values are hashed with COLLATE "C": bytes, whatever the column's (possibly nondeterministic) collation.
 */
export const VALUE_HASHED_TYPES: readonly string[] = [
  'bool',
  'char',
  'int2',
  'int4',
  'int8',
  'oid',
  'bytea',
  'text',
  'varchar',
  'name',
  'uuid',
  'date',
  'time',
  'timetz',
  'timestamp',
  'timestamptz',
  'macaddr',
  'macaddr8',
  'inet',
  'cidr',
  'pg_lsn',
];

/**
 * The catalog query giving a table's columns (name, type, hashability, collatability, primary-key position) and the
 * server version, for `shapeFromRows`. One row per column; no row when the table does not exist.
 */
export function shapeQuery(t: TableRef): Query {
  return {
    text: `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
  a.attcollation <> 0 AS collatable,
  (bt.typnamespace = 'pg_catalog'::regnamespace AND bt.typname = ANY($2::text[])) AS hashable,
  CASE WHEN EXISTS (SELECT 1 FROM pg_cast pc WHERE pc.castsource = bt.oid AND pc.casttarget = 'text'::regtype AND pc.castmethod <> 'i')
    THEN bt.typoutput::regproc::text END AS output_fn,
  (SELECT k.ord::int FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
    WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.attnum = a.attnum) AS pk_ord,
  bt.typname IN ('int2', 'int4', 'int8') AS integer,
  current_setting('server_version_num')::int AS version
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN LATERAL (
  WITH RECURSIVE d(oid, base, depth) AS (
    SELECT t.oid, t.typbasetype, 0 UNION ALL
    SELECT dt.oid, dt.typbasetype, d.depth + 1 FROM d JOIN pg_type dt ON dt.oid = d.base WHERE d.base <> 0
  ) SELECT oid FROM d ORDER BY depth DESC LIMIT 1
) base ON true
JOIN pg_type bt ON bt.oid = base.oid
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`,
    values: [quoteTable(t), VALUE_HASHED_TYPES],
  };
}

export interface ShapeRow {
  name: string;
  type: string;
  collatable: boolean;
  hashable: boolean;
  output_fn: string | null;
  pk_ord: number | null;
  integer: boolean;
  version: number;
}

/** The rows of `shapeQuery` as a TableShape: `exists` false for no row; `key` = primary-key columns in key order. */
export function shapeFromRows(rows: ShapeRow[]): TableShape {
  const columns = rows.map<ColumnShape>((r) => ({
    name: r.name,
    type: r.type,
    collatable: r.collatable,
    hashable: r.hashable,
    outputFn: r.output_fn,
    pkOrd: r.pk_ord,
    integer: r.integer,
  }));
  const key = columns.filter((c) => c.pkOrd !== null).sort((a, b) => a.pkOrd! - b.pkOrd!);
  return { exists: rows.length > 0, columns, key, version: rows[0]?.version ?? 0 };
}

/**
 * How rows are hashed, from the lower server_version_num of the two sides: `record` (hash_record_extended, 14+),
 * `text` (hashtext of the row's text form, 11+), else `md5`. Both sides must use the same method to compare.
 */
export function hashMethod(minVersion: number): HashMethod {
  if (minVersion >= 140000) return 'record';
  if (minVersion >= 110000) return 'text';
  return 'md5';
}

/**
 * The SQL expression one column of alias `t` is hashed as, inside `hash_record_extended(ROW(...))`: the value itself
 * for a type in `VALUE_HASHED_TYPES` (collatable ones with COLLATE "C"), else its output text — `(t.c)::text`, or
 * `textin(<outputFn>(t.c))` when the type's cast to text is not its output function (xml, bpchar) — in COLLATE "C".
 * Pure: the decision is the column's `hashable`/`outputFn`, read from the catalog by `shapeQuery`.
 */
export function columnHashExpr(c: Pick<ColumnShape, 'name' | 'collatable' | 'hashable' | 'outputFn'>): string {
  const ref = `t.${quoteIdent(c.name)}`;
  if (c.hashable) return c.collatable ? `${ref} COLLATE "C"` : ref;
  if (c.outputFn) return `textin(${c.outputFn}(${ref})) COLLATE "C"`;
  return `(${ref})::text COLLATE "C"`;
}

/**
 * The 64-bit hash of one row of alias `t`. `record`: one `columnHashExpr` per column. `text`/`md5` (servers before
 * 14): the row's output text, `ROW(...)::text`, whose record_out calls each column's output function — the text pg_dump
 * writes, so enums by label and xml without a plain declaration there too.
 */
export function rowHashExpr(columns: ColumnShape[], method: HashMethod): string {
  const ref = (c: ColumnShape) => `t.${quoteIdent(c.name)}`;
  if (method === 'record') return `hash_record_extended(ROW(${columns.map(columnHashExpr).join(', ')}), 0)`;
  const text = `ROW(${columns.map(ref).join(', ')})::text`;
  if (method === 'text') return `hashtextextended(${text}, 0)`;
  return `('x' || substr(md5(${text}), 1, 16))::bit(64)::bigint`;
}

/** Whole-table checksum: one scan. */
export function checksumQuery(t: TableRef, columns: ColumnShape[], method: HashMethod): Query {
  return {
    text: `SELECT count(*)::text AS n, coalesce(sum(h), 0)::text AS s FROM (SELECT ${rowHashExpr(columns, method)} AS h FROM ${quoteTable(t)} t) x`,
    values: [],
  };
}

/** A range of primary-key values: lo inclusive, hi exclusive, each a key tuple as text (undefined: unbounded). */
export interface KeyRange {
  lo?: string[];
  hi?: string[];
  /** Reported ranges only: the last differing key, inclusive (a leaf's differing keys span [lo, last]). */
  last?: string[];
}

function keyTuple(key: ColumnShape[], alias = 't'): string {
  const parts = key.map((k) => `${alias}.${quoteIdent(k.name)}${k.collatable ? ' COLLATE "C"' : ''}`);
  return parts.length === 1 ? parts[0] : `(${parts.join(', ')})`;
}

/** A key tuple as parameters from `values`, cast to the key types. */
function paramTuple(key: ColumnShape[], tuple: string[], values: unknown[]): string {
  const parts = key.map((k, i) => {
    values.push(tuple[i]);
    return `$${values.length}::${k.type}${k.collatable ? ' COLLATE "C"' : ''}`;
  });
  return parts.length === 1 ? parts[0] : `(${parts.join(', ')})`;
}

function rangeWhere(key: ColumnShape[], r: KeyRange, values: unknown[]): string {
  const conds: string[] = [];
  if (r.lo) conds.push(`${keyTuple(key)} >= ${paramTuple(key, r.lo, values)}`);
  if (r.hi) conds.push(`${keyTuple(key)} < ${paramTuple(key, r.hi, values)}`);
  return conds.length ? `WHERE ${conds.join(' AND ')}` : '';
}

function keyText(key: ColumnShape[], alias: string): string {
  return `ARRAY[${key.map((k) => `(${alias}.${quoteIdent(k.name)})::text`).join(', ')}]`;
}

function orderBy(key: ColumnShape[], alias = 't'): string {
  return key.map((k) => `${alias}.${quoteIdent(k.name)}${k.collatable ? ' COLLATE "C"' : ''}`).join(', ');
}

/**
 * Per-segment count and hash sum of a range split at `bounds` (segment i holds keys in [bounds[i-1], bounds[i])). A
 * one-column key finds its segment with `width_bucket(key, bounds)` (a binary search in the sorted bounds, in the
 * key's order: COLLATE "C" for a collatable key, as the bounds were chosen), so a wide fan-out costs a few comparisons
 * per row; a composite key with a CASE over row comparisons.
 */
export function segmentQuery(
  t: TableRef,
  shape: TableShape,
  method: HashMethod,
  r: KeyRange,
  bounds: string[][],
): Query {
  const values: unknown[] = [];
  const where = rangeWhere(shape.key, r, values);
  let seg = '0';
  if (bounds.length && shape.key.length === 1) {
    const k = shape.key[0];
    const items = bounds.map((b) => paramTuple(shape.key, b, values)).join(', ');
    seg = `width_bucket(${keyTuple(shape.key)}, ARRAY[${items}]::${k.type}[])`;
  } else if (bounds.length) {
    const whens = bounds
      .map((b, i) => `WHEN ${keyTuple(shape.key)} < ${paramTuple(shape.key, b, values)} THEN ${i}`)
      .join(' ');
    seg = `CASE ${whens} ELSE ${bounds.length} END`;
  }
  return {
    // OFFSET 0 keeps the subquery from being flattened: the planner then estimates a few hundred groups (not one per
    // key, which it infers from the key inside the segment expression) and hashes them instead of sorting every row
    // of the range on disk (measured at 230,769 rows: 0.34 s instead of 0.72–0.87 s).
    text: `SELECT seg, count(*)::text AS n, sum(h)::text AS s FROM (SELECT ${seg} AS seg, ${rowHashExpr(shape.columns, method)} AS h FROM ${quoteTable(t)} t ${where} OFFSET 0) x GROUP BY seg`,
    values,
  };
}

/** Split points for a generic key: every `step`-th key of the range in key order (at most `limit`). */
export function boundsQuery(t: TableRef, shape: TableShape, r: KeyRange, step: number, limit: number): Query {
  const values: unknown[] = [];
  const where = rangeWhere(shape.key, r, values);
  values.push(step, limit);
  const cols = shape.key.map((k) => `t.${quoteIdent(k.name)}`).join(', ');
  return {
    text: `SELECT ${keyText(shape.key, 's')} AS k FROM (SELECT ${cols}, row_number() OVER (ORDER BY ${orderBy(shape.key)}) AS rn FROM ${quoteTable(t)} t ${where}) s WHERE s.rn % $${values.length - 1} = 0 ORDER BY s.rn LIMIT $${values.length}`,
    values,
  };
}

/**
 * Smallest and largest key of a range (single integer key): no count, so PostgreSQL answers each with one probe of the
 * primary key's index (its min/max optimisation) instead of reading the range.
 */
export function minMaxQuery(t: TableRef, shape: TableShape, r: KeyRange): Query {
  const values: unknown[] = [];
  const where = rangeWhere(shape.key, r, values);
  const k = `t.${quoteIdent(shape.key[0].name)}`;
  return {
    text: `SELECT min(${k})::text AS lo, max(${k})::text AS hi FROM ${quoteTable(t)} t ${where}`,
    values,
  };
}

/** Per-key hashes of a (small) range. */
export function leafQuery(t: TableRef, shape: TableShape, method: HashMethod, r: KeyRange): Query {
  const values: unknown[] = [];
  const where = rangeWhere(shape.key, r, values);
  return {
    text: `SELECT ${keyText(shape.key, 't')} AS k, (${rowHashExpr(shape.columns, method)})::text AS h FROM ${quoteTable(t)} t ${where} ORDER BY ${orderBy(shape.key)}`,
    values,
  };
}

/** Integer split points of [lo, hi] into at most `fanout` parts. */
export function integerBounds(lo: bigint, hi: bigint, fanout: number): string[][] {
  const width = hi - lo + 1n;
  const out: string[][] = [];
  let last = lo;
  for (let i = 1; i < fanout; i++) {
    const b = lo + (width * BigInt(i)) / BigInt(fanout);
    if (b > last && b <= hi) {
      out.push([b.toString()]);
      last = b;
    }
  }
  return out;
}

/** A key value for messages: `id=7` or, composite, `(owner_id, slug)=(3, 'a')`. */
export function displayKey(key: ColumnShape[], tuple: string[]): string {
  if (key.length === 1) return `${key[0].name}=${tuple[0]}`;
  return `(${key.map((k) => k.name).join(', ')})=(${tuple.join(', ')})`;
}

/** A key range for messages, bounds shown with `displayKey` (open ends as -∞ / +∞). */
export function displayRange(key: ColumnShape[], r: KeyRange): string {
  const names = key.length === 1 ? key[0].name : `(${key.map((k) => k.name).join(', ')})`;
  const v = (t: string[]) => (t.length === 1 ? t[0] : `(${t.join(', ')})`);
  if (r.lo && r.last) return `${names} in [${v(r.lo)}, ${v(r.last)}]`;
  if (r.lo && r.hi) return `${names} in [${v(r.lo)}, ${v(r.hi)})`;
  if (r.lo) return `${names} >= ${v(r.lo)}`;
  if (r.hi) return `${names} < ${v(r.hi)}`;
  return 'whole table';
}

export interface Checksum {
  rows: string;
  sum: string;
}

export interface KeyDiff {
  key: string[];
  what: 'missing on target' | 'extra on target' | 'changed';
}

export interface Located {
  /** The smallest differing key ranges found, in key order. */
  ranges: KeyRange[];
  keys: KeyDiff[];
  queries: number;
  /** The search stopped at its budget before looking at every differing range. */
  truncated: boolean;
}

export interface BisectOptions {
  /**
   * Segments per range. Default: adaptive, enough for each segment to hold about `leafRows` rows (so a differing
   * segment is compared key by key at the next step), between 16 and BISECT_MAX_FANOUT: fewer levels, each one range
   * scan per side.
   */
  fanout?: number;
  /** A range with at most this many rows on either side is compared key by key. */
  leafRows?: number;
  maxKeys?: number;
  maxRanges?: number;
  /** Most segment queries (per side) one bisection may run. */
  budget?: number;
}

type Run = <T extends pg.QueryResultRow>(side: 'src' | 'dst', q: Query) => Promise<T[]>;

/** Most segments one range is split into (a segment query's parameters and result rows). */
export const BISECT_MAX_FANOUT = 1024;

type LeafRow = { k: string[]; h: string };

/**
 * One leaf range compared key by key: the keys missing on the target, changed, or extra on it (source key order
 * first, extra keys after), and the span of the differing keys within the leaf (key order), not the whole leaf. Pure.
 */
export function compareLeaf(a: LeafRow[], b: LeafRow[]): { diffs: KeyDiff[]; span?: { lo: string[]; last: string[] } } {
  const src = new Map(a.map((x) => [JSON.stringify(x.k), x]));
  const dst = new Map(b.map((x) => [JSON.stringify(x.k), x]));
  const diffs: KeyDiff[] = [];
  for (const [k, x] of src) {
    const y = dst.get(k);
    if (!y) diffs.push({ key: x.k, what: 'missing on target' });
    else if (y.h !== x.h) diffs.push({ key: x.k, what: 'changed' });
  }
  for (const [k, y] of dst) if (!src.has(k)) diffs.push({ key: y.k, what: 'extra on target' });
  if (!diffs.length) return { diffs };
  const order = [...new Set([...a.map((x) => JSON.stringify(x.k)), ...b.map((x) => JSON.stringify(x.k))])];
  const pos = new Map(order.map((k, i) => [k, i]));
  const sorted = diffs.map((d) => d.key).sort((x, y) => pos.get(JSON.stringify(x))! - pos.get(JSON.stringify(y))!);
  return { diffs, span: { lo: sorted[0], last: sorted[sorted.length - 1] } };
}

/** Narrow a checksum mismatch down to key ranges and keys (needs a primary key). */
export async function locateDifferences(
  run: Run,
  t: TableRef,
  shape: TableShape,
  method: HashMethod,
  totals: { src: bigint; dst: bigint },
  o: BisectOptions = {},
): Promise<Located> {
  const leafRows = o.leafRows ?? 256;
  const fanoutFor = (n: bigint): number => {
    if (o.fanout) return o.fanout;
    const want = (n + BigInt(leafRows) - 1n) / BigInt(leafRows);
    return Number(want < 16n ? 16n : want > BigInt(BISECT_MAX_FANOUT) ? BigInt(BISECT_MAX_FANOUT) : want);
  };
  const maxKeys = o.maxKeys ?? 5;
  const maxRanges = o.maxRanges ?? 5;
  let budget = o.budget ?? 200;
  const out: Located = { ranges: [], keys: [], queries: 0, truncated: false };
  const both = async <T extends pg.QueryResultRow>(q: Query) => {
    out.queries++;
    return Promise.all([run<T>('src', q), run<T>('dst', q)]);
  };
  const done = () => out.keys.length >= maxKeys || out.ranges.length >= maxRanges;

  const leaf = async (r: KeyRange) => {
    const [a, b] = await both<LeafRow>(leafQuery(t, shape, method, r));
    const { diffs, span } = compareLeaf(a, b);
    if (span) out.ranges.push(span);
    // Keys in key order as PostgreSQL returned them (src order first, extra keys after).
    for (const d of diffs) if (out.keys.length < maxKeys) out.keys.push(d);
  };

  const bounds = async (r: KeyRange, n: bigint): Promise<string[][]> => {
    const fanout = fanoutFor(n);
    if (shape.key.length === 1 && shape.key[0].integer) {
      const [a, b] = await both<{ lo: string | null; hi: string | null }>(minMaxQuery(t, shape, r));
      const los = [a[0].lo, b[0].lo].filter((x): x is string => x !== null).map(BigInt);
      const his = [a[0].hi, b[0].hi].filter((x): x is string => x !== null).map(BigInt);
      if (!los.length) return [];
      const lo = los.reduce((x, y) => (y < x ? y : x));
      const hi = his.reduce((x, y) => (y > x ? y : x));
      return integerBounds(lo, hi, fanout);
    }
    const step = Number((n + BigInt(fanout) - 1n) / BigInt(fanout));
    const side = 'src';
    out.queries++;
    const rows = await run<{ k: string[] }>(side, boundsQuery(t, shape, r, Math.max(1, step), fanout - 1));
    return rows.map((x) => x.k);
  };

  const visit = async (r: KeyRange, n: bigint): Promise<void> => {
    if (done()) return;
    if (n <= BigInt(leafRows)) return leaf(r);
    if (budget-- <= 0) {
      out.truncated = true;
      out.ranges.push(r);
      return;
    }
    let b = await bounds(r, n);
    if (!b.length) return leaf(r);
    const [a, c] = await both<{ seg: number; n: string; s: string }>(segmentQuery(t, shape, method, r, b));
    const src = new Map(a.map((x) => [Number(x.seg), x]));
    const dst = new Map(c.map((x) => [Number(x.seg), x]));
    for (let i = 0; i <= b.length; i++) {
      if (done()) return;
      const x = src.get(i);
      const y = dst.get(i);
      if ((x?.n ?? '0') === (y?.n ?? '0') && (x?.s ?? null) === (y?.s ?? null)) continue;
      const sub: KeyRange = { lo: i === 0 ? r.lo : b[i - 1], hi: i === b.length ? r.hi : b[i] };
      const rows = [x?.n, y?.n].map((v) => BigInt(v ?? '0')).reduce((p, q) => (q > p ? q : p));
      await visit(sub, rows);
    }
  };

  await visit({}, totals.src > totals.dst ? totals.src : totals.dst);
  return out;
}

export interface TableChecksumResult {
  /** Why the table could not be checksummed (missing on a side; columns differ). */
  problem?: string;
  method?: HashMethod;
  src?: Checksum;
  dst?: Checksum;
  equal?: boolean;
  hasKey?: boolean;
  shape?: TableShape;
  /** The two sides order the columns differently (compared by name; compareShapes). */
  orderNote?: string;
  ms: { src?: number; dst?: number };
}

/** Read the table's shape on both sides and compare columns; null problem when the checksum can run. */
export async function compareTable(
  pools: { src: pg.Pool; dst: pg.Pool },
  t: TableRef,
  o: { method?: HashMethod } = {},
): Promise<TableChecksumResult> {
  const [sRows, dRows] = await Promise.all([
    withPinned(pools.src, async (c) => (await c.query<ShapeRow>(shapeQuery(t).text, shapeQuery(t).values)).rows),
    withPinned(pools.dst, async (c) => (await c.query<ShapeRow>(shapeQuery(t).text, shapeQuery(t).values)).rows),
  ]);
  const cmp = compareShapes(shapeFromRows(sRows), shapeFromRows(dRows), o.method);
  const ms: TableChecksumResult['ms'] = {};
  if (cmp.problem !== undefined) return { problem: cmp.problem, ms };
  const { shape, method } = cmp;
  const columns = shape.columns;
  const q = checksumQuery(t, columns, method);
  const timed = async (pool: pg.Pool, side: 'src' | 'dst') => {
    const t0 = performance.now();
    const r = await withPinned(pool, async (c) => (await c.query<{ n: string; s: string }>(q.text, q.values)).rows[0]);
    ms[side] = Math.round(performance.now() - t0);
    return { rows: r.n, sum: r.s };
  };
  const [a, b] = await Promise.all([timed(pools.src, 'src'), timed(pools.dst, 'dst')]);
  return {
    method,
    src: a,
    dst: b,
    equal: a.rows === b.rows && a.sum === b.sum,
    hasKey: cmp.hasKey,
    shape,
    ...(cmp.orderNote ? { orderNote: cmp.orderNote } : {}),
    ms,
  };
}

/** The outcome of comparing a table's shapes: why it cannot be checksummed, or the shape and method both sides use. */
export type ShapeComparison =
  | { problem: string; shape?: undefined; method?: undefined; hasKey?: undefined; orderNote?: undefined }
  | { problem?: undefined; shape: TableShape; method: HashMethod; hasKey: boolean; orderNote?: string };

/**
 * Compare the shapes of one table on both sides (pure): a problem when it is missing on a side or its columns differ
 * (a name or type missing or extra on a side); else the shape to hash with (a column is hashed as a value only when
 * it is hashable on both sides), the method (from the lower server version) and whether both sides have the same
 * primary key (bisection needs one).
 *
 * Columns are matched BY NAME: the row hash lists them by name in the source's order, so the same SQL means the same
 * values on both sides whatever each side's physical column order. A different order alone is no difference:
 * pg_dump recreates an inheritance child with its inherited columns first (a column the parent gained later moves;
 * gpdb#4955), so such a child compares every row, and `orderNote` says the order differs.
 */
export function compareShapes(src: TableShape, dst: TableShape, forced?: HashMethod): ShapeComparison {
  if (!src.exists && !dst.exists) return { problem: 'the table exists on neither side' };
  if (!dst.exists) return { problem: 'the table is missing on the target' };
  if (!src.exists) return { problem: 'the table is missing on the source' };
  const sig = (c: ColumnShape) => `${c.name} ${c.type}`;
  const sCols = src.columns.map(sig);
  const dCols = dst.columns.map(sig);
  const missing = sCols.filter((x) => !dCols.includes(x));
  const extra = dCols.filter((x) => !sCols.includes(x));
  if (missing.length || extra.length) {
    const parts = [
      missing.length ? `missing or different on target: ${missing.join(', ')}` : '',
      extra.length ? `extra or different on target: ${extra.join(', ')}` : '',
    ].filter(Boolean);
    return { problem: `columns differ (${parts.join('; ')})` };
  }
  const orderNote =
    sCols.join('\n') === dCols.join('\n')
      ? undefined
      : `column order differs (source: ${src.columns.map((c) => c.name).join(', ')}; target: ${dst.columns.map((c) => c.name).join(', ')}): columns compared by name`;
  const byName = new Map(dst.columns.map((c) => [c.name, c]));
  // The same SQL on both sides: a column is hashed as a value only when it is hashable on both.
  const columns = src.columns.map((c) => {
    const d = byName.get(c.name)!;
    return { ...c, hashable: c.hashable && d.hashable, outputFn: c.outputFn ?? d.outputFn };
  });
  const shape: TableShape = {
    ...src,
    columns,
    key: columns.filter((c) => c.pkOrd !== null).sort((a, b) => a.pkOrd! - b.pkOrd!),
  };
  const method = forced ?? hashMethod(Math.min(src.version, dst.version));
  const sameKey = src.key.map((k) => k.name).join() === dst.key.map((k) => k.name).join();
  return { shape, method, hasKey: shape.key.length > 0 && sameKey, ...(orderNote ? { orderNote } : {}) };
}

/** Run a query on one side inside the pinned session. */
export function sideRunner(pools: { src: pg.Pool; dst: pg.Pool }): Run {
  return async <T extends pg.QueryResultRow>(side: 'src' | 'dst', q: Query) =>
    withPinned(pools[side], async (c) => (await c.query<T>(q.text, q.values as unknown[])).rows);
}
