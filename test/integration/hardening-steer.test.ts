/**
 * Issue 26, guards nobody can steer from a server or the operator's shell, on real clusters:
 * - the identity proof with a source-owned `public.pg_try_advisory_xact_lock(bigint)` returning true and the role's
 *   `search_path = public, pg_catalog` (the target DSN reaching the source through a proxy): still "same";
 * - `--verify-only` with the target DSN reaching the source through a proxy: refused (exit 2), not a vacuous green;
 * - a role's statement_timeout=1ms, idle_in_transaction_session_timeout=10ms and idle_session_timeout=1s neither fail
 *   the tool's queries nor end the target lock's session; a lock whose session is terminated is reported lost;
 * - PGOPTIONS / PGSSLMODE from the shell do not reach the tool's connections.
 */
import { randomBytes } from 'node:crypto';
import { expect, onTestFinished, test } from 'vitest';
import { closePools, getPool, terminateOwnBackends, withConnection } from '../../lib/core/db.ts';
import { formatUrl, parseDsn, type Dsn } from '../../lib/core/dsn.ts';
import { lockTarget } from '../../lib/core/run-lock.ts';
import { proveIdentity } from '../../lib/phases/guards.ts';
import { withClient } from '../../lib/sandbox/clusters.ts';
import { rehearse, scenario, type Scenario } from '../helpers/scenario.ts';
import { tcpProxy } from '../helpers/tcp-proxy.ts';
import type { TestDb } from '../helpers/sandbox.ts';

/** A login role on `db`'s cluster (dropped after the test), with `settings` applied to it in that database only. */
async function hostileRole(db: TestDb, settings: Record<string, string>): Promise<{ role: string; pw: string }> {
  const role = `hostile_${randomBytes(3).toString('hex')}`;
  const pw = `H0stile-${randomBytes(6).toString('hex')}`;
  await db.query(`CREATE ROLE ${role} LOGIN PASSWORD '${pw}'`);
  await db.query(`GRANT ALL ON SCHEMA public TO ${role}`);
  for (const [k, v] of Object.entries(settings))
    await db.query(`ALTER ROLE ${role} IN DATABASE ${db.name} SET ${k} = '${v}'`);
  onTestFinished(async () => {
    await withClient(db.cluster, db.name, (c) =>
      c.query(`REVOKE ALL ON SCHEMA public FROM ${role}; ALTER ROLE ${role} IN DATABASE ${db.name} RESET ALL`),
    ).catch(() => {});
    await withClient(db.cluster, db.cluster.database, async (c) => {
      await c.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${role}' AND pid <> pg_backend_pid()`,
      );
      await c.query(`DROP ROLE IF EXISTS ${role}`);
    }).catch(() => {});
  });
  return { role, pw };
}

const dsnOf = (db: TestDb, who: { role: string; pw: string }, port = db.cluster.port): Dsn => ({
  host: '127.0.0.1',
  port,
  database: db.name,
  user: who.role,
  password: who.pw,
  params: {},
  format: 'url',
});

/** The source planted with a function that answers the identity probe "free", reachable through a proxy as the role. */
async function steeredSource(s: Scenario) {
  const who = await hostileRole(s.src, { search_path: 'public, pg_catalog' });
  await s.src.query(`CREATE FUNCTION public.pg_try_advisory_xact_lock(bigint) RETURNS boolean
    LANGUAGE sql AS 'SELECT true'`);
  await s.src.query(`ALTER FUNCTION public.pg_try_advisory_xact_lock(bigint) OWNER TO ${who.role}`);
  const port = await tcpProxy(s.src.cluster.port);
  return { who, direct: dsnOf(s.src, who), viaProxy: dsnOf(s.src, who, port) };
}

test('identity proof: a source-owned public.pg_try_advisory_xact_lock(bigint) and search_path = public, pg_catalog cannot make the source look distinct', async () => {
  const s = await scenario({ fixture: false });
  const { direct, viaProxy } = await steeredSource(s);
  // The plant works for an unpinned session: the role's search_path makes the unqualified name its function.
  const planted = await withClient(s.src.cluster, s.src.name, async (c) => {
    await c.query(`SET search_path = public, pg_catalog`);
    return (await c.query('SELECT pg_try_advisory_xact_lock(1) AS got')).rows[0].got;
  });
  expect(planted).toBe(true);
  const verdict = await proveIdentity(direct, viaProxy, { connectTimeoutMs: 10_000 });
  expect(verdict.kind).toBe('same');
  // Two different databases still prove distinct.
  const other = await proveIdentity(parseDsn(s.src.url), parseDsn(s.dst.url), { connectTimeoutMs: 10_000 });
  expect(other.kind).toBe('distinct');
});

