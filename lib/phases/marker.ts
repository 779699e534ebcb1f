/**
 * The marker this tool leaves on a target it restored (issue 24 and 26): a JSON text in `COMMENT ON DATABASE`, read
 * back with `pg_catalog.shobj_description`. Why a comment:
 * - the database OWNER may write it on every supported major (PostgreSQL 13–18) without superuser (a custom
 *   `ALTER DATABASE … SET migration_rehearsal.*`, the previous marker, is refused to a non-superuser on PG15+);
 * - it lives in the catalog (pg_shdescription), so no session setting can forge it: the previous marker was read with
 *   `current_setting()`, and `PGOPTIONS='-c migration_rehearsal.restored_by=x'` made any database look marked.
 *
 * The marker says what it marks (`rehearsal`: a staging copy; `cutover`: the new production, never dropped by
 * `DST_DROP_SCHEMA=1`), which run wrote it, and what that restore created (schemas, extensions, large objects), so a
 * repeat removes exactly that and nothing a DBA installed.
 *
 * "Written since the tool's last restore" is detected from the catalogs first, reading a table only last:
 * - `writes`: per table, `n_tup_ins + n_tup_upd + n_tup_del` of pg_stat_user_tables right after the restore (and its
 *   ANALYZE, which counts nothing there). Any later INSERT/UPDATE/DELETE/COPY raises a counter; a TRUNCATE or a
 *   reset of the statistics makes one smaller; a new table has no entry. These counters are per database, survive a
 *   clean restart, and cost one catalog view read; they cannot be written by a session.
 * - `xid`: the marker's own transaction id (taken after the restore committed). A relation whose pg_class row is
 *   younger than it (`age(xmin) < age(xid)`) was created or altered (DDL, TRUNCATE, new relfilenode) after the restore.
 * - large objects: the two large-object catalogs' counters (pg_stat_sys_tables), and, by the marker's xid, a
 *   `pg_largeobject_metadata` row younger than it or fewer large objects than recorded (lib/phases/write-probe.ts).
 * - rows the counters never saw (`SET track_counts = off`, superuser only): a bounded, read-only probe for a live row
 *   version younger than the marker's xid in the tables the drop would remove (lib/phases/write-probe.ts, its cost).
 * A statistics reset or a crash losing the counters makes the target look written: refused, never waved through.
 */
import type pg from 'pg';
import { quoteIdent } from '../core/ident.ts';
import { largeObjectsSince, rowProbeLines, rowsNewerThanMarker } from './write-probe.ts';

/** The key of the marker object inside the database comment. */
export const MARKER_KEY = 'migration_rehearsal';
/** The previous release's database-level settings (read for one release, never written). */
export const LEGACY_RESTORED = 'migration_rehearsal.restored_by';
export const LEGACY_ASSETS_DIR = 'migration_rehearsal.assets_dir';

export type MarkerKind = 'rehearsal' | 'cutover';

/** What the marker records. */
export interface Marker {
  v: 2;
  /** `rehearsal`: a staging copy; `cutover`: the new production. */
  kind: MarkerKind;
  runId: string;
  /** ISO time the marker was written. */
  at: string;
  /** The marker transaction's 32-bit xid (after the restore committed), as text. */
  xid?: string;
  /** Schemas the restore created (public included when it restored into public). */
  schemas: string[];
  /** Extensions the restore created (not those a DBA had installed). */
  extensions: string[];
  /** Large objects on the target after the restore. */
  largeObjects: number;
  /** `schema.table` (quoted as needed) → n_tup_ins + n_tup_upd + n_tup_del after the restore. */
  writes: Record<string, number>;
  /** The real path of DST_ASSETS_DIR the mirror wrote (ASSETS_DELETE=1 is accepted for it). */
  assetsDir?: string;
}

/** A marker as read from a target: the new one, or the previous release's (`legacy`). */
export interface MarkerRead {
  database: string;
  marker?: Marker;
  /** The previous release's `restored_by` value (a run id), read from pg_db_role_setting, never from the session. */
  legacyRestoredBy?: string;
  legacyAssetsDir?: string;
  /** A comment on the database that is not this tool's (kept inside the marker's text when the marker is written). */
  otherComment?: string;
}

