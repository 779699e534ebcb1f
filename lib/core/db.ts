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

/**
 * Per-server cap on the size of every pool of this process (`host:port` → connections). Global setup derives it from
 * the server's free connection slots and the number of vitest worker processes (see connectionBudget), so all spec
 * files running in parallel stay under max_connections together.
 */
const poolCaps = new Map<string, number>();

const serverKey = (d: { host?: string; port?: number }) => `${d.host ?? ''}:${d.port ?? ''}`;

export function setPoolCap(d: { host?: string; port?: number }, max: number): void {
  poolCaps.set(serverKey(d), Math.max(1, Math.floor(max)));
}

export function poolCap(d: { host?: string; port?: number }): number | undefined {
  return poolCaps.get(serverKey(d));
}

/**
 * Every check connection waits at most this long for a lock (a table locked by another session must not hang the
 * run; the error names the holder, see withClient).
 */
export const CHECK_LOCK_TIMEOUT_MS = 10_000;
/** Statement bound for check connections that set none of their own (queries never outlive an interrupted run). */
export const CHECK_STATEMENT_TIMEOUT_MS = 30 * 60_000;

/** Enables client_connection_check_interval where the server has it (the WHERE keeps PostgreSQL 13 from erroring). */
const CLIENT_CHECK_SQL = `SELECT set_config('client_connection_check_interval', '2000', false)
  WHERE current_setting('server_version_num')::int >= 140000`;

const noop = () => undefined;

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
    const base = toPgConfig(d, { connectTimeoutMs: o.connectTimeoutMs });
    const connectMs = base.connectionTimeoutMillis;
    pool = new pg.Pool({
      ...base,
      max: Math.min(o.max ?? 4, poolCap(d) ?? Infinity),
      idleTimeoutMillis: 10_000,
      statement_timeout: o.statementTimeoutMs || CHECK_STATEMENT_TIMEOUT_MS,
      lock_timeout: CHECK_LOCK_TIMEOUT_MS,
      // A role's idle_in_transaction_session_timeout must not end a check that pauses inside a transaction.
      idle_in_transaction_session_timeout: 0,
      // A check waits for a free pooled connection as long as it needs (the per-test timeout bounds that), while
      // opening a connection is bounded by CONNECT_TIMEOUT_MS: pg-pool uses one option for both, so the pool gets
      // none and each client its own.
      connectionTimeoutMillis: 0,
      Client: class extends pg.Client {
        constructor(c?: pg.ClientConfig) {
          // pg-pool keeps the password as a non-enumerable property: name it, a spread would drop it.
          super({ ...c, password: c?.password, connectionTimeoutMillis: connectMs });
        }
        /**
         * Connected AND set up: PostgreSQL 14+ checks every 2 s that its client is still there, so a query of a check
         * that timed out or of an interrupted run is cancelled instead of running on to its end. Done here, before
         * pg-pool hands the client out, so the caller's first query never queues behind it (node-postgres deprecates
         * queueing queries on one client). A failing set-up is ignored (the check is a nicety, not a requirement).
         */
        override connect(): Promise<pg.Client>;
        override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void;
        override connect(
          callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void),
        ): Promise<pg.Client> | void {
          const ready = super.connect().then(async () => {
            await this.query(CLIENT_CHECK_SQL).then(noop, noop);
            return this as pg.Client;
          });
          if (!callback) return ready;
          const cb = callback as (err: Error | null, c?: pg.Client) => void;
          ready.then(
            (c) => cb(null, c),
            (e: Error) => cb(e),
          );
        }
      },
      // A server that vanishes without closing the connection is noticed by TCP keepalive probes, not only by the
      // per-test timeout.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    // An idle client losing its server emits 'error' on the pool; without a listener that would crash the process.
    pool.on('error', () => {});
    pools.set(k, pool);
  }
  return pool;
}

const inFlight = new Set<Promise<unknown>>();

/**
 * Register work that goes on using the shared pools after the test that started it gave up on it (a shared table
 * scan that a later spec file of the same worker awaits too): closePools waits for it before ending the pools.
 * Without this, pg-pool's end() leaves every request still queued for a connection waiting forever, and whoever
 * awaits that work hangs until its test timeout. The work must be bounded itself (connect and statement timeouts).
 * @returns `work`, unchanged.
 */
export function keepPoolsFor<T>(work: Promise<T>): Promise<T> {
  const settled = work.then(
    () => undefined,
    () => undefined,
  );
  inFlight.add(settled);
  void settled.then(() => inFlight.delete(settled));
  return work;
}

/** End every shared pool, once the work registered with keepPoolsFor has settled. */
export async function closePools(): Promise<void> {
  while (inFlight.size) await Promise.all([...inFlight]);
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
    if ((e as { code?: string }).code === '55P03') (e as Error).message += await lockHolders(pool);
    throw e;
  } finally {
    client.release(broken && isConnectionError(broken) ? broken : undefined);
  }
}

