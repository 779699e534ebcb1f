/**
 * pgvector: the extension's version on both sides, and per embedding column (`vector`, `halfvec`, `sparsevec`, and
 * binary-quantized `bit` / `varbit`) the declared type, the non-null count per dimension, the HNSW/IVFFlat indexes
 * on it (present, valid, same definition), and exact nearest-neighbour queries for a few sampled vectors that must
 * return the same ids on both sides.
 *
 * A column may hold vectors of several dimensions (an unconstrained `vector` column fed by two embedding models):
 * distances only exist between vectors of one dimension (pgvector raises "different vector dimensions"), so the
 * nearest-neighbour step runs per dimension group, up to NN_MAX_GROUPS groups; the evidence says so.
 */
import { quoteIdent, quoteTable, type TableRef } from '../../../core/ident.ts';
import type { Query } from '../../../core/query.ts';
import { SYSTEM_SCHEMA_FILTER } from '../../../core/catalog.ts';

export const EXTENSION_SQL = `SELECT e.extversion AS version, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'`;

/** The embedding column types checked: pgvector's own, and PostgreSQL's bit strings (binary quantization). */
export type VectorType = 'vector' | 'halfvec' | 'sparsevec' | 'bit' | 'varbit';

export interface VectorColumn {
  table: TableRef;
  column: string;
  type: VectorType;
}

/**
 * Every column of a user table whose type is pgvector's `vector`, `halfvec` or `sparsevec` (types that belong to the
 * extension), or a `bit`/`varbit` column in a database where the extension is installed (binary-quantized
 * embeddings are stored as bit strings and searched with pgvector's Hamming operator `<~>`).
 */
export const VECTOR_COLUMNS_SQL = `SELECT n.nspname AS schema, c.relname AS table_name, a.attname AS column_name, t.typname AS type
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p') AND NOT c.relispartition
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attnum > 0 AND NOT a.attisdropped AND ${SYSTEM_SCHEMA_FILTER}
  AND ((t.typname IN ('vector', 'halfvec', 'sparsevec') AND EXISTS (
        SELECT 1 FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'vector'
        WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'))
    OR (t.oid IN ('pg_catalog.bit'::regtype, 'pg_catalog.varbit'::regtype)
        AND EXISTS (SELECT 1 FROM pg_extension e WHERE e.extname = 'vector')))
ORDER BY 1, 2, 3`;

/** The rows of VECTOR_COLUMNS_SQL as VectorColumns (`{ table: {schema, name}, column, type }`), in query order. */
export function vectorColumnsFromRows(rows: Array<Record<string, string>>): VectorColumn[] {
  return rows.map((r) => ({
    table: { schema: r.schema, name: r.table_name },
    column: r.column_name,
    type: r.type as VectorType,
  }));
}

/** The dimension of one value, as SQL (`ext` = the extension's schema). */
export function dimsExpr(v: VectorColumn, ext: string): string {
  const col = quoteIdent(v.column);
  switch (v.type) {
    case 'vector':
    case 'halfvec':
      return `${quoteIdent(ext)}.vector_dims(${col})`;
    case 'sparsevec':
      // The text form is `{i:x,...}/dims`; pgvector 0.8 has no vector_dims(sparsevec).
      return `pg_catalog.split_part(${col}::text, '/', 2)::int`;
    default:
      return `pg_catalog.length(${col})`;
  }
}

/** The distance operator the exact nearest-neighbour query orders by: L2 for vectors, Hamming for bit strings. */
export function distanceOperator(v: VectorColumn, ext: string): string {
  return `OPERATOR(${quoteIdent(ext)}.${v.type === 'bit' || v.type === 'varbit' ? '<~>' : '<->'})`;
}

/** The query vector's cast (a bit string goes through varbit: `'1010'::bit` would be bit(1)). */
function paramCast(v: VectorColumn, ext: string): string {
  return v.type === 'bit' || v.type === 'varbit' ? 'pg_catalog.varbit' : `${quoteIdent(ext)}.${quoteIdent(v.type)}`;
}

export interface DimsGroup {
  dims: number;
  /** Non-null values of this dimension (text: int8). */
  n: string;
}

export interface ColumnStats {
  declared: string | null;
  non_null: string;
  min_dims: number | null;
  max_dims: number | null;
  /** Non-null values per dimension, by dimension (at most DIMS_GROUPS_SHOWN; `groups_total` says how many there are). */
  groups: DimsGroup[];
  groups_total: number;
  indexes: Array<{ name: string; am: string; valid: boolean; ready: boolean; def: string }>;
  /** Single-column primary key, when there is one (for the nearest-neighbour check). */
  pk: string | null;
  rows_estimate: number;
}