test('--verify-only runs the identity proof: a target DSN reaching the source through a proxy is refused (exit 2), not a vacuous green', async () => {
  const s = await scenario();
  const port = await tcpProxy(s.src.cluster.port);
  const alias = s.src.url.replace(/:\d+\//, `:${port}/`);
  const r = await rehearse(['--verify-only'], { ...s.env, DST_DATABASE_URL: alias, SRC_ASSETS_DIR: undefined });
  expect(r.code, r.output.slice(-3000)).toBe(2);
  expect(r.output).toMatch(/reach the same database \(an advisory lock held on the source connection is seen as taken/);
  expect(r.output).not.toMatch(/\b[1-9]\d* passed/);
});

test("a role's statement_timeout=1ms, idle_in_transaction_session_timeout=10ms, idle_session_timeout=1s fail no query of the tool and do not end the target lock", async () => {
  const s = await scenario({ fixture: false });
  const who = await hostileRole(s.dst, {
    statement_timeout: '1ms',
    idle_in_transaction_session_timeout: '10ms',
    idle_session_timeout: '1s',
    search_path: 'public, pg_catalog',
  });
  const d = dsnOf(s.dst, who);
  onTestFinished(() => closePools());
  // A one-off connection (preflight, guards): a 200 ms query, idle 1.5 s, then a transaction that pauses.
  const settings = await withConnection(d, async (c) => {
    await c.query('SELECT pg_sleep(0.2)');
    await new Promise((r) => setTimeout(r, 1500));
    await c.query('BEGIN');
    await new Promise((r) => setTimeout(r, 200));
    const row = (await c.query(`SELECT current_setting('search_path') AS sp`)).rows[0];
    await c.query('COMMIT');
    return row;
  });
  expect(settings.sp).toBe('pg_catalog,pg_temp');
  // A pooled connection (the checks): idle past the role's idle_session_timeout, then used again.
  const pool = getPool(d, { max: 1 });
  await pool.query('SELECT pg_sleep(0.2)');
  await new Promise((r) => setTimeout(r, 1500));
  expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  // The target lock: held past the role's idle_session_timeout; a second run is still refused.
  const lost: string[] = [];
  const held = await lockTarget(d, 'run-a', { connectTimeoutMs: 10_000, onLost: (w) => lost.push(w) });
  expect(held.ok).toBe(true);
  onTestFinished(async () => {
    if (held.ok) await held.release();
  });
  await new Promise((r) => setTimeout(r, 2500));
  expect(lost).toEqual([]);
  const second = await lockTarget(d, 'run-b', { connectTimeoutMs: 10_000 });
  expect(second.ok).toBe(false);
  // When the server does end the lock's session, the holder is told (the run stops, see scripts/rehearse.ts).
  await s.dst.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'migration-rehearsal lock pid=% run=run-a'`,
  );
  for (let i = 0; i < 50 && lost.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
  expect(lost.length).toBe(1);
});

test("PGOPTIONS and PGSSLMODE from the operator's shell do not reach the tool's connections", async () => {
  const s = await scenario({ fixture: false });
  const saved = { o: process.env.PGOPTIONS, m: process.env.PGSSLMODE };
  process.env.PGOPTIONS = '-c search_path=public -c migration_rehearsal.restored_by=forged';
  process.env.PGSSLMODE = 'require'; // the sandbox has no TLS: honouring it would fail the connection
  onTestFinished(() => {
    for (const [k, v] of [
      ['PGOPTIONS', saved.o],
      ['PGSSLMODE', saved.m],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });
  const row = await withConnection(parseDsn(s.dst.url), async (c) => {
    return (
      await c.query(
        `SELECT current_setting('search_path') AS sp, current_setting('migration_rehearsal.restored_by', true) AS m`,
      )
    ).rows[0];
  });
  expect(row.sp).toBe('pg_catalog,pg_temp');
  expect(row.m ?? '').toBe('');
  expect(process.env.PGOPTIONS).toMatch(/forged/); // restored for whoever else reads it
  expect(formatUrl(parseDsn(s.dst.url), { redact: true })).not.toContain(s.password);
});

test("terminateOwnBackends ends only the run's own sessions (by application_name), even one waiting on a lock", async () => {
  const s = await scenario({ fixture: false });
  await s.dst.query('CREATE TABLE t (a int)');
  const dsn = parseDsn(s.dst.url);
  const { default: pg } = await import('pg');
  const holder = new pg.Client({ connectionString: s.dst.url });
  const waiter = new pg.Client({ connectionString: s.dst.url, application_name: 'migration-rehearsal restore run-x' });
  const other = new pg.Client({ connectionString: s.dst.url, application_name: 'someone-else' });
  for (const c of [holder, waiter, other]) {
    c.on('error', () => {});
    await c.connect();
    onTestFinished(() => c.end().catch(() => {}));
  }
  await holder.query('BEGIN; SELECT * FROM t');
  const blocked = waiter.query('DROP TABLE t').catch((e: Error) => e);
  await new Promise((r) => setTimeout(r, 300));
  expect(await terminateOwnBackends(dsn, 'migration-rehearsal restore run-x')).toBe(1);
  expect(String(await blocked)).toMatch(/terminat/);
  expect((await other.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  await holder.query('ROLLBACK');
});
