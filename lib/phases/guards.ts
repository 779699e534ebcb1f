/**
 * Guards before anything destructive (docs/safety.md lists them all):
 *
 * - identity: the source and the target are proven to be different databases without any privilege, by a
 *   transaction-scoped advisory lock taken on the source connection and probed from the target connection (advisory
 *   locks are per database and per cluster, so only the very same database sees it, whatever host name, port, proxy
 *   or pooler reached it). When the proof cannot be made (functions revoked, an error), every destructive step is
 *   refused.
 * - DST_DROP_SCHEMA: `1` only for a target this tool restored as a REHEARSAL copy and nobody wrote since (the marker
 *   in the database comment, lib/phases/marker.ts, unforgeable by session settings); a cut-over production, a target
 *   written since, or an unmarked one needs the target database's own name as the value. Before anything is dropped,
 *   the tables that would go are listed with their row counts.
 * - ASSETS_DELETE: `1` only for a directory this tool mirrored before (recorded in the target database as
 *   `assetsDir` of the marker); otherwise the DST_ASSETS_DIR path must be the value. The number of files that
 *   would be deleted comes from an rsync dry run and is shown first.
 */
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../core/config.ts';
import { withConnection } from '../core/db.ts';
import type { Dsn } from '../core/dsn.ts';
import { quoteIdent } from '../core/ident.ts';
import { realPathLoose, showResolved } from '../core/paths.ts';
import { redact } from '../core/redact.ts';
import { runCommand, type PhaseLog } from '../core/tools.ts';
import { rsyncCommand } from './commands.ts';
import {
  LEGACY_ASSETS_DIR,
  LEGACY_RESTORED,
  readMarker,
  writeMarker,
  settledWriteCounters,
  writtenSince,
  type Marker,
  type MarkerKind,
} from './marker.ts';

/** The names of the previous release's markers (database settings; still read, never written). */
export const MARKER_RESTORED = LEGACY_RESTORED;
export const MARKER_ASSETS_DIR = LEGACY_ASSETS_DIR;

export type Identity =
  { kind: 'distinct'; how: string } | { kind: 'same'; how: string } | { kind: 'unproven'; reason: string };

/** Statement bounds for the guard's own queries (a lock on a catalog must not hang the preflight). */
const GUARD_SETTINGS =
  "SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '30s'; SET LOCAL search_path = pg_catalog, pg_temp";

/**
 * Prove whether `src` and `dst` reach the same database, with no privilege beyond connecting (pg_advisory_xact_lock
 * and pg_try_advisory_xact_lock are executable by PUBLIC by default). Both sides hold a transaction open during the
 * probe, so a transaction-mode pooler cannot hand the same server session to both.
 *
 * Nobody on either server can steer it: every function is called schema-qualified (`pg_catalog.`), the session's
 * search_path is pinned at connect time (lib/core/db.ts SESSION_PINS) and again here, so a source-owned
 * `public.pg_try_advisory_xact_lock(bigint)` returning true, with the role's `search_path = public, pg_catalog`,
 * is never what answers.
 */
export async function proveIdentity(src: Dsn, dst: Dsn, opts: { connectTimeoutMs: number }): Promise<Identity> {
  const key = randomInt(1, 2 ** 47);
  try {
    return await withConnection(
      src,
      async (a) => {
        await a.query('BEGIN');
        try {
          await a.query(GUARD_SETTINGS);
          await a.query('SELECT pg_catalog.pg_advisory_xact_lock($1::pg_catalog.int8)', [key]);
          return await withConnection(
            dst,
            async (b) => {
              await b.query('BEGIN');
              try {
                await b.query(GUARD_SETTINGS);
                const got = (
                  await b.query('SELECT pg_catalog.pg_try_advisory_xact_lock($1::pg_catalog.int8) AS got', [key])
                ).rows[0].got;
                return got
                  ? ({ kind: 'distinct', how: 'an advisory lock held on the source is free on the target' } as const)
                  : ({
                      kind: 'same',
                      how: 'an advisory lock held on the source connection is seen as taken from the target connection',
                    } as const);
              } finally {
                await b.query('ROLLBACK').catch(() => {});
              }
            },
            opts,
          );
        } finally {
          await a.query('ROLLBACK').catch(() => {});
        }
      },
      opts,
    );
  } catch (e) {
    return { kind: 'unproven', reason: redact((e as Error).message) };
  }
}

