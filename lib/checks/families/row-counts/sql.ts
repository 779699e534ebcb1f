/**
 * Row counts: the exact count, the server-side timeout that bounds it, and the planner's estimate it falls back to.
 */
import { quoteTable, type TableRef } from '../../../core/ident.ts';
import type { Query } from '../../../core/query.ts';

/** The table's kind, or no row when it does not exist. */
export function tableKindQuery(table: TableRef): Query {
  return {
    text: `SELECT c.relkind AS kind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2`,
    values: [table.schema, table.name],
  };
}

/** The exact count, as text (int8 may exceed 2^53). */
export function rowCountQuery(table: TableRef): Query {
  return { text: `SELECT count(*)::text AS n FROM ${quoteTable(table)}`, values: [] };
}

/**
 * `SET LOCAL statement_timeout` with the value as a parameter (SET itself takes none): only for the current
 * transaction, enforced by the server, so a timed-out count(*) stops there with SQLSTATE 57014.
 */
export function statementTimeoutQuery(ms: number): Query {
  return { text: `SELECT set_config('statement_timeout', $1, true)`, values: [`${Math.max(1, Math.floor(ms))}ms`] };
}

/**
 * The planner's estimate (pg_class.reltuples, maintained by ANALYZE/VACUUM; -1 = never analyzed, i.e. unknown), and
 * whether it is still evidence: from pg_stat_user_tables, over the table itself or, for a partitioned parent, its
 * leaf partitions — `mods` rows changed since the last ANALYZE (n_mod_since_analyze, summed), `unanalyzed` relations
 * never analyzed (neither last_analyze nor last_autoanalyze), `nostats` relations without a statistics row (stats
 * reset, or a table just created), `analyzed_at` the latest ANALYZE (text, or null). A partitioned parent that was
 * never analyzed itself is estimated as the sum of its leaf partitions (unknown if any leaf is unknown).
 */
export function estimateQuery(table: TableRef): Query {
  return {
    text: `SELECT CASE
    WHEN c.reltuples >= 0 THEN c.reltuples
    WHEN c.relkind = 'p' THEN coalesce((
      SELECT CASE WHEN bool_or(l.reltuples < 0) THEN -1 ELSE sum(l.reltuples) END
      FROM pg_partition_tree(c.oid) t JOIN pg_class l ON l.oid = t.relid
      WHERE t.isleaf), -1)
    ELSE -1 END::float8 AS n,
  f.mods, f.unanalyzed, f.nostats, f.analyzed_at
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (
  SELECT coalesce(sum(s.n_mod_since_analyze), 0)::text AS mods,
    (count(*) FILTER (WHERE s.relid IS NOT NULL AND s.last_analyze IS NULL AND s.last_autoanalyze IS NULL))::int AS unanalyzed,
    (count(*) FILTER (WHERE s.relid IS NULL))::int AS nostats,
    max(greatest(s.last_analyze, s.last_autoanalyze))::text AS analyzed_at
  FROM (SELECT c.oid AS relid WHERE c.relkind <> 'p'
        UNION ALL SELECT t.relid FROM pg_partition_tree(c.oid) t WHERE c.relkind = 'p' AND t.isleaf) r
  LEFT JOIN pg_stat_user_tables s ON s.relid = r.relid) f
WHERE n.nspname = $1 AND c.relname = $2`,
    values: [table.schema, table.name],
  };
}
