/**
 * The one home of "what is the application's" in the catalogs: the system-schema filter, the "not an extension
 * member" condition, and the catalog queries built on them (user tables, declared foreign keys, column existence)
 * that discovery (lib/checks/shared/discovery.ts), the dump's progress, the deeper checks and the bench use.
 */
import type { TableRef } from './ident.ts';
import { SYSTEM_SCHEMA_FILTER, type Query } from './query.ts';

export { SYSTEM_SCHEMA_FILTER };

/**
 * SQL condition: the object `oid` of catalog `classid` (e.g. `'pg_class'`, `'c.oid'`) is not a member of an extension
 * (pg_depend deptype 'e'; e.g. PostGIS's spatial_ref_sys or pgvector's types are the extension's, not the application's).
 */
export function notExtensionMember(classid: string, oid: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${classid}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;
}

const NOT_EXTENSION_MEMBER = notExtensionMember('pg_class', 'c.oid');

/**
 * Every user table: ordinary tables and partitioned parents, never a partition (its rows are counted through its
 * parent), nothing in a system schema, nothing owned by an extension.
 */
export function userTablesQuery(): Query {
  return {
    text: `SELECT n.nspname AS schema, c.relname AS name
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND NOT c.relispartition
  AND ${SYSTEM_SCHEMA_FILTER}
  AND ${NOT_EXTENSION_MEMBER}
ORDER BY n.nspname, c.relname`,
    values: [],
  };
}

/** The tables whose contents pg_dump dumps: ordinary tables (partitions included) outside system schemas and extensions. */
const DUMPED_TABLES = `FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND ${SYSTEM_SCHEMA_FILTER}
  AND ${NOT_EXTENSION_MEMBER}`;

/**
 * How many tables pg_dump will dump the contents of (TABLE DATA entries), for the dump's progress total: every
 * ordinary table, partitions included (their rows are dumped one by one), outside system schemas and extensions.
 */
export function tableDataCountQuery(): Query {
  return {
    text: `SELECT count(*)::int AS n
${DUMPED_TABLES}`,
    values: [],
  };
}

/**
 * The size of every table whose contents pg_dump dumps (the same tables as tableDataCountQuery), for byte progress:
 * `name` as pg_dump --verbose prints it (`schema.table`), `bytes` = pg_table_size (heap + TOAST, no indexes).
 */
export function tableDataSizesQuery(): Query {
  return {
    text: `SELECT n.nspname || '.' || c.relname AS name, pg_table_size(c.oid)::bigint AS bytes
${DUMPED_TABLES}`,
    values: [],
  };
}

/**
 * Every declared foreign key, composite keys included (columns in key order). A foreign key a partitioned table
 * declares is cloned onto each partition (conparentid <> 0): only the parent's is listed, so nothing is checked twice.
 * A foreign key declared on a partition itself (conparentid = 0; pagila's `payment_p2022_*`, pg_partman's
 * partition-level keys) is listed with the partition as its child table.
 */
export function foreignKeysQuery(): Query {
  const cols = (keys: string, rel: string) => `ARRAY(
    SELECT a.attname::text FROM unnest(con.${keys}) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = con.${rel} AND a.attnum = k.attnum
    ORDER BY k.ord)`;
  return {
    text: `SELECT con.conname::text AS name,
  n.nspname::text AS child_schema, c.relname::text AS child_table, ${cols('conkey', 'conrelid')} AS child_columns,
  pn.nspname::text AS parent_schema, p.relname::text AS parent_table, ${cols('confkey', 'confrelid')} AS parent_columns
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class p ON p.oid = con.confrelid
JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE con.contype = 'f'
  AND con.conparentid = 0
  AND ${SYSTEM_SCHEMA_FILTER}
  AND ${NOT_EXTENSION_MEMBER}
ORDER BY n.nspname, c.relname, con.conname`,
    values: [],
  };
}

/**
 * columnExistsQuery for several columns in one round trip: one row per input column, in input order, with `i` (0-based
 * position), `table_exists` and `column_exists`. `columns` may be empty (no rows).
 */
export function columnsExistQuery(columns: Array<{ table: TableRef; column: string }>): Query {
  return {
    text: `SELECT (k.i - 1)::int AS i, c.oid IS NOT NULL AS table_exists,
  EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = k.col AND a.attnum > 0 AND NOT a.attisdropped) AS column_exists
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS k(sch, rel, col, i)
LEFT JOIN (pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace)
  ON n.nspname = k.sch AND c.relname = k.rel AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY k.i`,
    values: [columns.map((c) => c.table.schema), columns.map((c) => c.table.name), columns.map((c) => c.column)],
  };
}

/** Whether a table (any relation with columns) exists, and whether it has `column`: one row, two booleans. */
export function columnExistsQuery(table: TableRef, column: string): Query {
  return {
    text: `SELECT c.oid IS NOT NULL AS table_exists,
  EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped) AS column_exists
FROM (SELECT NULL) AS one
LEFT JOIN (pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = $1)
  ON c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
    values: [table.schema, table.name, column],
  };
}
