/**
 * Database access: one bounded pool per DSN per process, helpers that always release what they take, and
 * error messages that say which database (redacted) and what happened.
 */
import pg from 'pg';
import { describeDsn, toPgConfig, type Dsn } from './dsn.ts';
import { redact } from './redact.ts';
import { knobMs } from './internal-knobs.ts';

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
/** CHECK_LOCK_TIMEOUT_MS, or shorter under the internal testing knob of lib/core/internal-knobs.ts (ms). */
export const checkLockTimeoutMs = (): number =>
  knobMs('MIGRATION_REHEARSAL_CHECK_LOCK_TIMEOUT_MS', CHECK_LOCK_TIMEOUT_MS);
/** Statement bound for check connections that set none of their own (queries never outlive an interrupted run). */
export const CHECK_STATEMENT_TIMEOUT_MS = 30 * 60_000;

/** Enables client_connection_check_interval where the server has it (the WHERE keeps PostgreSQL 13 from erroring). */
const CLIENT_CHECK_SQL = `SELECT set_config('client_connection_check_interval', '2000', false)
  WHERE current_setting('server_version_num')::int >= 140000`;

const noop = () => undefined;

/**
 * Session settings every connection of this tool pins in its startup packet (PostgreSQL applies a client's startup
 * options after, and over, the role's and the database's `ALTER ROLE/DATABASE ... SET`): a role owned by whoever owns
 * the source or the target cannot steer which function a name resolves to (search_path: a source-owned
 * `public.pg_try_advisory_xact_lock(bigint)` must not answer the identity proof) nor end our sessions or statements
 * early (statement_timeout=1ms, idle_in_transaction_session_timeout=10ms). Only settings every supported major
 * (13+) knows: an unknown name in the startup packet is a FATAL error. idle_session_timeout (14+) is pinned right
 * after connecting (IDLE_SESSION_SQL).
 */
export const SESSION_PINS: ReadonlyArray<readonly [string, string]> = [
  ['search_path', 'pg_catalog,pg_temp'],
  ['idle_in_transaction_session_timeout', '0'],
];

/** idle_session_timeout exists from PostgreSQL 14 on; the WHERE keeps 13 from erroring. */
const IDLE_SESSION_SQL = `SELECT pg_catalog.set_config('idle_session_timeout', '0', false)
  WHERE pg_catalog.current_setting('server_version_num')::int >= 140000`;

/**
 * The startup `options` string for SESSION_PINS plus `extra` (e.g. statement_timeout): `-c name=value` each, with
 * libpq's escaping of spaces and backslashes in values. Later `-c` options win, so ours follow the DSN's own options.
 */
export function sessionOptions(dsnOptions: string | undefined, extra: Array<[string, string]> = []): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/ /g, '\\ ');
  const pins = [...SESSION_PINS, ...extra].map(([k, v]) => `-c ${k}=${esc(v)}`).join(' ');
  return dsnOptions ? `${dsnOptions} ${pins}` : pins;
}

/**
 * Environment variables node-postgres reads when a setting is not in its config (PGOPTIONS would override our pinned
 * options, PGSSLMODE the DSN's TLS mode, PGREPLICATION would open a replication session): none of the operator's shell
 * may change what the checks and the guards connect to or how. Everything the DSN says is passed explicitly.
 */
export const DRIVER_ENV_VARS = [
  'PGOPTIONS',
  'PGSSLMODE',
  'PGSSLNEGOTIATION',
  'PGREPLICATION',
  'PGBINARY',
  'PGCLIENT_ENCODING',
  'PGAPPNAME',
  'PGCONNECT_TIMEOUT',
  'PGHOST',
  'PGPORT',
  'PGUSER',
  'PGDATABASE',
  'PGPASSWORD',
  'PGSSL',
];

/**
 * Build a node-postgres client from `cfg` with none of DRIVER_ENV_VARS visible (node-postgres reads its environment
 * fallbacks synchronously in the constructor; they are restored right after).
 */
export function newClient<C extends pg.Client>(make: () => C): C {
  const saved = hideDriverEnv();
  try {
    return make();
  } finally {
    restoreEnv(saved);
  }
}

function hideDriverEnv(): Array<[string, string]> {
  const saved: Array<[string, string]> = [];
  for (const k of DRIVER_ENV_VARS)
    if (process.env[k] !== undefined) {
      saved.push([k, process.env[k]!]);
      delete process.env[k];
    }
  return saved;
}

