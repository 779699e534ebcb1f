/**
 * The ANALYZE after the restore, on several connections at once (as `vacuumdb --analyze-only --jobs=N` does): the
 * relations a database-wide `ANALYZE` would process, largest first, each connection taking the next one when it is
 * free. Run after the restore committed, so it never touches the restore's atomicity: it only refreshes planner
 * statistics, exactly the relations (and the same statistics) a plain `ANALYZE` would.
 *
 * Why: a database-wide ANALYZE is one backend working through every table in turn; the target's other cores idle.
 * Measured on the bench's 1M-row archive (2 cores): one `ANALYZE` 0.58–0.94 s, the same relations on 2 connections
 * about half of that (the largest table bounds it).
 *
 * Which relations (PostgreSQL's own rule for a database-wide ANALYZE, src/backend/commands/vacuum.c):
 * - plain tables, materialized views and partitioned tables (relkind r, m, p), system catalogs included;
 * - not another session's temporary tables (a database-wide ANALYZE skips them silently);
 * - not partitions: an ANALYZE of their partitioned root covers them (and every level below);
 * - only those the role may analyze, so that nothing is asked that a plain ANALYZE would skip: superuser, the
 *   relation's owner, the database's owner (not for shared catalogs), and from PostgreSQL 17 the MAINTAIN privilege.
 * A relation in a schema the role has no USAGE on cannot be named (a database-wide ANALYZE reaches it by OID): then
 * the whole step is one plain `ANALYZE`, as before, and the log says why.
 */
import pg from 'pg';
import { withConnection } from '../core/db.ts';
import type { Dsn } from '../core/dsn.ts';

/** One relation to analyze: its quoted, qualified name and its size (bytes; partitioned: sum of its partitions). */
export interface AnalyzeTarget {
  name: string;
  bytes: number;
  /**
   * The role may name it (USAGE on its schema). A database-wide ANALYZE reaches a relation by OID and needs no such
   * right; `ANALYZE <name>` does. Default true.
   */
  nameable?: boolean;
}

/**
 * The SQL listing the relations a database-wide ANALYZE processes for the current role (see the module comment).
 * `serverVersionNum`: server_version_num of the target (the MAINTAIN privilege exists from 170000).
 */
export function analyzeTargetsSql(serverVersionNum: number): string {
  const maintain = serverVersionNum >= 170000 ? ` OR pg_catalog.has_table_privilege(c.oid, 'MAINTAIN')` : '';
  return `SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS name,
  pg_catalog.has_schema_privilege(n.oid, 'USAGE') AS nameable,
  (CASE WHEN c.relkind = 'p'
    THEN (SELECT coalesce(sum(pg_catalog.pg_relation_size(t.relid)), 0) FROM pg_catalog.pg_partition_tree(c.oid) t)
    ELSE pg_catalog.pg_relation_size(c.oid) END)::text AS bytes
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm', 'p') AND NOT c.relispartition
  AND (c.relpersistence <> 't' OR n.oid = pg_catalog.pg_my_temp_schema())
  AND ((SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
    OR pg_catalog.pg_has_role(c.relowner, 'USAGE')
    OR (NOT c.relisshared AND pg_catalog.pg_has_role(
      (SELECT datdba FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()), 'USAGE'))${maintain})`;
}

