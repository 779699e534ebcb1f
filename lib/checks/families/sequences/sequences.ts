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

/**
 * The first value nextval() would hand out that a column fed by the sequence already holds (`collides_at`, text, or
 * NULL: none on its path), over alias `x` (next value, numeric) and `ps` (seqincrement): ascending, the smallest
 * existing value >= next on the progression next + k*increment; descending, the largest <= next. The bound is compared
 * as int8 so a btree index on the column serves it.
 */
function collidesAtExpr(users: Array<{ table: TableRef; column: string }>): string {
  if (!users.length) return 'NULL::text';
  const one = (u: { table: TableRef; column: string }, asc: boolean) => {
    const col = quoteIdent(u.column);
    const bound = asc ? 'LEAST(x.next, 9223372036854775807)::int8' : 'GREATEST(x.next, -9223372036854775808)::int8';
    return asc
      ? `(SELECT min(${col}) FROM ${quoteTable(u.table)} WHERE ${col} >= ${bound} AND (${col}::numeric - x.next) % ps.seqincrement = 0)`
      : `(SELECT max(${col}) FROM ${quoteTable(u.table)} WHERE ${col} <= ${bound} AND (x.next - ${col}::numeric) % (-ps.seqincrement) = 0)`;
  };
  const all = (asc: boolean) =>
    users.length === 1
      ? one(users[0], asc)
      : `${asc ? 'LEAST' : 'GREATEST'}(${users.map((u) => one(u, asc)).join(', ')})`;
  return `(CASE WHEN ps.seqincrement > 0 THEN ${all(true)}::numeric ELSE ${all(false)}::numeric END)::int8::text`;
}

/** The FROM part shared by the state queries: the sequence `q`, its increment `ps`, its next value `x.next`. */
function stateFrom(seq: TableRef): string {
  return `FROM ${quoteTable(seq)} q
CROSS JOIN (SELECT p.seqincrement FROM pg_sequence p WHERE p.seqrelid = to_regclass($1)) ps
CROSS JOIN LATERAL (SELECT CASE WHEN q.is_called THEN q.last_value::numeric + ps.seqincrement ELSE q.last_value::numeric END AS next) x`;
}

/** The sequence's state, its column's extremes and the first value that collides (collidesAtExpr), in one statement. */
export function sequenceStateQuery(s: OwnedSequence): Query {
  const col = quoteIdent(s.column);
  return {
    text: `SELECT q.last_value::text AS last_value, q.is_called, ps.seqincrement::text AS increment,
  (SELECT max(${col})::text FROM ${quoteTable(s.table)}) AS max_value,
  (SELECT min(${col})::text FROM ${quoteTable(s.table)}) AS min_value,
  ${collidesAtExpr([s])} AS collides_at
${stateFrom(s.sequence)}`,
    values: [quoteTable(s.sequence)],
  };
}

export interface SequenceState {
  last_value: string;
  is_called: boolean;
  increment: string;
  max_value: string | null;
  min_value: string | null;
  /** The first existing column value nextval() would reach (collidesAtExpr); null or absent: none. */
  collides_at?: string | null;
}

/** The value nextval() returns next (is_called false: last_value itself). */
export function nextValue(s: SequenceState): bigint {
  return s.is_called ? BigInt(s.last_value) + BigInt(s.increment) : BigInt(s.last_value);
}

/** Where nextval() meets a value the column already holds. */
export interface Collision {
  next: bigint;
  /** The existing value it reaches. */
  at: bigint;
  /** nextval() calls until it returns `at` (1: the very next one). */
  calls: bigint;
  /** `next value 2 <= max(column) 100 and already in the column: the next insert collides`, or how many calls later. */
  text: string;
}

/**
 * When the sequence's next values collide with the column's existing ones, or undefined (pure). A next value at or
 * below max(column) collides only when nextval() actually reaches an existing value (a legacy explicit id far above
 * a sequence's gap is reached after many calls, a column with no value on the sequence's path never): `collides_at`
 * is that value, and the number of calls is (at - next) / increment + 1.
 */
