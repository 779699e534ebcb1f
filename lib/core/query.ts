/**
 * A statement and its parameters, as node-postgres takes them. Builders in lib/sql/ are pure: identifiers are quoted
 * with lib/ident.ts (after the caller resolved them against the catalog) and every value is a `$n` parameter.
 */
export interface Query {
  text: string;
  values: unknown[];
}

/**
 * Schemas that never hold user tables (pg_* covers pg_toast and the per-session pg_temp_N schemas; PostgreSQL refuses
 * to create any other schema named pg_*). SQL condition on a pg_namespace aliased `n`; re-exported by catalog.ts.
 */
export const SYSTEM_SCHEMA_FILTER = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'`;
