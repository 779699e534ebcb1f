/**
 * Sequences owned by a column (serial: pg_depend deptype 'a'; identity: 'i'). After a restore, the next value a
 * sequence hands out must be past every value already in its column, else the next insert fails with a duplicate key;
 * and with the source frozen during a rehearsal, last_value and is_called must equal the source's.
 */
import { quoteIdent, quoteTable, type TableRef } from '../core/ident.ts';
import type { Query } from '../core/query.ts';
import { SYSTEM_SCHEMA_FILTER } from '../core/catalog.ts';

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