/** Parse a database comment: this tool's marker object (and the text of another comment it kept), else nothing. Pure. */
export function parseMarkerComment(comment: string | null | undefined): { marker?: Marker; otherComment?: string } {
  if (!comment) return {};
  try {
    const o = JSON.parse(comment) as Record<string, unknown>;
    const m = o?.[MARKER_KEY] as Marker | undefined;
    if (m && typeof m === 'object' && (m.kind === 'rehearsal' || m.kind === 'cutover') && typeof m.runId === 'string')
      return {
        marker: {
          ...m,
          schemas: m.schemas ?? [],
          extensions: m.extensions ?? [],
          writes: m.writes ?? {},
          largeObjects: m.largeObjects ?? 0,
        },
        otherComment: typeof o.comment === 'string' ? o.comment : undefined,
      };
  } catch {
    /* not JSON: somebody else's comment */
  }
  return { otherComment: comment };
}

/** The database comment holding `marker` (and a comment that was there before, kept under `comment`). Pure. */
export function markerComment(marker: Marker, otherComment?: string): string {
  return JSON.stringify({ [MARKER_KEY]: marker, ...(otherComment ? { comment: otherComment } : {}) });
}

/** The previous release's settings out of pg_db_role_setting.setconfig (`name=value` items). Pure. */
export function legacySettings(setconfig: readonly string[] | null | undefined): {
  restoredBy?: string;
  assetsDir?: string;
} {
  const get = (name: string) => setconfig?.find((s) => s.startsWith(`${name}=`))?.slice(name.length + 1) || undefined;
  return { restoredBy: get(LEGACY_RESTORED), assetsDir: get(LEGACY_ASSETS_DIR) };
}

const READ_SQL = `SELECT d.datname AS db, pg_catalog.shobj_description(d.oid, 'pg_database') AS comment,
  (SELECT s.setconfig FROM pg_catalog.pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 0) AS settings
FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()`;

/** Read the marker of the connected database from the catalog (never from a session setting). */
export async function readMarker(c: pg.Client): Promise<MarkerRead> {
  const r = (await c.query<{ db: string; comment: string | null; settings: string[] | null }>(READ_SQL)).rows[0];
  const parsed = parseMarkerComment(r.comment);
  const legacy = legacySettings(r.settings);
  return {
    database: r.db,
    marker: parsed.marker,
    otherComment: parsed.otherComment,
    legacyRestoredBy: legacy.restoredBy,
    legacyAssetsDir: legacy.assetsDir,
  };
}

const WRITES_SQL = `SELECT pg_catalog.quote_ident(s.schemaname) || '.' || pg_catalog.quote_ident(s.relname) AS t,
  (s.n_tup_ins + s.n_tup_upd + s.n_tup_del)::text AS w FROM pg_catalog.pg_stat_user_tables s
UNION ALL
SELECT 'pg_catalog.' || s.relname, (s.n_tup_ins + s.n_tup_upd + s.n_tup_del)::text FROM pg_catalog.pg_stat_sys_tables s
WHERE s.schemaname = 'pg_catalog' AND s.relname IN ('pg_largeobject', 'pg_largeobject_metadata')`;

/** The catalogs whose counters the marker also records (large objects live there, not in a user table). */
const LO_CATALOGS: Record<string, string> = {
  'pg_catalog.pg_largeobject': 'large objects (their content',
  'pg_catalog.pg_largeobject_metadata': 'large objects (created, unlinked or re-owned',
};

/**
 * Per-table write counters of the connected database, with those of the two large-object catalogs (keys
 * `pg_catalog.pg_largeobject*`); this transaction's statistics snapshot is cleared first.
 */