/** How many dimension groups are returned (and compared) per column. */
export const DIMS_GROUPS_SHOWN = 50;

/**
 * Declared type, counts per dimension, and the column's vector indexes (HNSW/IVFFlat, on the column or on an
 * expression over it, e.g. `binary_quantize(embedding)::bit(n)`), in one statement with one scan of the table.
 */
export function columnStatsQuery(v: VectorColumn, ext: string): Query {
  const col = quoteIdent(v.column);
  return {
    text: `WITH rel AS (SELECT to_regclass($1) AS oid),
att AS (SELECT a.attnum, format_type(a.atttypid, a.atttypmod) AS declared FROM pg_attribute a, rel WHERE a.attrelid = rel.oid AND a.attname = $2 AND NOT a.attisdropped),
g AS (SELECT ${dimsExpr(v, ext)} AS dims, count(*) AS n FROM ${quoteTable(v.table)} WHERE ${col} IS NOT NULL GROUP BY 1)
SELECT (SELECT declared FROM att) AS declared,
  coalesce((SELECT sum(n) FROM g), 0)::text AS non_null,
  (SELECT min(dims) FROM g) AS min_dims, (SELECT max(dims) FROM g) AS max_dims,
  coalesce((SELECT json_agg(json_build_object('dims', dims, 'n', n::text) ORDER BY dims)
    FROM (SELECT * FROM g ORDER BY dims LIMIT ${DIMS_GROUPS_SHOWN}) x), '[]') AS groups,
  (SELECT count(*) FROM g)::int AS groups_total,
  coalesce((SELECT json_agg(json_build_object('name', ic.relname, 'am', am.amname, 'valid', i.indisvalid, 'ready', i.indisready,
      'def', pg_get_indexdef(i.indexrelid)) ORDER BY ic.relname)
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam, rel, att
    WHERE i.indrelid = rel.oid AND am.amname IN ('hnsw', 'ivfflat')
      AND (att.attnum = ANY (i.indkey::int2[]) OR EXISTS (
        SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
          AND d.refclassid = 'pg_class'::regclass AND d.refobjid = rel.oid AND d.refobjsubid = att.attnum))), '[]') AS indexes,
  (SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0], rel
    WHERE i.indrelid = rel.oid AND i.indisprimary AND i.indnatts = 1) AS pk,
  (SELECT c.reltuples FROM pg_class c, rel WHERE c.oid = rel.oid)::float8 AS rows_estimate`,
    values: [quoteTable(v.table), v.column],
  };
}

/** A few query vectors of one dimension (`dims`), the first by key (ids and vectors as text). */
export function sampleVectorsQuery(v: VectorColumn, pk: string, n: number, ext = 'public', dims?: number): Query {
  const col = quoteIdent(v.column);
  const group = dims === undefined ? '' : ` AND ${dimsExpr(v, ext)} = $2`;
  return {
    text: `SELECT ${quoteIdent(pk)}::text AS id, ${col}::text AS vec FROM ${quoteTable(v.table)} WHERE ${col} IS NOT NULL${group} ORDER BY ${quoteIdent(pk)} LIMIT $1`,
    values: dims === undefined ? [n] : [n, dims],
  };
}

/**
 * Exact k nearest neighbours (L2 for vectors, Hamming for bit strings; ties broken by key) among the values of the
 * same dimension as the query vector: run with index scans disabled.
 */
export function nearestQuery(v: VectorColumn, pk: string, ext: string, vec: string, k: number, dims?: number): Query {
  const col = quoteIdent(v.column);
  const group = dims === undefined ? '' : ` AND ${dimsExpr(v, ext)} = $3`;
  return {
    text: `SELECT ${quoteIdent(pk)}::text AS id FROM ${quoteTable(v.table)} WHERE ${col} IS NOT NULL${group}
ORDER BY ${col} ${distanceOperator(v, ext)} $1::${paramCast(v, ext)}, ${quoteIdent(pk)} LIMIT $2`,
    values: dims === undefined ? [vec, k] : [vec, k, dims],
  };
}

/** `3×10, 4×10` (dimension × count). */
export function describeGroups(groups: DimsGroup[], total: number): string {
  const shown = groups.map((g) => `${g.dims}×${g.n}`).join(', ') || 'none';
  return total > groups.length ? `${shown}, … (${total} dimensions)` : shown;
}