function restoreEnv(saved: Array<[string, string]>): void {
  for (const [k, v] of saved) process.env[k] = v;
}

/**
 * The node-postgres config of every connection this tool opens to `d`: the DSN's parameters (lib/core/dsn.ts
 * toPgConfig) plus SESSION_PINS and `extra` settings in the startup packet.
 */
export function pinnedConfig(
  d: Dsn,
  o: { connectTimeoutMs?: number; extra?: Array<[string, string]>; keepSearchPath?: boolean } = {},
): pg.ClientConfig {
  const base = toPgConfig(d, { connectTimeoutMs: o.connectTimeoutMs });
  const options = sessionOptions(d.params.options, o.extra);
  return { ...base, options: o.keepSearchPath ? options.replace(/-c search_path=\S+ ?/, '').trim() : options };
}

/** Pin what the startup packet cannot (idle_session_timeout on 14+). Errors are the caller's. */
export async function pinSession(c: pg.ClientBase): Promise<void> {
  await c.query(IDLE_SESSION_SQL);
}

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
    const base = pinnedConfig(d, { connectTimeoutMs: o.connectTimeoutMs });
    const connectMs = base.connectionTimeoutMillis;
    pool = new pg.Pool({
      ...base,
      max: Math.min(o.max ?? 4, poolCap(d) ?? Infinity),
      idleTimeoutMillis: 10_000,
      statement_timeout: o.statementTimeoutMs || CHECK_STATEMENT_TIMEOUT_MS,
      lock_timeout: checkLockTimeoutMs(),
      // A role's idle_in_transaction_session_timeout must not end a check that pauses inside a transaction.
      idle_in_transaction_session_timeout: 0,
      // A check waits for a free pooled connection as long as it needs (the per-test timeout bounds that), while
      // opening a connection is bounded by CONNECT_TIMEOUT_MS: pg-pool uses one option for both, so the pool gets
      // none and each client its own.
      connectionTimeoutMillis: 0,
      Client: class extends pg.Client {
        constructor(c?: pg.ClientConfig) {
          // pg-pool keeps the password as a non-enumerable property: name it, a spread would drop it.
          const cfg = { ...c, password: c?.password, connectionTimeoutMillis: connectMs };
          const saved = hideDriverEnv();
          try {
            super(cfg);
          } finally {
            restoreEnv(saved);
          }
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
            // A role's idle_session_timeout must not close a pooled connection between two checks.
            await pinSession(this);
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

/** How long ending a connection or a pool waits for the server's side of the goodbye (ms). */
export const END_WAIT_MS = 5_000;

/** The socket under a node-postgres client (absent before connect). */
function socketOf(client: pg.ClientBase): { destroy(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
}

/**
 * `p`, or nothing once `ms` have passed, then `onLate` (never throws; the timer does not keep the process alive).
 * @returns true when `p` settled in time.
 */
async function settledWithin(p: Promise<unknown>, ms: number, onLate: () => void): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  const inTime = await Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    late,
  ]);
  clearTimeout(timer);
  if (!inTime) onLate();
  return inTime;
}

/**
 * `client.end()`, waiting at most `ms` (END_WAIT_MS): a frozen server (SIGSTOP, issue 26) never answers the Terminate
 * message, and its socket kept the process alive minutes after the run's summary. The socket is then destroyed: the
 * server ends the session (and whatever it held) when it sees the connection gone. Never throws.
 */
export async function endWithin(client: pg.ClientBase, ms = END_WAIT_MS): Promise<void> {
  await settledWithin((client as pg.Client).end(), ms, () => socketOf(client)?.destroy());
}

/**
 * `pool.end()`, waiting at most `ms` (END_WAIT_MS); then every connection the pool still has (idle or checked out)
 * has its socket destroyed, so no connection to a frozen server outlives the run. Never throws.
 */
export async function endPoolWithin(pool: pg.Pool, ms = END_WAIT_MS): Promise<void> {
  const clients = (): pg.ClientBase[] => (pool as unknown as { _clients?: pg.ClientBase[] })._clients ?? [];
  const open = [...clients()];
  await settledWithin(pool.end(), ms, () => {
    for (const c of new Set([...open, ...clients()])) socketOf(c)?.destroy();
  });
}

/**
 * End every shared pool, once the work registered with keepPoolsFor has settled — each wait bounded by `ms`
 * (END_WAIT_MS): work on a frozen server never settles, and the pools' sockets are destroyed after it.
 */
export async function closePools(ms = END_WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (inFlight.size && Date.now() < deadline)
    await settledWithin(Promise.all([...inFlight]), Math.max(1, deadline - Date.now()), () => {});
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => endPoolWithin(p, ms)));
}