export interface DropPreview {
  /** `schema.table` → exact row count (or `≈n` when counting took too long). */
  tables: Array<{ name: string; rows: string }>;
  totalTables: number;
  /** The target's real name (current_database()). */
  database: string;
  /** The run id of the restore marker, when this tool restored the target before (new or previous-release marker). */
  marker?: string;
  /** What the marker marks: a rehearsal copy or a cut-over production (undefined for a previous-release marker). */
  markerKind?: MarkerKind;
  /** What was written on the target since the marked restore (lib/phases/marker.ts writtenSince); empty: nothing. */
  written?: string[];
  /** Schemas the drop would remove (the marker's, else public). */
  schemas?: string[];
  /** The asset directory this tool mirrored for this target before (marker), if any. */
  assetsMarker?: string;
}

const TABLES_SQL = `
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name, c.reltuples::bigint AS estimate
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY ($1::text[]) AND c.relkind IN ('r', 'p', 'm')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.reltuples DESC, 1`;

/**
 * What DST_DROP_SCHEMA would drop: up to `limit` tables of `public` with row counts, the target's markers, and what
 * was written since the marked restore (`probeRows: false` skips the row probe, lib/phases/write-probe.ts).
 */
export async function previewDrop(
  dst: Dsn,
  opts: { connectTimeoutMs: number; limit?: number; probeRows?: boolean; probeBudgetMs?: number },
): Promise<DropPreview> {
  const limit = opts.limit ?? 20;
  return withConnection(
    dst,
    async (c: pg.Client) => {
      const read = await readMarker(c);
      const restored = read.marker?.xid ? read.marker : undefined;
      const schemas = restored ? [...new Set(['public', ...restored.schemas])].sort() : ['public'];
      const probe = { schemas, probeRows: opts.probeRows, budgetMs: opts.probeBudgetMs };
      const written = restored ? await writtenSince(c, restored, probe) : [];
      const all = (await c.query(TABLES_SQL, [schemas])).rows as Array<{ name: string; estimate: string }>;
      const tables: DropPreview['tables'] = [];
      for (const t of all.slice(0, limit)) {
        // Each count in its own short transaction: bounded, and never waiting on a lock for long.
        try {
          await c.query('BEGIN');
          await c.query("SET LOCAL lock_timeout = '2s'; SET LOCAL statement_timeout = '5s'");
          const n = (await c.query(`SELECT count(*)::bigint AS n FROM ${t.name}`)).rows[0].n;
          tables.push({ name: t.name, rows: String(n) });
        } catch {
          tables.push({ name: t.name, rows: `≈${Math.max(0, Number(t.estimate))} (estimate: counting took too long)` });
        } finally {
          await c.query('ROLLBACK').catch(() => {});
        }
      }
      return {
        tables,
        totalTables: all.length,
        database: read.database,
        marker: restored?.runId ?? read.legacyRestoredBy,
        markerKind: restored?.kind,
        written,
        schemas,
        assetsMarker: read.marker?.assetsDir ?? read.legacyAssetsDir,
      };
    },
    { connectTimeoutMs: opts.connectTimeoutMs },
  );
}

/** A schema name as a DBA types it: bare when plain, else double-quoted. */
export function shownName(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : quoteIdent(name);
}

/** Human lines for a drop preview (dry run and run). */
export function describeDrop(p: DropPreview): string[] {
  const where = (p.schemas ?? ['public']).map(shownName).join(', ');
  if (p.totalTables === 0)
    return [`DST_DROP_SCHEMA: ${where} of "${p.database}" hold(s) no table; nothing would be lost`];
  const lines = [`DST_DROP_SCHEMA would drop ${p.totalTables} table(s) of ${where} in "${p.database}":`];
  for (const t of p.tables) lines.push(`  ${t.name}: ${t.rows} rows`);
  if (p.totalTables > p.tables.length) lines.push(`  ... and ${p.totalTables - p.tables.length} more`);
  return lines;
}

/**
 * Why DST_DROP_SCHEMA must not run against this target, or undefined. `identity` is the source/target proof
 * (undefined when there is no source DSN to compare with).
 */
export function dropRefusal(config: Config, p: DropPreview, identity: Identity | undefined): string | undefined {
  if (identity?.kind === 'same')
    return `DST_DROP_SCHEMA refused: the target is the SOURCE database (${identity.how}); the target must be a different, staging database`;
  if (identity?.kind === 'unproven')
    return `DST_DROP_SCHEMA refused: could not prove the target is not the source database (advisory-lock probe failed: ${identity.reason}); nothing destructive runs without that proof`;
  if (p.totalTables === 0 && !config.dstDropSchemaConfirm) return undefined;
  if (config.dstDropSchemaConfirm !== undefined) {
    if (config.dstDropSchemaConfirm === p.database) return undefined;
    return `DST_DROP_SCHEMA=${JSON.stringify(config.dstDropSchemaConfirm)} does not name the target database ("${p.database}"); to confirm the drop, set DST_DROP_SCHEMA=${p.database}`;
  }
  return markerRefusal(p);
}

