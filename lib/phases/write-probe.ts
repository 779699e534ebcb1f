/**
 * Writes a marked rehearsal copy's statistics cannot see (issue 26, attack E6), found by transaction ids instead:
 * - a large object created since the restore (its `pg_largeobject_metadata` row is younger than the marker's xid,
 *   whatever `track_counts` said), one unlinked (fewer than the marker recorded), and, where this role may read
 *   `pg_largeobject` (a superuser), one whose content changed (`lo_put`, `lowrite`);
 * - a row inserted or updated with `SET track_counts = off` (a superuser-only setting, so the write counters never
 *   moved): a live row version whose `xmin` is younger than the marker's xid.
 *
 * Cost. The large-object probes read two catalogs. The row probe scans each table the drop would remove
 * (`EXISTS … WHERE age(xmin) < age(<marker xid>)`: it stops at the first newer row, but a clean table is read whole),
 * smallest first, under ONE budget for all tables (`ROW_PROBE_BUDGET_MS`, each statement bounded by what is left).
 * A table the budget (or a lock, or a missing privilege) leaves unproven is named, and `DST_DROP_SCHEMA=1` is
 * refused: on a target too big to read in the budget, the operator names the database (`DST_DROP_SCHEMA=<dbname>`)
 * instead. Each probe runs in a READ ONLY transaction and assigns no transaction id: nothing is written to the target
 * (a scan may set hint bits, as any read does).
 *
 * Not seen: a DELETE run with `track_counts = off` (the deleted rows are invisible to a snapshot, no newer xmin
 * remains), and writes older than the marker's transaction (none: the marker is taken after the restore committed).
 */
import type pg from 'pg';

/** The row probe's budget for all tables together (milliseconds). */
export const ROW_PROBE_BUDGET_MS = 120_000;

/** What a marked restore recorded that the probes compare with (a subset of lib/phases/marker.ts Marker). */
export interface ProbeMarker {
  /** The marker transaction's 32-bit xid, as text. */
  xid: string;
  /** Large objects on the target after the restore. */
  largeObjects: number;
}

const LO_SQL = `SELECT count(*)::bigint::text AS n,
  (count(*) FILTER (WHERE pg_catalog.age(m.xmin) < pg_catalog.age($1::text::pg_catalog.xid)))::text AS newer,
  (pg_catalog.min(m.oid) FILTER (WHERE pg_catalog.age(m.xmin) < pg_catalog.age($1::text::pg_catalog.xid)))::text AS sample,
  pg_catalog.has_table_privilege('pg_catalog.pg_largeobject', 'SELECT') AS content
FROM pg_catalog.pg_largeobject_metadata m`;

const LO_CONTENT_SQL = `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_largeobject l
  WHERE pg_catalog.age(l.xmin) < pg_catalog.age($1::text::pg_catalog.xid)) AS hit`;

/** Run `fn` in a READ ONLY transaction with a pinned search_path and the given bounds (ms); always rolled back. */
async function readOnly<T>(
  c: pg.Client,
  bounds: { statementMs: number; lockMs: number },
  fn: () => Promise<T>,
): Promise<T> {
  await c.query('BEGIN TRANSACTION READ ONLY');
  try {
    await c.query(
      `SET LOCAL search_path = pg_catalog, pg_temp; SET LOCAL lock_timeout = ${Math.max(1, Math.round(bounds.lockMs))}; SET LOCAL statement_timeout = ${Math.max(1, Math.round(bounds.statementMs))}`,
    );
    return await fn();
  } finally {
    await c.query('ROLLBACK').catch(() => {});
  }
}

/**
 * Large objects written since the marked restore, one line each (empty: none seen). Reads pg_largeobject_metadata
 * (readable by every role) and, when this role may read it, pg_largeobject. Throws on a connection error.
 */
