/**
 * Database access: one bounded pool per DSN per process, helpers that always release what they take, and
 * error messages that say which database (redacted) and what happened.
 */
import pg from 'pg';
import { describeDsn, toPgConfig, type Dsn } from './dsn.ts';
import { redact } from './redact.ts';

// int8 and numeric as strings (row counts can exceed 2^53); we convert where we know it is safe.
pg.types.setTypeParser(20, (v) => v);

const pools = new Map<string, pg.Pool>();

export interface PoolOptions {
  max?: number;
  connectTimeoutMs?: number;
  /** Server-side statement_timeout for every statement of this pool (0 = none). */
  statementTimeoutMs?: number;
}

function key(d: Dsn, o: PoolOptions): string {
  return JSON.stringify([d.host, d.port, d.database, d.user, o.max, o.statementTimeoutMs]);
}

/** The process-wide pool for this DSN (created on first use; bounded by `max`). */
export function getPool(d: Dsn, o: PoolOptions = {}): pg.Pool {
  const k = key(d, o);
  let pool = pools.get(k);
  if (!pool) {
    pool = new pg.Pool({
      ...toPgConfig(d, { connectTimeoutMs: o.connectTimeoutMs }),
      max: o.max ?? 4,
      idleTimeoutMillis: 10_000,
      statement_timeout: o.statementTimeoutMs || undefined,
      // A dead server must not hang a check: TCP keepalive plus a bounded wait for a pooled connection.
      keepAlive: true,
    });
    // An idle client losing its server emits 'error' on the pool; without a listener that would crash the process.
    pool.on('error', () => {});
    pools.set(k, pool);
  }
  return pool;
}

export async function closePools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.end().catch(() => {})));
}

/** Borrow a client, always give it back (destroyed when it failed, so a broken connection is not reused). */
export async function withClient<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await fn(client);
  } catch (e) {
    broken = e as Error;
    throw e;
  } finally {
    client.release(broken && isConnectionError(broken) ? broken : undefined);
  }
}

/** Run `fn` inside BEGIN ... COMMIT (ROLLBACK on error). */
export async function withTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>, opts: { readOnly?: boolean } = {}): Promise<T> {
  return withClient(pool, async (c) => {
    await c.query(opts.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
    try {
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    }
  });
}

/** One short-lived client (for preflight and one-off statements). */
export async function withConnection<T>(d: Dsn, fn: (c: pg.Client) => Promise<T>, o: { connectTimeoutMs?: number } = {}): Promise<T> {
  const client = new pg.Client(toPgConfig(d, { connectTimeoutMs: o.connectTimeoutMs }));
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    throw new Error(`cannot connect to ${describeDsn(d)}: ${redact((e as Error).message)}`);
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

const CONNECTION_CODES = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004']);

/** Lost or refused connection (as opposed to an SQL error). */
export function isConnectionError(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (err?.code && CONNECTION_CODES.has(err.code)) return true;
  if (err?.code && /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH)$/.test(err.code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|ECONNREFUSED|ECONNRESET|terminating connection/i.test(
    err?.message ?? '',
  );
}

/** A message for an error from database `d`: what and where, never the password. */
export function dbErrorMessage(d: Dsn, e: unknown): string {
  const err = e as { code?: string; message?: string };
  const what = isConnectionError(e) ? `connection to ${describeDsn(d)} lost or refused` : `query on ${describeDsn(d)} failed`;
  return redact(`${what}: ${err?.message ?? String(e)}${err?.code ? ` (SQLSTATE ${err.code})` : ''}`);
}
