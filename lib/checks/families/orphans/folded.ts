/**
 * The orphans of one relation on one side as the run's fused scan counted them (lib/checks/shared/orphan-fold.ts), or
 * why they were not folded there (then the family runs its anti-join, ./sql.ts, as before).
 */
import type { Relation } from '../../../core/config.ts';
import { getPool, withClient } from '../../../core/db.ts';
import { displayIdent, displayTable, quoteTable, type TableRef } from '../../../core/ident.ts';
import { configOf, type CheckContext } from '../../shared/context.ts';
import { sideName } from '../../shared/deep-context.ts';
import { orphanKey } from '../../shared/orphan-fold.ts';
import { scanContext, scanFoldsOrphans, tableScan } from '../../shared/shared-scan.ts';

/** One side's orphans of a relation from the fused scan of `host`, or why the anti-join counts them instead. */
export type SideFold =
  { status: 'folded'; n: number; keys: string[]; index: string; host: TableRef } | { status: 'anti-join'; why: string };

const same = (a: TableRef, b: TableRef) => a.schema === b.schema && a.name === b.name;

/**
 * The plan table whose scan reads the child's rows: the child itself, or the partitioned table at the root of the
 * child's partition tree on that side (pg_partition_root); undefined when neither is a table of the plan.
 */
async function hostOf(ctx: CheckContext, side: 'src' | 'dst', rel: Relation): Promise<TableRef | undefined> {
  const plan = ctx.run.plan;
  if (!plan) return undefined;
  if (plan.tables.some((t) => same(t, rel.child))) return rel.child;
  const config = configOf(ctx);
  const pool = getPool(side === 'src' ? config.src! : config.dst, {
    max: config.checkConcurrency,
    connectTimeoutMs: config.connectTimeoutMs,
  });
  const root = await withClient(pool, (c) =>
    c.query<{ schema: string; name: string }>(
      `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.oid = pg_partition_root(to_regclass($1))`,
      [quoteTable(rel.child)],
    ),
  ).catch(() => undefined);
  const r = root?.rows[0];
  return r && plan.tables.some((t) => same(t, r)) ? { schema: r.schema, name: r.name } : undefined;
}

/**
 * The orphans of `rel` on `side` from the run's fused scan of the table that holds its child rows (shared with the
 * row-count, checksum and path-prefix checks: no read of its own), or why they are not there: the child is not a
 * scanned table, the scan is a bounded count only (CHECKSUM=off, CHECKSUM_TABLES, shapes that differ), the scan
 * failed, or that side's catalog did not allow probing the parent by a unique index.
 */
export async function foldedSide(ctx: CheckContext, side: 'src' | 'dst', rel: Relation): Promise<SideFold> {
  const config = configOf(ctx);
  const sc = scanContext(ctx.run, config);
  const host = await hostOf(ctx, side, rel);
  if (!host) return { status: 'anti-join', why: `${displayTable(rel.child)} is not read by a fused scan of this run` };
  if (!scanFoldsOrphans(sc, side, host))
    return {
      status: 'anti-join',
      why: `the ${sideName(side)}'s scan of ${displayTable(host)} only counts rows (no checksum: CHECKSUM=off, CHECKSUM_TABLES or no source), bounded by ROWCOUNT_TIMEOUT_MS`,
    };
  let r;
  try {
    r = await tableScan(sc, side, host);
  } catch (e) {
    return { status: 'anti-join', why: `the fused scan of ${displayTable(host)} failed (${(e as Error).message})` };
  }
  const key = orphanKey(rel);
  const f = r.orphans?.[key];
  if (f) return { status: 'folded', n: Number(f.n), keys: f.keys, index: f.index, host };
  const why =
    r.orphanSkips?.[key] ??
    (r.missing
      ? `${displayTable(host)} does not exist there`
      : `the scan of ${displayTable(host)} only counted rows (the two sides' columns differ, so no checksum ran)`);
  return { status: 'anti-join', why };
}

/** The evidence line saying how one side's orphans were counted. */
export function foldNote(side: 'src' | 'dst', f: SideFold): string {
  return f.status === 'folded'
    ? `${sideName(side)}: counted in the fused scan of ${displayTable(f.host)} (its one read of the table), the parent probed by its unique index ${displayIdent(f.index)}`
    : `${sideName(side)}: counted by an anti-join (not folded into the fused scan: ${f.why})`;
}