export async function largeObjectsSince(c: pg.Client, m: ProbeMarker): Promise<string[]> {
  return readOnly(c, { statementMs: 30_000, lockMs: 5_000 }, async () => {
    const r = (await c.query<{ n: string; newer: string; sample: string | null; content: boolean }>(LO_SQL, [m.xid]))
      .rows[0];
    const out: string[] = [];
    if (Number(r.newer) > 0)
      out.push(`large objects (${r.newer} created or changed since the restore, e.g. oid ${r.sample})`);
    else if (Number(r.n) < m.largeObjects)
      out.push(`large objects (${m.largeObjects - Number(r.n)} unlinked since the restore)`);
    if (!out.length && r.content && (await c.query<{ hit: boolean }>(LO_CONTENT_SQL, [m.xid])).rows[0].hit)
      out.push('large objects (content written since the restore: lo_put / lowrite)');
    return out;
  });
}

const TABLES_SQL = `SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS t
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY ($1::text[]) AND c.relkind IN ('r', 'm')
  -- A materialized view never populated (CREATE … WITH NO DATA, pagila's rental_by_category) holds no row version
  -- and cannot be read ("has not been populated"): nothing to prove. Populating it (REFRESH) makes it probed again.
  AND (c.relkind <> 'm' OR c.relispopulated)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
    AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY pg_catalog.pg_relation_size(c.oid), 1`;

/** The result of the row probe: tables holding rows newer than the marker, tables it could not prove clean. */
export interface RowProbe {
  written: string[];
  unproven: Array<{ table: string; why: string }>;
}

/**
 * Tables of `schemas` holding a live row version younger than the marker's xid (an INSERT or UPDATE the write
 * counters did not count), smallest table first, all within `budgetMs` together. A table left unproven (budget, lock,
 * privilege) is listed with why. Read-only (see the module comment for the cost).
 */
export async function rowsNewerThanMarker(
  c: pg.Client,
  xid: string,
  schemas: readonly string[],
  budgetMs = ROW_PROBE_BUDGET_MS,
): Promise<RowProbe> {
  const tables = (await c.query<{ t: string }>(TABLES_SQL, [schemas])).rows.map((r) => r.t);
  const out: RowProbe = { written: [], unproven: [] };
  const end = Date.now() + budgetMs;
  for (const t of tables) {
    const left = end - Date.now();
    if (left <= 0) {
      out.unproven.push({ table: t, why: 'the probe budget ran out' });
      continue;
    }
    try {
      const hit = await readOnly(c, { statementMs: left, lockMs: Math.min(2_000, left) }, async () => {
        const sql = `SELECT EXISTS (SELECT 1 FROM ONLY ${t} x WHERE pg_catalog.age(x.xmin) < pg_catalog.age($1::text::pg_catalog.xid)) AS hit`;
        return (await c.query<{ hit: boolean }>(sql, [xid])).rows[0].hit;
      });
      if (hit) out.written.push(t);
    } catch (e) {
      const msg =
        (e as { code?: string; message: string }).code === '57014' ? 'the probe budget ran out' : (e as Error).message;
      out.unproven.push({ table: t, why: msg });
    }
  }
  return out;
}

/** The probe's lines for a refusal (empty: nothing seen, everything proven). Pure. */
export function rowProbeLines(p: RowProbe, budgetMs = ROW_PROBE_BUDGET_MS): string[] {
  const lines = p.written.map(
    (t) =>
      `${t} (rows inserted or updated since the restore, found by their transaction ids: the write counters did not count them)`,
  );
  if (p.unproven.length) {
    const sample = p.unproven
      .slice(0, 3)
      .map((u) => `${u.table}: ${u.why}`)
      .join('; ');
    lines.push(
      `${p.unproven.length} table(s) not proven unwritten since the restore within the ${Math.round(budgetMs / 1000)} s row probe (${sample}${p.unproven.length > 3 ? '; …' : ''})`,
    );
  }
  return lines;
}