export async function writeCounters(c: pg.Client): Promise<Record<string, number>> {
  await c.query('SELECT pg_catalog.pg_stat_clear_snapshot()');
  const out: Record<string, number> = {};
  for (const r of (await c.query<{ t: string; w: string }>(WRITES_SQL)).rows) out[r.t] = Number(r.w);
  return out;
}

/**
 * The write counters once they stopped moving: the restore's own backends report their counts when they end, a
 * little after their client exited (PG15+), or through the statistics collector (PG13/14). Up to `tries` reads
 * `pauseMs` apart.
 */
export async function settledWriteCounters(c: pg.Client, tries = 8, pauseMs = 250): Promise<Record<string, number>> {
  let last = await writeCounters(c);
  for (let i = 1; i < tries; i++) {
    await new Promise((r) => setTimeout(r, pauseMs));
    const now = await writeCounters(c);
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  return last;
}

/**
 * Tables written since `before` (counters higher, lower = truncated or reset, or not there before), and large objects
 * written (the large-object catalogs' counters; compared only when the marker recorded them). Pure.
 */
export function writtenTables(before: Record<string, number>, now: Record<string, number>): string[] {
  const out: string[] = [];
  for (const [t, n] of Object.entries(now)) {
    const b = before[t];
    const lo = LO_CATALOGS[t];
    if (lo) {
      if (b !== undefined && n !== b) out.push(`${lo} written since the restore: ${t} counters moved)`);
    } else if (b === undefined) out.push(`${t} (new since the restore)`);
    else if (n > b) out.push(`${t} (${n - b} row write(s) since the restore)`);
    else if (n < b) out.push(`${t} (its write counters went back: truncated, or statistics reset)`);
  }
  return out.sort();
}

/**
 * Objects created or altered after the marker's transaction ($1): relations in any schema, and — in the schemas the
 * drop removes ($2; re-run attack N3: a hot-fix function, an enum and a domain made on the marked copy were dropped
 * unnamed) — functions and procedures, and types (enums, domains, composite and range types; not a relation's row
 * type nor an array type, which come with their owner). Only those schemas for these: a DBA's event-trigger function
 * in a schema of its own is not lost by the drop. Extension members are left out (the extension's own objects).
 * `kind` is empty for a relation. At most 10 lines.
 */
const NEWER_DDL_SQL = `SELECT t, kind FROM (
  SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS t, '' AS kind
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r','p','v','m','f','S') AND n.nspname NOT IN ('pg_catalog','information_schema')
    AND n.nspname !~ '^pg_' AND pg_catalog.age(c.xmin) < pg_catalog.age($1::text::xid)
  UNION ALL
  SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname)
           || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', 'function '
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = ANY ($2::text[])
    AND pg_catalog.age(p.xmin) < pg_catalog.age($1::text::xid)
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
      AND d.objid = p.oid AND d.deptype = 'e')
  UNION ALL
  SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.typname), 'type '
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
  WHERE n.nspname = ANY ($2::text[])
    AND t.typcategory <> 'A'
    AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
    AND pg_catalog.age(t.xmin) < pg_catalog.age($1::text::xid)
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass
      AND d.objid = t.oid AND d.deptype = 'e')
) x ORDER BY 1 LIMIT 10`;

/** Options of writtenSince: the schemas a drop would remove (the row probe reads their tables), the probe's budget. */
export interface WrittenSinceOptions {
  /**
   * Schemas the drop removes: the row probe reads their tables, and their functions and types count as DDL since
   * (default: public and the marker's schemas).
   */
  schemas?: readonly string[];
  /** Skip the row probe (a refusal already stands, or the target is confirmed by name). */
  probeRows?: boolean;
  budgetMs?: number;
}

/**
 * What was written on the target since the marker's restore: tables with write counters that moved, relations
 * created or altered after the marker's transaction, large objects created, unlinked or changed since, and rows
 * newer than the marker's transaction that the counters did not count (`track_counts = off`; lib/phases/write-probe.ts,
 * bounded, read-only). Empty: nothing (the marker has no xid: the previous release's marker, nothing can be said).
 */
export async function writtenSince(c: pg.Client, marker: Marker, opts: WrittenSinceOptions = {}): Promise<string[]> {
  const out = writtenTables(marker.writes, await writeCounters(c));
  if (!marker.xid) return out;
  const schemas = opts.schemas ?? [...new Set(['public', ...marker.schemas])];
  const ddl = (await c.query<{ t: string; kind: string }>(NEWER_DDL_SQL, [marker.xid, schemas])).rows;
  for (const { t, kind } of ddl)
    if (!out.some((o) => o.startsWith(`${t} `))) out.push(`${t} (${kind}created or altered since the restore)`);
  if (!out.some((o) => o.startsWith('large objects ')))
    out.push(...(await largeObjectsSince(c, { xid: marker.xid, largeObjects: marker.largeObjects })));
  // The row probe reads tables: only when nothing else refuses already.
  if (out.length || opts.probeRows === false) return out;
  return rowProbeLines(await rowsNewerThanMarker(c, marker.xid, schemas, opts.budgetMs), opts.budgetMs);
}

/** Write `marker` as the connected database's comment (needs ownership of the database). Returns the xid used. */
export async function writeMarker(c: pg.Client, marker: Marker, otherComment?: string): Promise<void> {
  const db = (await c.query<{ db: string }>('SELECT pg_catalog.current_database() AS db')).rows[0].db;
  const text = markerComment(marker, otherComment).replace(/'/g, "''");
  await c.query(`COMMENT ON DATABASE ${quoteIdent(db)} IS '${text}'`);
}

/** Installed extensions of the connected database: name → schema. */
export async function installedExtensions(c: pg.Client): Promise<Map<string, string>> {
  const r = await c.query<{ name: string; schema: string }>(
    `SELECT e.extname AS name, n.nspname AS schema FROM pg_catalog.pg_extension e
     JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql'`,
  );
  return new Map(r.rows.map((x) => [x.name, x.schema]));
}

/** Schemas of the connected database, without the system ones. */
export async function userSchemas(c: pg.Client): Promise<string[]> {
  const r = await c.query<{ n: string }>(
    `SELECT nspname AS n FROM pg_catalog.pg_namespace WHERE nspname NOT IN ('pg_catalog','information_schema')
     AND nspname !~ '^pg_' ORDER BY 1`,
  );
  return r.rows.map((x) => x.n);
}

/** What a DST_DROP_SCHEMA drop removes on this target (decided by dropPlan). */
export interface DropPlan {
  /** Schemas dropped whole (CASCADE); public is created again, empty. */
  drop: string[];
  /** Schemas emptied object by object, keeping the members of the extensions listed (a DBA's, not re-creatable). */
  empty: Array<{ schema: string; keep: string[] }>;
  /** Extensions the previous restore created, dropped first. */
  extensions: string[];
}

/**
 * What a drop removes: the schemas the marker says the previous restore created (unmarked target confirmed by name:
 * public and the schemas the archive creates that exist), and the extensions it created. An extension it did not
 * create (a DBA's) is kept: a schema holding one is emptied instead of dropped. Pure.
 */
export function dropPlan(input: {
  marker?: Pick<Marker, 'schemas' | 'extensions'>;
  archiveSchemas: readonly string[];
  targetSchemas: readonly string[];
  installed: ReadonlyMap<string, string>;
}): DropPlan {
  const present = new Set(input.targetSchemas);
  const wanted = input.marker ? input.marker.schemas : ['public', ...input.archiveSchemas];
  const schemas = [...new Set(['public', ...wanted])].filter((s) => present.has(s) || s === 'public').sort();
  const own = new Set(input.marker?.extensions ?? []);
  const extensions = [...own].filter((e) => input.installed.has(e)).sort();
  const keepBySchema = new Map<string, string[]>();
  for (const [ext, schema] of input.installed)
    if (!own.has(ext)) keepBySchema.set(schema, [...(keepBySchema.get(schema) ?? []), ext].sort());
  return {
    drop: schemas.filter((s) => !keepBySchema.has(s)),
    empty: schemas.filter((s) => keepBySchema.has(s)).map((s) => ({ schema: s, keep: keepBySchema.get(s)! })),
    extensions,
  };
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Empty one schema in place, keeping every object that belongs to an extension (pg_depend deptype 'e'): relations,
 * routines, types and domains the restore may have created there. Names are computed before anything is dropped, so an
 * object already gone by an earlier CASCADE is skipped (IF EXISTS); sequences come last, so a sequence a column owns
 * (serial, identity) goes with its table instead of refusing "column id of table … requires it".
 */
function emptySchemaSql(schema: string): string {
  const ns = `(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ${lit(schema)})`;
  const notExt = (cls: string, col: string) =>
    `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.${cls}'::pg_catalog.regclass AND d.objid = ${col} AND d.deptype = 'e')`;
  return `DO $mr$ DECLARE r record; BEGIN
  FOR r IN SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS k,
      pg_catalog.quote_ident(${lit(schema)}) || '.' || pg_catalog.quote_ident(c.relname) AS n
    FROM pg_catalog.pg_class c WHERE c.relnamespace = ${ns} AND c.relkind IN ('r','p','v','m','f','S') AND ${notExt('pg_class', 'c.oid')}
    ORDER BY c.relkind = 'S'
  LOOP EXECUTE pg_catalog.format('DROP %s IF EXISTS %s CASCADE', r.k, r.n); END LOOP;
  FOR r IN SELECT CASE p.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'ROUTINE' END AS k, p.oid::pg_catalog.regprocedure::text AS n
    FROM pg_catalog.pg_proc p WHERE p.pronamespace = ${ns} AND ${notExt('pg_proc', 'p.oid')}
  LOOP EXECUTE pg_catalog.format('DROP %s IF EXISTS %s CASCADE', r.k, r.n); END LOOP;
  FOR r IN SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END AS k,
      pg_catalog.quote_ident(${lit(schema)}) || '.' || pg_catalog.quote_ident(t.typname) AS n
    FROM pg_catalog.pg_type t WHERE t.typnamespace = ${ns} AND t.typtype IN ('c','d','e','r') AND t.typcategory <> 'A'
      AND (t.typrelid = 0 OR (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t.typrelid) = 'c') AND ${notExt('pg_type', 't.oid')}
  LOOP EXECUTE pg_catalog.format('DROP %s IF EXISTS %s CASCADE', r.k, r.n); END LOOP;
END $mr$;`;
}

/** The SQL of a drop plan, run inside the restore's transaction before the archive (lib/core/tools.ts). Pure. */
export function dropPlanSql(plan: DropPlan): string[] {
  const sql: string[] = [];
  for (const e of plan.extensions) sql.push(`DROP EXTENSION IF EXISTS ${quoteIdent(e)} CASCADE;`);
  for (const s of plan.drop) {
    sql.push(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE;`);
    if (s === 'public') sql.push('CREATE SCHEMA public;', 'GRANT USAGE ON SCHEMA public TO PUBLIC;');
  }
  for (const e of plan.empty) sql.push(emptySchemaSql(e.schema));
  // Large objects belong to the database, not to a schema: the archive restores them with their OIDs, so the previous
  // copy's would collide ("duplicate key … pg_largeobject_metadata_oid_index") on every repeat rehearsal.
  sql.push('SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata;');
  return sql;
}

/** One line saying what a drop plan removes and keeps. Pure. */
export function describeDropPlan(plan: DropPlan): string {
  const shown = (n: string) => (/^[a-z_][a-z0-9_]*$/.test(n) ? n : quoteIdent(n));
  const parts = [`drops schema(s) ${plan.drop.map(shown).join(', ') || '(none)'}`];
  if (plan.extensions.length) parts.push(`the extension(s) the last restore created (${plan.extensions.join(', ')})`);
  for (const e of plan.empty)
    parts.push(`empties schema ${shown(e.schema)} but KEEPS extension(s) ${e.keep.join(', ')} (installed by a DBA)`);
  parts.push('and the large objects');
  return parts.join(', ');
}