/** Borrow a client, always give it back (destroyed when it failed, so a broken connection is not reused). */
export async function withClient<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let released = false;
  try {
    return await fn(client);
  } catch (e) {
    client.release(isConnectionError(e as Error) ? (e as Error) : undefined);
    released = true;
    // Asked on a pooled connection once this one is back: when every connection of the pool waits on the same lock,
    // holding this one while asking would wait for a connection that never comes back.
    if ((e as { code?: string }).code === '55P03') (e as Error).message += await lockHolders(pool);
    throw e;
  } finally {
    if (!released) client.release();
  }
}

/**
 * After a lock_timeout (SQLSTATE 55P03) or a tool's lock wait: who holds strong locks in this database right now, as a
 * message suffix (`; waited <waited> for locks held by pid 1234 (AccessExclusiveLock on public.users), ...`), asked on
 * `pool` (a pool or a client). `waited` says how long and by which bound (default: the checks' lock_timeout).
 * pg_locks is readable by every role. Never throws ('' when the question fails).
 */
export async function lockHolders(
  pool: { query: (sql: string) => Promise<pg.QueryResult> },
  waited = `${checkLockTimeoutMs()} ms (lock_timeout)`,
): Promise<string> {
  try {
    const r = await pool.query(`
      SELECT DISTINCT l.pid, l.mode, l.relation::regclass::text AS rel
      FROM pg_locks l
      WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_backend_pid()
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')
      ORDER BY 1 LIMIT 5`);
    if (!r.rows.length) return '; the lock holder is gone';
    return `; waited ${waited} for locks held by ${r.rows
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

/**
 * One short-lived client (for preflight and one-off statements), with the pinned session settings (SESSION_PINS,
 * statement_timeout 0 unless the caller sets its own) and none of the shell's driver variables (DRIVER_ENV_VARS).
 */
export async function withConnection<T>(
  d: Dsn,
  fn: (c: pg.Client) => Promise<T>,
  o: { connectTimeoutMs?: number; keepSearchPath?: boolean } = {},
): Promise<T> {
  // statement_timeout=0: a role's 1 ms bound must not fail ANALYZE or a preflight query; callers that want a bound
  // SET LOCAL their own (lib/phases/guards.ts). keepSearchPath: only for the sandbox's own fixture loading (its SQL
  // creates objects by unqualified names), never for a server the operator names.
  const cfg = pinnedConfig(d, {
    connectTimeoutMs: o.connectTimeoutMs,
    extra: [['statement_timeout', '0']],
    keepSearchPath: o.keepSearchPath,
  });
  const client = newClient(() => new pg.Client(cfg));
  client.on('error', () => {});
  try {
    await client.connect();
    await pinSession(client);
  } catch (e) {
    await endWithin(client);
    // The driver's code (SQLSTATE 28P01, ECONNREFUSED, …) stays on the error: callers tell authentication from reach.
    throw Object.assign(new Error(`cannot connect to ${describeDsn(d)}: ${redact((e as Error).message)}`), {
      code: (e as { code?: string }).code,
    });
  }
  try {
    return await fn(client);
  } finally {
    // Bounded: a server frozen mid-run never answers the goodbye (issue 26).
    await endWithin(client);
  }
}

/** The least time a liveness probe gives a server before calling it unresponsive (ms): a loaded server is slow. */
export const PROBE_MIN_WAIT_MS = 10_000;

/** What serverAnswers found: the server answers, or not (with why, and whether nothing listens any more). */
export type ServerProbe = { answers: true } | { answers: false; why: string; refused: boolean };

/**
 * SQLSTATEs of a server on its way down (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now: the
 * postmaster is shutting down or starting up): it still answers, but may stop listening a moment later.
 */
const GOING_DOWN = new Set(['57P01', '57P02', '57P03']);

/** How long serverAnswers waits for a server caught going down to settle (refused, or answering again) (ms). */
export const PROBE_SETTLE_MS = 5_000;

/**
 * Whether the server of `d` answers: a new connection and `SELECT 1`, each bounded by `ms` (at least
 * PROBE_MIN_WAIT_MS; the query by a client-side timeout, since a frozen server never runs its statement_timeout).
 * An error the server itself sent (a SQLSTATE: too many clients, authentication) means it answers. A server caught
 * in the middle of stopping — the connection reset (ECONNRESET), or a shutdown SQLSTATE (GOING_DOWN) — is probed
 * again every 250 ms for up to PROBE_SETTLE_MS until it refuses or answers: a server that is stopping is judged by
 * where it lands, not by the instant it was caught in (issue 26: a reset during a fast shutdown was taken for a live,
 * unreachable target and the run was interrupted instead of reporting the lost server).
 * @returns `{ answers: true }`, or `{ answers: false, why, refused }` (refused, reset, timed out); `refused` is true
 * only when nothing listens any more (ECONNREFUSED, or no socket file): the server is down, not merely slow or frozen.
 * Never throws.
 */
export async function serverAnswers(d: Dsn, ms: number): Promise<ServerProbe> {
  const wait = Math.max(ms, PROBE_MIN_WAIT_MS);
  const settleBy = Date.now() + PROBE_SETTLE_MS;
  for (;;) {
    let probe: ServerProbe;
    let settling = false;
    try {
      await withConnection(d, (c) => c.query({ text: 'SELECT 1', query_timeout: wait } as pg.QueryConfig), {
        connectTimeoutMs: wait,
      });
      probe = { answers: true };
    } catch (e) {
      const code = (e as { code?: string }).code;
      settling = code === 'ECONNRESET' || (code !== undefined && GOING_DOWN.has(code));
      probe =
        code && /^[0-9A-Z]{5}$/.test(code)
          ? { answers: true }
          : {
              answers: false,
              why: redact((e as Error).message),
              refused: code === 'ECONNREFUSED' || code === 'ENOENT',
            };
    }
    if (!settling || Date.now() >= settleBy) return probe;
    await new Promise((r) => setTimeout(r, 250));
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
      const r = await c.query<{ free: number }>(`SELECT pg_catalog.current_setting('max_connections')::int
        -- Another role's session shows backend_type NULL to a role without pg_read_all_stats (issue 26: 4 idle
        -- sessions went uncounted and a non-superuser run failed 28 checks on "too many clients"); background
        -- processes have no user or no database (a background worker with both is counted too: the estimate errs
        -- low, never high).
        - (SELECT count(*)::int FROM pg_catalog.pg_stat_activity
            WHERE backend_type = 'client backend' OR (backend_type IS NULL AND usesysid IS NOT NULL AND datid IS NOT NULL))
        - CASE WHEN (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = CURRENT_USER) THEN 0
               ELSE pg_catalog.current_setting('superuser_reserved_connections')::int
                    -- PostgreSQL 16+: slots reserved for pg_use_reserved_connections, not usable by an ordinary role
                    + CASE WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = 'pg_use_reserved_connections'
                                             AND pg_catalog.pg_has_role(CURRENT_USER, r.oid, 'MEMBER'))
                           THEN coalesce(nullif(pg_catalog.current_setting('reserved_connections', true), '')::int, 0) ELSE 0 END
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