/** The order relations are handed out in (pure): largest first, so the last one to finish is a small one. */
export function analyzeOrder(targets: readonly AnalyzeTarget[]): AnalyzeTarget[] {
  return [...targets].sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * How many connections analyze at once (pure). RESTORE_ANALYZE_JOBS=auto: the cores of this machine when the target
 * runs here (ANALYZE is CPU work of the target's backends), else CHECK_CONCURRENCY (the connections the operator
 * already lets the checks open on the target); never more than there are relations, at least 1.
 */
export function analyzeJobs(
  setting: number | 'auto',
  facts: { local: boolean; cores?: number; checkConcurrency: number; relations: number },
): { jobs: number; why: string } {
  const wanted = setting !== 'auto' ? setting : facts.local && facts.cores ? facts.cores : facts.checkConcurrency;
  const jobs = Math.max(1, Math.min(wanted, facts.relations));
  const basis =
    setting !== 'auto'
      ? 'RESTORE_ANALYZE_JOBS'
      : facts.local && facts.cores
        ? `auto: the ${facts.cores} cores of this machine, where the target runs`
        : `auto: CHECK_CONCURRENCY=${facts.checkConcurrency} (remote target)`;
  return {
    jobs,
    why: `${jobs} connection(s) (${basis}${jobs < wanted ? `; only ${facts.relations} relation(s)` : ''})`,
  };
}

/** How the ANALYZE step is shown among the phase's commands and in the dry-run plan (no command line: no tool). */
export function analyzeDescription(relations: number | undefined, jobs: number | 'auto'): string {
  const what = relations === undefined ? 'every relation' : `${relations} relation(s)`;
  const on = jobs === 'auto' ? 'RESTORE_ANALYZE_JOBS=auto connections' : `${jobs} connection(s)`;
  return `# ANALYZE ${what} (as a database-wide ANALYZE would) on ${on} at once, largest first`;
}

export interface AnalyzeResult {
  relations: number;
  jobs: number;
  ms: number;
  why: string;
}

/**
 * ANALYZE every relation a database-wide ANALYZE would process on `d`, on up to `jobs` connections at once (see
 * analyzeJobs), largest first. Rejects with the first failure (`ANALYZE <name> failed: <server message>`); the other
 * connections finish their current relation and stop.
 */
export async function parallelAnalyze(
  d: Dsn,
  setting: number | 'auto',
  facts: { local: boolean; cores?: number; checkConcurrency: number },
  opts: { connectTimeoutMs: number; log?: (line: string) => void },
): Promise<AnalyzeResult> {
  const t0 = Date.now();
  const targets = await withConnection(
    d,
    async (c) => {
      const v = Number((await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0].v);
      const r = await c.query<{ name: string; bytes: string; nameable: boolean }>(analyzeTargetsSql(v));
      return r.rows.map((x) => ({ name: x.name, bytes: Number(x.bytes), nameable: x.nameable }));
    },
    { connectTimeoutMs: opts.connectTimeoutMs },
  );
  const hidden = targets.filter((t) => t.nameable === false);
  if (hidden.length) {
    // Naming them would fail ("permission denied for schema"): one database-wide ANALYZE, as a plain restore does.
    await withConnection(d, (c) => c.query('ANALYZE'), { connectTimeoutMs: opts.connectTimeoutMs }).catch(
      (e: Error) => {
        throw new Error(`ANALYZE failed: ${e.message}`);
      },
    );
    return {
      relations: targets.length,
      jobs: 1,
      ms: Date.now() - t0,
      why: `1 connection (one database-wide ANALYZE: ${hidden.length} relation(s) such as ${hidden[0].name} are in a schema this role has no USAGE on, so they cannot be named)`,
    };
  }
  const queue = analyzeOrder(targets);
  const { jobs, why } = analyzeJobs(setting, { ...facts, relations: queue.length });
  let next = 0;
  let failed: Error | undefined;
  let unreachable: Error | undefined;
  const worker = (c: pg.Client) => async () => {
    // A WARNING here (e.g. "skipping … only table or database owner can analyze it") belongs in the phase log.
    c.on(
      'notice',
      (n: { severity?: string; message?: string }) =>
        void opts.log?.(`server ${n.severity ?? 'NOTICE'}: ${n.message ?? ''}`),
    );
    while (!failed && next < queue.length) {
      const t = queue[next++];
      const started = Date.now();
      try {
        await c.query(`ANALYZE ${t.name}`);
      } catch (e) {
        failed ??= new Error(`ANALYZE ${t.name} failed: ${(e as Error).message}`);
        return;
      }
      const ms = Date.now() - started;
      if (ms >= 100) opts.log?.(`ANALYZE ${t.name}: ${ms} ms`);
    }
  };
  await Promise.all(
    Array.from({ length: jobs }, () =>
      withConnection(d, (c) => worker(c)(), { connectTimeoutMs: opts.connectTimeoutMs }).catch((e: Error) => {
        unreachable ??= e;
      }),
    ),
  );
  if (failed) throw failed;
  // A connection that could not be opened only matters when relations were left for it.
  if (next < queue.length) throw unreachable ?? new Error('ANALYZE stopped before every relation was analyzed');
  return { relations: queue.length, jobs, ms: Date.now() - t0, why };
}
