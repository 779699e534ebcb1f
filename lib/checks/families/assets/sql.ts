/**
 * Asset-path columns: the path-prefix scan and the deterministic sample.
 */
import { quoteIdent, quoteTable, type TableRef } from '../../../core/ident.ts';
import type { Query } from '../../../core/query.ts';

export const PREFIX_EXAMPLES = 5;

/** A `..` path segment anywhere in the value (a POSIX regular expression, passed as a parameter). */
export const DOTDOT_SEGMENT_RE = '(^|/)\\.\\.(/|$)';

// `prefix` + '/': one definition, beside the path resolver that every asset check uses.
import { prefixWithSlash } from '../../shared/asset-paths.ts';
export { prefixWithSlash };

/**
 * One full scan in PostgreSQL: how many non-NULL values there are, how many do not start with `prefix/` or contain a
 * `..` segment, and up to 5 of those (looked for only when there is at least one).
 */
export function prefixQuery(table: TableRef, column: string, prefix: string): Query {
  const v = `${quoteIdent(column)}::text`;
  const bad = `(NOT starts_with(${v}, $1) OR ${v} ~ $2)`;
  return {
    text: `SELECT s.total::text AS total, s.bad::text AS bad,
  CASE WHEN s.bad > 0 THEN ARRAY(
    SELECT ${v} FROM ${quoteTable(table)} WHERE ${quoteIdent(column)} IS NOT NULL AND ${bad} LIMIT ${PREFIX_EXAMPLES}
  ) END AS examples
FROM (SELECT count(*) AS total, count(*) FILTER (WHERE ${bad}) AS bad
  FROM ${quoteTable(table)} WHERE ${quoteIdent(column)} IS NOT NULL) AS s`,
    values: [prefixWithSlash(prefix), DOTDOT_SEGMENT_RE],
  };
}

/** How many rows the bounded sample reads per wanted value, to absorb paths stored in several rows. */
export const SAMPLE_OVERREAD = 4;

/**
 * A deterministic sample of `n` distinct non-NULL values: the n values with the smallest md5(seed || value), ties by
 * value (byte order). It depends only on the seed and the set of values (not on physical row order or duplicates).
 *
 * PostgreSQL keeps just the top n * SAMPLE_OVERREAD rows while scanning (a bounded top-N heapsort, so the table is
 * never sorted or loaded whole); duplicates of a value are adjacent in that order, so the distinct values among those
 * rows are exactly the smallest distinct values. When they are fewer than n (values stored in many rows),
 * `sampleDistinctQuery` gives the same answer from the distinct values.
 */
export function sampleQuery(table: TableRef, column: string, seed: string, n: number): Query {
  const v = `${quoteIdent(column)}::text`;
  const want = Math.max(0, Math.floor(n));
  return {
    text: `SELECT value FROM (
  SELECT ${v} AS value, md5($1 || ${v}) AS h FROM ${quoteTable(table)}
  WHERE ${quoteIdent(column)} IS NOT NULL
  ORDER BY h, ${v} COLLATE "C"
  LIMIT $3
) top
GROUP BY h, value
ORDER BY h, value COLLATE "C"
LIMIT $2`,
    values: [seed, want, want * SAMPLE_OVERREAD],
  };
}

/**
 * sampleQuery for several columns in one round trip (same seed, same n): rows `{ i, value }`, `i` the column's 0-based
 * position in `columns`, each column's values in sampleQuery's order (md5(seed || value), then value in byte order).
 */
export function sampleUnionQuery(columns: Array<{ table: TableRef; column: string }>, seed: string, n: number): Query {
  const parts = columns.map((c, i) => {
    const one = sampleQuery(c.table, c.column, seed, n);
    return `SELECT ${i} AS i, value FROM (${one.text}) s${i}`;
  });
  const want = Math.max(0, Math.floor(n));
  return {
    text: `SELECT i, value FROM (\n${parts.join('\nUNION ALL\n')}\n) u\nORDER BY i, md5($1 || value), value COLLATE "C"`,
    values: [seed, want, want * SAMPLE_OVERREAD],
  };
}

/** The same sample as sampleQuery, computed over the distinct values (for columns where paths repeat a lot). */
export function sampleDistinctQuery(table: TableRef, column: string, seed: string, n: number): Query {
  const v = `${quoteIdent(column)}::text`;
  return {
    text: `SELECT value FROM (
  SELECT DISTINCT ${v} AS value FROM ${quoteTable(table)} WHERE ${quoteIdent(column)} IS NOT NULL
) d
ORDER BY md5($1 || value), value COLLATE "C"
LIMIT $2`,
    values: [seed, Math.max(0, Math.floor(n))],
  };
}