/**
 * How many spec worker processes, and checks at once in each, fit `free` slots of a server where each worker holds
 * `poolsPerWorker` pools (of at least one connection each) plus one short-lived connection (the census, the dead-side
 * probe), and each running check may open one connection of its own (a schema dump, a split checksum): workers at
 * least 1 and at most `defaultWorkers`, checks at once at least 1 and at most `wanted` (CHECK_CONCURRENCY). Issue 26:
 * with 3 free slots the default concurrency failed 24–32 checks on "too many clients".
 */
export function fitToSlots(
  free: number,
  poolsPerWorker: number,
  defaultWorkers: number,
  wanted: number,
): { workers: number; concurrency: number } {
  const pools = Math.max(1, poolsPerWorker);
  const workers = Math.max(1, Math.min(defaultWorkers, Math.floor(free / (pools + 2))));
  const concurrency = Math.max(1, Math.min(wanted, Math.floor(free / workers) - pools - 1));
  return { workers, concurrency };
}

/** The distinct servers of `dsns` (by host and port), each with how many of the run's pools it holds (1 or 2). */
export function serversOf(dsns: Dsn[]): Array<{ dsn: Dsn; pools: number }> {
  const servers = new Map<string, { dsn: Dsn; pools: number }>();
  for (const d of dsns) {
    const k = `${d.host ?? ''}:${d.port ?? ''}`;
    const s = servers.get(k);
    if (s) s.pools++;
    else servers.set(k, { dsn: d, pools: 1 });
  }
  return [...servers.values()];
}

