/**
 * pgvector: the extension's version on both sides, and per vector column (vector or halfvec) the declared type, the
 * non-null count and min/max vector_dims, the validity of its HNSW/IVFFlat indexes, and an exact nearest-neighbour
 * query for a few sampled vectors that must return the same ids on both sides.
 */
import { quoteIdent, quoteTable, type TableRef } from '../core/ident.ts';
import type { Query } from '../core/query.ts';
import { SYSTEM_SCHEMA_FILTER } from '../core/catalog.ts';

export const EXTENSION_SQL = `SELECT e.extversion AS version, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'`;

export interface VectorColumn {
  table: TableRef;
  column: string;
  /** vector or halfvec */
  type: string;
}

export const VECTOR_COLUMNS_SQL = `SELECT n.nspname AS schema, c.relname AS table_name, a.attname AS column_name, t.typname AS type
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p') AND NOT c.relispartition
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_depend d ON d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'vector'
WHERE a.attnum > 0 AND NOT a.attisdropped AND t.typname IN ('vector', 'halfvec') AND ${SYSTEM_SCHEMA_FILTER}
ORDER BY 1, 2, 3`;

/** The rows of VECTOR_COLUMNS_SQL as VectorColumns (`{ table: {schema, name}, column, type }`), in query order. */
export function vectorColumnsFromRows(rows: Array<Record<string, string>>): VectorColumn[] {
  return rows.map((r) => ({ table: { schema: r.schema, name: r.table_name }, column: r.column_name, type: r.type }));
}

export interface ColumnStats {
  declared: string | null;
  non_null: string;
  min_dims: number | null;
  max_dims: number | null;
  indexes: Array<{ name: string; am: string; valid: boolean; ready: boolean }>;
  /** Single-column primary key, when there is one (for the nearest-neighbour check). */
  pk: string | null;
  rows_estimate: number;
}

/** Declared type, counts, dims and the column's vector indexes, in one statement (`ext` = the extension's schema). */
export function columnStatsQuery(v: VectorColumn, ext: string): Query {
  const col = quoteIdent(v.column);
  return {
    text: `WITH rel AS (SELECT to_regclass($1) AS oid),
att AS (SELECT a.attnum, format_type(a.atttypid, a.atttypmod) AS declared FROM pg_attribute a, rel WHERE a.attrelid = rel.oid AND a.attname = $2 AND NOT a.attisdropped)
SELECT (SELECT declared FROM att) AS declared,
  s.non_null, s.min_dims, s.max_dims,
  coalesce((SELECT json_agg(json_build_object('name', ic.relname, 'am', am.amname, 'valid', i.indisvalid, 'ready', i.indisready) ORDER BY ic.relname)
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam, rel, att
    WHERE i.indrelid = rel.oid AND am.amname IN ('hnsw', 'ivfflat') AND att.attnum = ANY (i.indkey::int2[])), '[]') AS indexes,
  (SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0], rel
    WHERE i.indrelid = rel.oid AND i.indisprimary AND i.indnatts = 1) AS pk,
  (SELECT c.reltuples FROM pg_class c, rel WHERE c.oid = rel.oid)::float8 AS rows_estimate
FROM (SELECT count(${col})::text AS non_null, min(${quoteIdent(ext)}.vector_dims(${col})) AS min_dims, max(${quoteIdent(ext)}.vector_dims(${col})) AS max_dims
      FROM ${quoteTable(v.table)}) s`,
    values: [quoteTable(v.table), v.column],
  };
}

/** A few query vectors, spread over the key order (ids and vectors as text). */
export function sampleVectorsQuery(v: VectorColumn, pk: string, n: number): Query {
  const col = quoteIdent(v.column);
  return {
    text: `SELECT ${quoteIdent(pk)}::text AS id, ${col}::text AS vec FROM ${quoteTable(v.table)} WHERE ${col} IS NOT NULL ORDER BY ${quoteIdent(pk)} LIMIT $1`,
    values: [n],
  };
}

/** Exact k nearest neighbours by L2 distance (ties broken by key): run with index scans disabled. */
export function nearestQuery(v: VectorColumn, pk: string, ext: string, vec: string, k: number): Query {
  const col = quoteIdent(v.column);
  const e = quoteIdent(ext);
  return {
    text: `SELECT ${quoteIdent(pk)}::text AS id FROM ${quoteTable(v.table)} WHERE ${col} IS NOT NULL
ORDER BY ${col} OPERATOR(${e}.<->) $1::${e}.${quoteIdent(v.type)}, ${quoteIdent(pk)} LIMIT $2`,
    values: [vec, k],
  };
}