/**
 * Why DST_DROP_SCHEMA=1 (no name) must not drop this non-empty target, from its marker, or undefined: unmarked, marked
 * as a cut-over production, or written since the marked restore. Each needs DST_DROP_SCHEMA=<database>. Pure.
 */
export function markerRefusal(p: DropPreview): string | undefined {
  const confirm = `confirm with DST_DROP_SCHEMA=${p.database}`;
  if (!p.marker)
    return `DST_DROP_SCHEMA=1 only drops a database this tool restored before (it leaves a marker in the database comment); "${p.database}" has none. If it really is a staging copy to overwrite, ${confirm}`;
  if (p.markerKind === 'cutover')
    return `DST_DROP_SCHEMA=1 refused: "${p.database}" is marked as a CUT-OVER PRODUCTION database (run ${p.marker}), never a rehearsal copy. If it really must be overwritten, ${confirm}`;
  if (p.written?.length)
    return `DST_DROP_SCHEMA=1 refused: "${p.database}" was written since this tool restored it (run ${p.marker}): ${p.written.slice(0, 5).join(', ')}${p.written.length > 5 ? ` and ${p.written.length - 5} more` : ''}. If those writes may be lost, ${confirm}`;
  return undefined;
}

/** Count what `rsync --delete` would remove, by an rsync dry run (nothing is changed). */
export async function previewDeletions(
  config: Config,
  log?: PhaseLog,
): Promise<{ count: number; sample: string[] } | { error: string }> {
  if (!fs.existsSync(config.dstAssetsDir)) return { count: 0, sample: [] };
  const cmd = rsyncCommand({ ...config, assetsDelete: true });
  const run = { ...cmd, args: ['--dry-run', ...cmd.args] };
  const sample: string[] = [];
  let count = 0;
  const r = await runCommand(run, {
    phase: 'preflight',
    log,
    timeoutMs: 10 * 60_000,
    notInLog: (l) => !l.startsWith('*deleting'),
    onStdout: (l) => {
      if (!l.startsWith('*deleting')) return;
      count++;
      if (sample.length < 5) sample.push(l.replace(/^\*deleting\s+/, ''));
    },
  });
  if (r.code !== 0) return { error: `rsync --dry-run exited ${r.code}: ${r.stderrTail.slice(-3).join(' / ')}` };
  return { count, sample };
}

/** Why ASSETS_DELETE must not run, or undefined. `assetsMarker` is the directory this tool mirrored before. */
export function deleteRefusal(
  config: Config,
  preview: { count: number } | { error: string },
  assetsMarker: string | undefined,
  identity: Identity | undefined,
): string | undefined {
  if ('error' in preview) return `ASSETS_DELETE refused: could not count the files it would delete (${preview.error})`;
  if (identity?.kind === 'same' || identity?.kind === 'unproven')
    return `ASSETS_DELETE refused: the target database is not proven distinct from the source (${identity.kind === 'same' ? identity.how : identity.reason})`;
  if (config.assetsDeleteConfirm !== undefined) {
    // Real paths on both sides: a trailing slash, `.`/`..` or a symlink must not make the same directory differ.
    const named = realPathLoose(config.assetsDeleteConfirm);
    const real = realPathLoose(config.dstAssetsDir);
    if (named === real) return undefined;
    return `ASSETS_DELETE=${JSON.stringify(config.assetsDeleteConfirm)}${named !== path.resolve(config.assetsDeleteConfirm) ? ` (which leads to ${named})` : ''} does not name DST_ASSETS_DIR (${showResolved(config.dstAssetsDir, real)}); to confirm, set ASSETS_DELETE=${config.dstAssetsDir}`;
  }
  if (preview.count === 0) return undefined;
  if (assetsMarker && assetsMarker === realPathLoose(config.dstAssetsDir)) return undefined;
  return `ASSETS_DELETE=1 only deletes in a directory this tool mirrored before; ${config.dstAssetsDir} is not recorded as one and ${preview.count} entries would be deleted. If that is intended, confirm with ASSETS_DELETE=${config.dstAssetsDir}`;
}

/**
 * Leave (or update) this tool's marker in the target database's comment (lib/phases/marker.ts; needs ownership of the
 * database, no superuser). `restore`: the restore's facts (kind, run, what it created) with the write counters and the
 * marker transaction's xid; `assetsDir`: the directory the mirror wrote, kept beside the restore facts. Returns
 * `{ ok, note }`; never throws (a missing marker only means the next destructive run must name its target), and the
 * caller shows a failure on the console and in the summary.
 */
