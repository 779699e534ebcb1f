/**
 * Sequences owned by a column (serial: pg_depend deptype 'a'; identity: 'i'), and sequences owned by no column (a
 * shared order-number sequence used through `DEFAULT nextval(...)`, or called by the application). After a restore,
 * the next value a sequence hands out must be past every value already in the column(s) it feeds, else the next insert
 * fails with a duplicate key; and with the source frozen during a rehearsal, last_value and is_called must equal the
 * source's (pg_dump's SEQUENCE SET entry carries them for every sequence, owned or not).
 */
import { quoteIdent, quoteTable, type TableRef } from '../../../core/ident.ts';
import type { Query } from '../../../core/query.ts';
import { SYSTEM_SCHEMA_FILTER } from '../../../core/catalog.ts';

export interface OwnedSequence {
  sequence: TableRef;
  table: TableRef;
  column: string;
  /** 'serial' (deptype a) or 'identity' (deptype i). */
  kind: 'serial' | 'identity';
}

export const OWNED_SEQUENCES_SQL = `SELECT sn.nspname AS seq_schema, s.relname AS seq_name, tn.nspname AS table_schema, t.relname AS table_name,
  a.attname AS column_name, CASE d.deptype WHEN 'i' THEN 'identity' ELSE 'serial' END AS kind
FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
  AND ${SYSTEM_SCHEMA_FILTER}
ORDER BY 1, 2`;

/** The rows of OWNED_SEQUENCES_SQL as OwnedSequences (sequence, owning table and column, serial or identity). */
export function ownedFromRows(rows: Array<Record<string, string>>): OwnedSequence[] {
  return rows.map((r) => ({
    sequence: { schema: r.seq_schema, name: r.seq_name },
    table: { schema: r.table_schema, name: r.table_name },
    column: r.column_name,
    kind: r.kind as OwnedSequence['kind'],
  }));
}

/** The sequence's state and its column's extremes, in one statement. */
export function sequenceStateQuery(s: OwnedSequence): Query {
  const col = quoteIdent(s.column);
  return {
    text: `SELECT q.last_value::text AS last_value, q.is_called,
  (SELECT ps.seqincrement::text FROM pg_sequence ps WHERE ps.seqrelid = to_regclass($1)) AS increment,
  (SELECT max(${col})::text FROM ${quoteTable(s.table)}) AS max_value,
  (SELECT min(${col})::text FROM ${quoteTable(s.table)}) AS min_value
FROM ${quoteTable(s.sequence)} q`,
    values: [quoteTable(s.sequence)],
  };
}

export interface SequenceState {
  last_value: string;
  is_called: boolean;
  increment: string;
  max_value: string | null;
  min_value: string | null;
}

/** The value nextval() returns next (is_called false: last_value itself). */
export function nextValue(s: SequenceState): bigint {
  return s.is_called ? BigInt(s.last_value) + BigInt(s.increment) : BigInt(s.last_value);
}

/** Why the next insert would collide, or undefined. Ascending: next > max(column); descending: next < min(column). */
export function collision(s: SequenceState): string | undefined {
  const next = nextValue(s);
  const inc = BigInt(s.increment);
  if (inc > 0n && s.max_value !== null && next <= BigInt(s.max_value))
    return `next value ${next} <= max(column) ${s.max_value}`;
  if (inc < 0n && s.min_value !== null && next >= BigInt(s.min_value))
    return `next value ${next} >= min(column) ${s.min_value}`;
  return undefined;
}

/**
 * A sequence owned by no column, with the integer columns whose DEFAULT calls it (pg_depend from the column's
 * pg_attrdef to the sequence, deptype 'n'); `users` may be empty (only the application calls it).
 */
export interface UnownedSequence {
  sequence: TableRef;
  users: Array<{ table: TableRef; column: string }>;
}

export const UNOWNED_SEQUENCES_SQL = `SELECT sn.nspname AS seq_schema, s.relname AS seq_name,
  coalesce((SELECT json_agg(json_build_object('schema', tn.nspname, 'name', t.relname, 'column', a.attname) ORDER BY tn.nspname, t.relname, a.attname)
    FROM pg_depend d
    JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid
    JOIN pg_class t ON t.oid = ad.adrelid
    JOIN pg_namespace tn ON tn.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
    WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = s.oid
      AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype)), '[]') AS users
FROM pg_class s
JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_namespace n ON n.oid = s.relnamespace
WHERE s.relkind = 'S' AND ${SYSTEM_SCHEMA_FILTER}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid
    AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i'))
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype = 'e')
ORDER BY 1, 2`;

export function unownedFromRows(
  rows: Array<{ seq_schema: string; seq_name: string; users: Array<{ schema: string; name: string; column: string }> }>,
): UnownedSequence[] {
  return rows.map((r) => ({
    sequence: { schema: r.seq_schema, name: r.seq_name },
    users: r.users.map((u) => ({ table: { schema: u.schema, name: u.name }, column: u.column })),
  }));
}

/** The state of an unowned sequence and the extremes over every column it feeds (NULL without users or rows). */
export function unownedStateQuery(s: UnownedSequence): Query {
  const over = (agg: 'max' | 'min') =>
    s.users.length
      ? `${agg === 'max' ? 'GREATEST' : 'LEAST'}(${s.users.map((u) => `(SELECT ${agg === 'max' ? 'ceil' : 'floor'}(${agg}(${quoteIdent(u.column)})::numeric) FROM ${quoteTable(u.table)})`).join(', ')})::text`
      : 'NULL::text';
  return {
    text: `SELECT q.last_value::text AS last_value, q.is_called,
  (SELECT ps.seqincrement::text FROM pg_sequence ps WHERE ps.seqrelid = to_regclass($1)) AS increment,
  ${over('max')} AS max_value,
  ${over('min')} AS min_value
FROM ${quoteTable(s.sequence)} q`,
    values: [quoteTable(s.sequence)],
  };
}
