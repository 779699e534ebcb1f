/**
 * Orphans: child rows whose key has no parent row.
 */
import { quoteIdent, quoteTable } from '../../../core/ident.ts';
import type { Relation } from '../../../core/config.ts';
import type { Query } from '../../../core/query.ts';

export const ORPHAN_EXAMPLES = 5;

/**
 * Count the orphans of `rel` and return up to 5 example keys (as text arrays, in key-column order).
 *
 * MATCH SIMPLE semantics, as PostgreSQL enforces by default: a row with a NULL in any key column references nothing
 * and is not an orphan. The anti-join is `NOT EXISTS`, which the planner runs as a hash or merge anti-join; the
 * examples are only looked for when there is something to show.
 */
export function orphanQuery(rel: Relation): Query {
  if (rel.childColumns.length === 0 || rel.childColumns.length !== rel.parentColumns.length) {
    throw new Error(
      `relation needs the same number (>0) of child and parent columns, got ${rel.childColumns.length} and ${rel.parentColumns.length}`,
    );
  }
  const ch = rel.childColumns.map((c) => `ch.${quoteIdent(c)}`);
  const notNull = ch.map((c) => `${c} IS NOT NULL`).join(' AND ');
  const join = rel.parentColumns.map((p, i) => `pa.${quoteIdent(p)} = ${ch[i]}`).join(' AND ');
  const orphans = `FROM ${quoteTable(rel.child)} AS ch
  WHERE ${notNull}
    AND NOT EXISTS (SELECT 1 FROM ${quoteTable(rel.parent)} AS pa WHERE ${join})`;
  return {
    text: `SELECT s.orphans::text AS orphans,
  CASE WHEN s.orphans > 0 THEN ARRAY(
    SELECT to_json(ARRAY[${ch.map((c) => `${c}::text`).join(', ')}])::text
  ${orphans}
  LIMIT ${ORPHAN_EXAMPLES}) END AS examples
FROM (SELECT count(*) AS orphans
  ${orphans}) AS s`,
    values: [],
  };
}

/**
 * The orphan keys of `rel` for the full list (run only when there are orphans): up to `limit` rows of `key`, the
 * child key as a JSON text array in key-column order, sorted. `limit` is a `$1` parameter.
 */
export function orphanKeyListQuery(rel: Relation, limit: number): Query {
  if (rel.childColumns.length === 0 || rel.childColumns.length !== rel.parentColumns.length) {
    throw new Error(
      `relation needs the same number (>0) of child and parent columns, got ${rel.childColumns.length} and ${rel.parentColumns.length}`,
    );
  }
  const ch = rel.childColumns.map((c) => `ch.${quoteIdent(c)}`);
  const join = rel.parentColumns.map((p, i) => `pa.${quoteIdent(p)} = ${ch[i]}`).join(' AND ');
  return {
    text: `SELECT to_json(ARRAY[${ch.map((c) => `${c}::text`).join(', ')}])::text AS key
FROM ${quoteTable(rel.child)} AS ch
WHERE ${ch.map((c) => `${c} IS NOT NULL`).join(' AND ')}
  AND NOT EXISTS (SELECT 1 FROM ${quoteTable(rel.parent)} AS pa WHERE ${join})
ORDER BY ${ch.join(', ')}
LIMIT $1`,
    values: [limit],
  };
}

/** How many orphan keys of the source are fetched to tell the target's new orphans from pre-existing ones. */
export const ORPHAN_KEYS_MAX = 10_000;

/**
 * The orphans of `rel` in this database: the row count, the number of distinct keys, and the distinct keys (as
 * `to_json(ARRAY[col::text, ...])::text`, in byte order) up to `limit`. Run it in the pinned session
 * (deep-context withPinned) on both sides, so that the keys' text forms compare.
 */
export function orphanKeysQuery(rel: Relation, limit = ORPHAN_KEYS_MAX): Query {
  orphanQuery(rel); // same validation
  const ch = rel.childColumns.map((c) => `ch.${quoteIdent(c)}`);
  const notNull = ch.map((c) => `${c} IS NOT NULL`).join(' AND ');
  const join = rel.parentColumns.map((p, i) => `pa.${quoteIdent(p)} = ${ch[i]}`).join(' AND ');
  return {
    text: `SELECT count(*)::text AS orphans, count(DISTINCT k)::int AS distinct_keys,
  (array_agg(DISTINCT k))[1:$1::int] AS keys
FROM (
  SELECT to_json(ARRAY[${ch.map((c) => `${c}::text`).join(', ')}])::text COLLATE "C" AS k
  FROM ${quoteTable(rel.child)} AS ch
  WHERE ${notNull}
    AND NOT EXISTS (SELECT 1 FROM ${quoteTable(rel.parent)} AS pa WHERE ${join})) AS o`,
    values: [limit],
  };
}

/**
 * The orphans of `rel` in this database, split by whether their key is in `known` (the source's orphan keys, as
 * orphanKeysQuery writes them): total, new (not in `known`), and up to 5 example keys of the new ones.
 */
export function newOrphansQuery(rel: Relation, known: string[]): Query {
  orphanQuery(rel);
  const ch = rel.childColumns.map((c) => `ch.${quoteIdent(c)}`);
  const notNull = ch.map((c) => `${c} IS NOT NULL`).join(' AND ');
  const join = rel.parentColumns.map((p, i) => `pa.${quoteIdent(p)} = ${ch[i]}`).join(' AND ');
  return {
    text: `WITH o AS (
  SELECT to_json(ARRAY[${ch.map((c) => `${c}::text`).join(', ')}])::text AS k
  FROM ${quoteTable(rel.child)} AS ch
  WHERE ${notNull}
    AND NOT EXISTS (SELECT 1 FROM ${quoteTable(rel.parent)} AS pa WHERE ${join})
)
SELECT count(*)::text AS orphans,
  (count(*) FILTER (WHERE NOT (k = ANY ($1::text[]))))::text AS new_orphans,
  (array_agg(k ORDER BY k) FILTER (WHERE NOT (k = ANY ($1::text[]))))[1:${ORPHAN_EXAMPLES}] AS new_examples,
  (array_agg(k ORDER BY k) FILTER (WHERE k = ANY ($1::text[])))[1:${ORPHAN_EXAMPLES}] AS old_examples
FROM o`,
    values: [known],
  };
}