/**
 * The fewest free connection slots a server must have for a run (issue 26): one per pool the checks hold there (a
 * server holding both databases holds two) and one beside them (the restore's lock-wait watcher, the census, the
 * dead-side probe, a check's own connection). With fewer, the restore or the checks fail on "too many clients"
 * however low the concurrency, so preflight refuses (lib/phases/preflight.ts checkConnectionSlots).
 */
export function minimumSlots(pools: number): number {
  return Math.max(1, pools) + 1;
}

/**
 * The spec workers and checks at once the run may use given each server's free slots now (`dsns`: the target, then
 * the source; a server named twice holds two pools), with one line per server that lowered them (the server, its free
 * slots, what was chosen). A server that cannot be asked lowers nothing (preflight and the checks say why it fails).
 */
export async function checkWorkersFor(
  dsns: Dsn[],
  defaults: { workers: number; concurrency: number },
  o: { connectTimeoutMs?: number } = {},
): Promise<{ workers: number; concurrency: number; notes: string[] }> {
  let { workers, concurrency } = defaults;
  const notes: string[] = [];
  for (const s of serversOf(dsns)) {
    const free = await freeConnectionSlots(s.dsn, o).catch(() => undefined);
    if (free === undefined) continue;
    const fit = fitToSlots(free, s.pools, defaults.workers, defaults.concurrency);
    if (fit.workers >= workers && fit.concurrency >= concurrency) continue;
    workers = Math.min(workers, fit.workers);
    concurrency = Math.min(concurrency, fit.concurrency);
    notes.push(
      `${describeDsn(s.dsn)} has ${free} free connection slot(s): the checks run in ${workers} worker process(es), ${concurrency} check(s) at once (CHECK_CONCURRENCY ${defaults.concurrency} lowered); raise max_connections or close idle sessions for a faster run`,
    );
  }
  return { workers, concurrency, notes };
}

/** PostgreSQL keeps at most this many bytes of an application_name (NAMEDATALEN - 1). */
const APP_NAME_MAX_BYTES = 63;

/**
 * The application_name of this run's restore sessions: `migration-rehearsal restore <run id>`, or — when the DSN sets
 * its own application_name — that name with the run-unique part added (`<dsn name> (migration-rehearsal restore <run
 * id>)`, the DSN's part shortened so the whole fits the server's 63 bytes), so the run can always find and end exactly
 * its own sessions after an interruption (issue 26), and a name the DSN shares with other clients is never matched.
 */
export function restoreAppName(dsnAppName: string | undefined, runId: string): string {
  const own = `migration-rehearsal restore ${runId}`;
  if (dsnAppName === undefined || dsnAppName === '') return own;
  const room = APP_NAME_MAX_BYTES - Buffer.byteLength(` (${own})`);
  let head = dsnAppName;
  while (head && Buffer.byteLength(head) > room) head = head.slice(0, -1);
  return head ? `${head} (${own})` : own;
}

/**
 * Terminate this run's own server backends on `d`: those whose application_name is `appName` (the restore's
 * `migration-rehearsal restore <run id>`, lib/phases/restore.ts). A pg_restore killed while its backend waits behind a
 * lock leaves that backend holding every lock it took until it notices; this ends it now. Only the run's own
 * sessions are named; a role may terminate its own backends without any privilege. Returns how many were ended;
 * never throws (0 when the server cannot be asked).
 */
export async function terminateOwnBackends(d: Dsn, appName: string, o: { connectTimeoutMs?: number } = {}) {
  try {
    return await withConnection(
      d,
      async (c) =>
        (
          await c.query(
            `SELECT count(*) FILTER (WHERE pg_catalog.pg_terminate_backend(pid))::int AS n
             FROM pg_catalog.pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_catalog.pg_backend_pid()`,
            [appName],
          )
        ).rows[0].n as number,
      o,
    );
  } catch {
    return 0;
  }
}