/**
 * After a lock_timeout (SQLSTATE 55P03): who holds strong locks in this database right now, as a message suffix
 * (`; locks held by pid 1234 (AccessExclusiveLock on public.users), ...`). pg_locks is readable by every role.
 */
export async function lockHolders(pool: pg.Pool): Promise<string> {
  try {
    const r = await pool.query(`
      SELECT DISTINCT l.pid, l.mode, l.relation::regclass::text AS rel
      FROM pg_locks l
      WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_backend_pid()
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
      ORDER BY 1 LIMIT 5`);
    if (!r.rows.length) return '; the lock holder is gone';
    return `; waited ${CHECK_LOCK_TIMEOUT_MS} ms (lock_timeout) for locks held by ${r.rows
      .map((x) => `pid ${x.pid} (${x.mode} on ${x.rel})`)
      .join(', ')}`;
  } catch {
    return '';
  }
}

/** Run `fn` inside BEGIN ... COMMIT (ROLLBACK on error). */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (c: pg.PoolClient) => Promise<T>,
  opts: { readOnly?: boolean } = {},
): Promise<T> {
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
export async function withConnection<T>(
  d: Dsn,
  fn: (c: pg.Client) => Promise<T>,
  o: { connectTimeoutMs?: number } = {},
): Promise<T> {
  const client = new pg.Client(toPgConfig(d, { connectTimeoutMs: o.connectTimeoutMs }));
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    // The driver's code (SQLSTATE 28P01, ECONNREFUSED, …) stays on the error: callers tell authentication from reach.
    throw Object.assign(new Error(`cannot connect to ${describeDsn(d)}: ${redact((e as Error).message)}`), {
      code: (e as { code?: string }).code,
    });
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

/**
 * Why a connection attempt failed, in the operator's words: `authentication` (wrong password or user, SQLSTATE
 * 28P01/28000), `database` (no such database, 3D000), `timeout` (no answer within the connect timeout), or
 * `unreachable` (refused, unknown host, network), with the reason to print.
 */
export function connectFailure(e: unknown): {
  kind: 'authentication' | 'database' | 'timeout' | 'unreachable';
  text: string;
} {
  const err = e as { code?: string; message?: string };
  const msg = redact(err?.message ?? String(e));
  if (
    err?.code === '28P01' ||
    err?.code === '28000' ||
    /password authentication failed|no pg_hba\.conf entry/i.test(msg)
  )
    return { kind: 'authentication', text: msg };
  if (err?.code === '3D000') return { kind: 'database', text: msg };
  if (/timeout|ETIMEDOUT/i.test(msg) || err?.code === 'ETIMEDOUT') return { kind: 'timeout', text: msg };
  return { kind: 'unreachable', text: msg };
}

/** A message for an error from database `d`: what and where, never the password. */
export function dbErrorMessage(d: Dsn, e: unknown): string {
  const err = e as { code?: string; message?: string };
  const what = isConnectionError(e)
    ? `connection to ${describeDsn(d)} lost or refused`
    : `query on ${describeDsn(d)} failed`;
  return redact(`${what}: ${err?.message ?? String(e)}${err?.code ? ` (SQLSTATE ${err.code})` : ''}`);
}

/**
 * Connection slots `d`'s server has free for us now: max_connections minus the client backends already connected,
 * minus the slots reserved for superusers when we are not one.
 */
export async function freeConnectionSlots(d: Dsn, o: { connectTimeoutMs?: number } = {}): Promise<number> {
  return withConnection(
    d,
    async (c) => {
      const r = await c.query<{ free: number }>(`SELECT current_setting('max_connections')::int
        - (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend')
        - CASE WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN 0
               ELSE current_setting('superuser_reserved_connections')::int
                    -- PostgreSQL 16+: slots reserved for pg_use_reserved_connections, not usable by an ordinary role
                    + CASE WHEN NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = 'pg_use_reserved_connections'
                                             AND pg_has_role(current_user, r.oid, 'MEMBER'))
                           THEN coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) ELSE 0 END
          END AS free`);
      // This connection ends before the checks start: its slot is free again.
      return r.rows[0].free + 1;
    },
    o,
  );
}

/**
 * How many connections each pool of each vitest worker process may open on a server with `free` slots, when
 * `workers` processes each hold up to `poolsPerWorker` pools there plus one short-lived connection (the census):
 * at least 1, at most `wanted` (CHECK_CONCURRENCY).
 */
export function connectionBudget(free: number, workers: number, poolsPerWorker: number, wanted: number): number {
  const perWorker = Math.floor(free / Math.max(1, workers)) - 1;
  return Math.max(1, Math.min(wanted, Math.floor(perWorker / Math.max(1, poolsPerWorker))));
}