export function collision(s: SequenceState): Collision | undefined {
  if (s.collides_at === null || s.collides_at === undefined) return undefined;
  const next = nextValue(s);
  const inc = BigInt(s.increment);
  const at = BigInt(s.collides_at);
  const calls = (at - next) / inc + 1n;
  const edge =
    inc > 0n ? `next value ${next} <= max(column) ${s.max_value}` : `next value ${next} >= min(column) ${s.min_value}`;
  const text =
    calls === 1n
      ? `${edge} and already in the column: the next insert collides`
      : `${edge}: nextval() reaches the existing value ${at} after ${calls - 1n} more calls, so insert number ${calls} collides`;
  return { next, at, calls, text };
}

/** What the sequence rule decided: a failure, a warning (a pre-existing source defect), and evidence lines. */
export interface SequenceJudgement {
  failure?: string;
  warning?: string;
  evidence: string[];
}

/**
 * The sequence rule (pure): red when the target's next values collide with its column, unless the source has the
 * same state and the same collision — a defect the copy carried, not made: reported like a pre-existing orphan, as a
 * warning with the source and target values (a failure under PREEXISTING_DEFECTS_FAIL=1). Red when last_value or
 * is_called differ from the source's (a copy-induced regression, whatever the source's own state).
 */
export function judgeSequence(
  name: string,
  feeds: string,
  src: SequenceState | undefined,
  dst: SequenceState,
  o: { preexistingDefectsFail: boolean },
): SequenceJudgement {
  const problems: string[] = [];
  const evidence: string[] = [];
  const c = collision(dst);
  const sameState = !!src && src.last_value === dst.last_value && src.is_called === dst.is_called;
  const sc = src ? collision(src) : undefined;
  const preexisting = !!c && sameState && !!sc && sc.at === c.at;
  let warning: string | undefined;
  if (c && preexisting) {
    const text = `${name}: already in the source: ${c.text} (${feeds}); source last_value ${src!.last_value} (is_called ${src!.is_called}), target last_value ${dst.last_value} (is_called ${dst.is_called}): the source has the same state, so the copy did not cause it (setval it past the column's values on the source)`;
    evidence.push(`pre-existing in the source: the source's next value ${sc!.next} collides at ${sc!.at} too`);
    if (o.preexistingDefectsFail) problems.push(`${text} (PREEXISTING_DEFECTS_FAIL=1)`);
    else warning = text;
  } else if (c) problems.push(`on the target the ${c.text} (${feeds}; setval it past the column's values)`);
  if (src && !sameState)
    problems.push(
      `target last_value ${dst.last_value} (is_called ${dst.is_called}) differs from the source's ${src.last_value} (is_called ${src.is_called})`,
    );
  const failure = problems.length
    ? preexisting && o.preexistingDefectsFail && problems.length === 1
      ? problems[0]
      : `${name}: ${problems.join('; ')}`
    : undefined;
  return { ...(failure ? { failure } : {}), ...(warning ? { warning } : {}), evidence };
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

/**
 * The state of an unowned sequence, the extremes over every column it feeds (NULL without users or rows) and the
 * first existing value it would reach (collidesAtExpr).
 */
export function unownedStateQuery(s: UnownedSequence): Query {
  const over = (agg: 'max' | 'min') =>
    s.users.length
      ? `${agg === 'max' ? 'GREATEST' : 'LEAST'}(${s.users.map((u) => `(SELECT ${agg === 'max' ? 'ceil' : 'floor'}(${agg}(${quoteIdent(u.column)})::numeric) FROM ${quoteTable(u.table)})`).join(', ')})::text`
      : 'NULL::text';
  return {
    text: `SELECT q.last_value::text AS last_value, q.is_called, ps.seqincrement::text AS increment,
  ${over('max')} AS max_value,
  ${over('min')} AS min_value,
  ${collidesAtExpr(s.users)} AS collides_at
${stateFrom(s.sequence)}`,
    values: [quoteTable(s.sequence)],
  };
}