export async function leaveMarker(
  dst: Dsn,
  update: { restore?: Omit<Marker, 'v' | 'at' | 'xid' | 'writes' | 'assetsDir'>; assetsDir?: string },
  opts: { connectTimeoutMs: number },
): Promise<{ ok: boolean; note: string }> {
  try {
    await withConnection(
      dst,
      async (c: pg.Client) => {
        const old = await readMarker(c);
        await c.query('BEGIN');
        try {
          const base: Marker = update.restore
            ? { v: 2, ...update.restore, at: new Date().toISOString(), writes: await settledWriteCounters(c) }
            : (old.marker ?? {
                v: 2,
                kind: 'rehearsal',
                runId: '',
                at: new Date().toISOString(),
                schemas: [],
                extensions: [],
                largeObjects: 0,
                writes: {},
              });
          if (update.restore)
            base.xid = (
              await c.query<{ x: string }>('SELECT (pg_catalog.txid_current() % 4294967296)::text AS x')
            ).rows[0].x;
          // A restore does not change which directory this tool mirrored before: that fact is carried over (the mirror's
          // ASSETS_DELETE guard reads it after this run's restore rewrote the marker).
          const assetsDir = update.assetsDir ?? old.marker?.assetsDir ?? old.legacyAssetsDir;
          await writeMarker(c, { ...base, ...(assetsDir ? { assetsDir } : {}) }, old.otherComment);
          await c.query('COMMIT');
        } catch (e) {
          await c.query('ROLLBACK').catch(() => {});
          throw e;
        }
      },
      opts,
    );
    return {
      ok: true,
      note: `marker left on the target (database comment${update.restore ? `, ${update.restore.kind}` : ', assets directory'})`,
    };
  } catch (e) {
    return {
      ok: false,
      note: `could not leave the marker on the target (${redact((e as Error).message)}); the owner of the database can write it (COMMENT ON DATABASE); until then a later DST_DROP_SCHEMA / ASSETS_DELETE must name its target`,
    };
  }
}

/** The real path DST_ASSETS_DIR is recorded under (markers compare real paths). */
export function assetsMarkerValue(config: Config): string {
  return realPathLoose(config.dstAssetsDir);
}

export interface DestructiveVerdict {
  /** Refusals (each one stops the run with exit 2, the target untouched). */
  problems: string[];
  /** What the destructive steps would do (tables with row counts, files to delete), for the dry run and the log. */
  lines: string[];
}

/**
 * Every guard for this configuration, read-only: identity of source and target (always, when both are given), the
 * DST_DROP_SCHEMA confirmation and preview (when it is set and a restore is planned), the ASSETS_DELETE confirmation
 * and rsync dry-run count (when it is set and a mirror is planned).
 */
export async function checkDestructive(
  config: Config,
  planned: { restore: boolean; mirror: boolean },
  opts: { log?: PhaseLog } = {},
): Promise<DestructiveVerdict> {
  const problems: string[] = [];
  const lines: string[] = [];
  const conn = { connectTimeoutMs: config.connectTimeoutMs };
  const destructive = (config.dstDropSchema && planned.restore) || (config.assetsDelete && planned.mirror);
  // In every mode with both DSNs (--verify-only and --rerun-failed too): checks comparing the source with itself
  // through a proxy would be a vacuous green.
  const identity = config.src ? await identityVerdict(config, problems, lines, opts.log) : undefined;
  let preview: DropPreview | undefined;
  if (destructive) {
    try {
      // The row probe reads tables: only when DST_DROP_SCHEMA=1 relies on the marker (a name confirms without it).
      const probeRows = Boolean(config.dstDropSchema && planned.restore) && config.dstDropSchemaConfirm === undefined;
      preview = await previewDrop(config.dst, { ...conn, probeRows });
    } catch (e) {
      problems.push(`could not inspect the target before a destructive step: ${redact((e as Error).message)}`);
    }
  }
  if (config.dstDropSchema && planned.restore && preview) {
    lines.push(...describeDrop(preview));
    const why = dropRefusal(config, preview, identity);
    if (why && !(identity?.kind === 'same')) problems.push(why);
  }
  if (config.assetsDelete && planned.mirror) {
    const del = await previewDeletions(config, opts.log);
    if ('error' in del) lines.push(`ASSETS_DELETE: ${del.error}`);
    else
      lines.push(
        del.count === 0
          ? `ASSETS_DELETE: rsync --dry-run finds nothing to delete in ${config.dstAssetsDir}`
          : `ASSETS_DELETE would delete ${del.count} entries (files and directories) in ${config.dstAssetsDir} (rsync --dry-run), e.g. ${del.sample.join(', ')}`,
      );
    const why = deleteRefusal(config, del, preview?.assetsMarker, identity);
    if (why && !(identity?.kind === 'same')) problems.push(why);
  }
  return { problems, lines };
}

