/**
 * Shared pieces of the deeper checks (checksums, schema parity, sequences, pgvector, asset census):
 * the pinned session every comparison runs in, the bounded pools of both sides, and how a family finds its compared tables
 * (the plan when global setup made one, else the catalogs, read-only).
 */
import type pg from 'pg';
import type { CheckContext } from './context.ts';
import type { Config } from '../../core/config.ts';
import { userTablesQuery } from '../../core/catalog.ts';
import { getPool, withTransaction } from '../../core/db.ts';
import type { Dsn } from '../../core/dsn.ts';
import { displayTable, quoteLiteral, type TableRef } from '../../core/ident.ts';

/**
 * Session settings that make text forms identical on both servers, whatever their defaults are.
 * extra_float_digits=3: from PostgreSQL 12 on, any value > 0 prints the shortest exact (round-trip) form, so 1 and 3
 * are the same there; before 12, 3 is the value that prints every significant digit (what pg_dump uses). 3 is
 * therefore the one choice that is exact on every version. search_path=pg_catalog makes regclass/regproc values and
 * catalog deparsing (defaults, index definitions) schema-qualified on both sides alike.
 */
export const PINNED_SETTINGS: ReadonlyArray<readonly [string, string]> = [
  ['TimeZone', 'UTC'],
  ['DateStyle', 'ISO, YMD'],
  ['IntervalStyle', 'postgres'],
  ['extra_float_digits', '3'],
  ['bytea_output', 'hex'],
  ['lc_monetary', 'C'],
  ['search_path', 'pg_catalog'],
];

/** `SET LOCAL k = 'v'; ...` for `settings` (values quoted); run inside a transaction (see withPinned). */
export function pinnedSettingsSql(settings = PINNED_SETTINGS): string {
  return settings.map(([k, v]) => `SET LOCAL ${k} = ${quoteLiteral(v)}`).join('; ');
}

/** A read-only transaction with the pinned settings; `extra` adds settings for this use (e.g. enable_indexscan). */
export function withPinned<T>(
  pool: pg.Pool,
  fn: (c: pg.PoolClient) => Promise<T>,
  extra: Array<[string, string]> = [],
): Promise<T> {
  return withTransaction(
    pool,
    async (c) => {
      await c.query(pinnedSettingsSql([...PINNED_SETTINGS, ...extra]));
      return fn(c);
    },
    { readOnly: true },
  );
}

export interface Sides {
  cfg: Config;
  dst: pg.Pool;
  src?: pg.Pool;
}

/** The bounded pools of target and (when configured) source, sized by CHECK_CONCURRENCY. */
export function sides(cfg: Config): Sides {
  const o = { max: cfg.checkConcurrency, connectTimeoutMs: cfg.connectTimeoutMs };
  return { cfg, dst: getPool(cfg.dst, o), src: cfg.src ? getPool(cfg.src, o) : undefined };
}

/** Run one catalog query on a side, pinned (so deparsed text is comparable). */
export async function catalogRows<T extends pg.QueryResultRow>(
  pool: pg.Pool,
  sql: string,
  values: unknown[] = [],
): Promise<T[]> {
  return withPinned(pool, async (c) => (await c.query<T>(sql, values)).rows);
}

/**
 * The compared tables: the plan's (VALIDATE_TABLES or every user table, as discovery decided), else VALIDATE_TABLES,
 * else the user tables of the source (else the target).
 */
export async function comparedTables(ctx: CheckContext, s: Sides): Promise<{ tables: TableRef[]; from: string }> {
  const plan = ctx.run.plan;
  if (plan && plan.tables.length > 0) return { tables: plan.tables, from: `plan (${plan.tablesFrom})` };
  if (ctx.config?.validateTables) return { tables: ctx.config.validateTables, from: 'VALIDATE_TABLES' };
  const pool = s.src ?? s.dst;
  const rows = await catalogRows<{ schema: string; name: string }>(pool, userTablesQuery().text);
  return {
    tables: rows.map((r) => ({ schema: r.schema, name: r.name })),
    from: s.src ? 'source catalog' : 'target catalog',
  };
}

/** A table's key in maps and sets: its display form (`public.users`). */
export function tableKey(t: TableRef): string {
  return displayTable(t);
}

/** Describe a side for messages. */
export function sideName(which: 'src' | 'dst'): string {
  return which === 'src' ? 'source' : 'target';
}

export type { Dsn };