/**
 * The identity proof of `config`'s source and target, logged; a `same` verdict is a refusal in every mode (pushed to
 * `problems`), an unproven one a line (destructive steps refuse it themselves, see dropRefusal and deleteRefusal).
 */
async function identityVerdict(
  config: Config,
  problems: string[],
  lines: string[],
  log: PhaseLog | undefined,
): Promise<Identity> {
  const identity = await proveIdentity(config.src!, config.dst, { connectTimeoutMs: config.connectTimeoutMs });
  log?.line(`identity of source and target: ${identity.kind} (${'how' in identity ? identity.how : identity.reason})`);
  if (identity.kind === 'same')
    problems.push(
      `SRC_DATABASE_URL and DST_DATABASE_URL reach the same database (${identity.how}), through different names (an alias, a proxy or a pooler); the target must be a different, staging database (checks comparing a database with itself prove nothing)`,
    );
  if (identity.kind === 'unproven')
    lines.push(`identity of source and target: not proven (${identity.reason}); destructive steps are refused`);
  return identity;
}

/** TOC entry types whose restore takes a lock held until the end of a single-transaction restore. */
export const LOCKING_TOC_TYPES = ['TABLE', 'INDEX', 'SEQUENCE', 'VIEW', 'MATERIALIZED VIEW', 'FOREIGN TABLE'];

/**
 * A single-transaction restore holds one lock per relation it creates until COMMIT; the server's shared lock table
 * has room for max_locks_per_transaction × (max_connections + max_prepared_transactions) of them (PostgreSQL docs,
 * "Lock Management"). Returns a refusal when `relations` does not fit, a warning when it uses more than half, else
 * undefined. `relations` counts tables, indexes, sequences, views and materialized views of the archive or source.
 */
export function lockBudget(
  relations: number,
  s: { maxLocksPerTransaction: number; maxConnections: number; maxPreparedTransactions: number },
): { level: 'refuse' | 'warn'; message: string } | undefined {
  const slots = s.maxConnections + s.maxPreparedTransactions;
  const capacity = s.maxLocksPerTransaction * slots;
  if (relations <= capacity / 2) return undefined;
  const need = Math.ceil((relations * 1.5) / slots / 64) * 64;
  const fix = `raise max_locks_per_transaction on the target to at least ${need} (ALTER SYSTEM SET max_locks_per_transaction = ${need}; needs a restart), or restore with RESTORE_JOBS>1 (not atomic)`;
  if (relations > capacity)
    return {
      level: 'refuse',
      message: `a single-transaction restore locks ${relations} relations, more than the target's lock table holds (max_locks_per_transaction ${s.maxLocksPerTransaction} × ${slots} connection slots = ${capacity}): it would fail with "out of shared memory" after minutes of work; ${fix}`,
    };
  return {
    level: 'warn',
    message: `a single-transaction restore locks ${relations} relations, more than half of the target's lock table (${capacity}); concurrent sessions could run it out; ${fix}`,
  };
}

/** Relations a restore of this configuration creates: from the archive's TOC, else from the source catalog. */
export async function relationsToRestore(
  config: Config,
  toc: Record<string, number> | undefined,
): Promise<number | undefined> {
  if (toc) return LOCKING_TOC_TYPES.reduce((n, t) => n + (toc[t] ?? 0), 0);
  if (!config.src) return undefined;
  return withConnection(
    config.src,
    async (c: pg.Client) =>
      Number(
        (
          await c.query(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r','p','i','I','S','v','m','f') AND n.nspname NOT IN ('pg_catalog','information_schema')
               AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'`)
        ).rows[0].n,
      ),
    { connectTimeoutMs: config.connectTimeoutMs },
  );
}

/** The target's lock-table settings. */
export async function lockSettings(dst: Dsn, connectTimeoutMs: number) {
  return withConnection(
    dst,
    async (c: pg.Client) => {
      const r = (
        await c.query(`SELECT current_setting('max_locks_per_transaction')::int AS l, current_setting('max_connections')::int AS c,
                              current_setting('max_prepared_transactions')::int AS p`)
      ).rows[0];
      return { maxLocksPerTransaction: r.l, maxConnections: r.c, maxPreparedTransactions: r.p };
    },
    { connectTimeoutMs },
  );
}
