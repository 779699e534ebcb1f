/**
 * The marker's side of the restore phase (issue 24): before the restore, what a DST_DROP_SCHEMA drop removes on this
 * target (lib/phases/marker.ts dropPlan: what the previous restore created, never a DBA's extension); after it, the
 * marker recording what this restore created, written by the database owner into the database comment.
 */
import type pg from 'pg';
import { withConnection } from '../core/db.ts';
import { pgRestoreList } from './restore-commands.ts';
import { leaveMarker } from './guards.ts';
import {
  describeDropPlan,
  dropPlan,
  dropPlanSql,
  installedExtensions,
  readMarker,
  userSchemas,
  type DropPlan,
  type MarkerKind,
} from './marker.ts';
import type { PhaseCtx } from './phase.ts';
import { parseTocEntries } from './toc-filter.ts';

/** The target as the restore found it, and what its drop (DST_DROP_SCHEMA) removes. */
export interface BeforeRestore {
  schemas: string[];
  extensions: Map<string, string>;
  /** The drop, when DST_DROP_SCHEMA is set. */
  plan?: DropPlan;
  /** Its SQL (run before the archive, in the same transaction when the mode allows). */
  dropSql?: string[];
  /** One line saying what the drop removes and keeps. */
  dropLine?: string;
}

/** The schemas the archive creates (its SCHEMA entries). */
export async function archiveSchemas(ctx: PhaseCtx, archive: string, fds?: number[]): Promise<string[]> {
  const { toc } = await pgRestoreList(archive, { phase: 'restore', log: ctx.log, fds });
  return parseTocEntries(toc)
    .filter((e) => e.type === 'SCHEMA')
    .map((e) => e.tag);
}

/** Read the target before the restore and, for DST_DROP_SCHEMA, decide the drop. */
export async function beforeRestore(ctx: PhaseCtx, archive: string, fds?: number[]): Promise<BeforeRestore> {
  const { config } = ctx;
  const fromArchive = config.dstDropSchema ? await archiveSchemas(ctx, archive, fds) : [];
  return withConnection(
    config.dst,
    async (c: pg.Client) => {
      const read = await readMarker(c);
      const schemas = await userSchemas(c);
      const extensions = await installedExtensions(c);
      if (!config.dstDropSchema) return { schemas, extensions };
      // A target confirmed by name (or marked by the previous release) drops public and the archive's schemas there.
      const marker = read.marker?.xid ? read.marker : undefined;
      const plan = dropPlan({ marker, archiveSchemas: fromArchive, targetSchemas: schemas, installed: extensions });
      return { schemas, extensions, plan, dropSql: dropPlanSql(plan), dropLine: describeDropPlan(plan) };
    },
    { connectTimeoutMs: config.connectTimeoutMs },
  );
}

/**
 * After the restore committed: what it created (schemas and extensions that were not there, or that the drop
 * removed), and the marker that records it. Returns the note, and whether the marker was written.
 */
export async function markRestore(
  ctx: PhaseCtx,
  before: BeforeRestore,
  kind: MarkerKind,
): Promise<{ ok: boolean; note: string }> {
  const { config } = ctx;
  const after = await withConnection(
    config.dst,
    async (c: pg.Client) => ({
      schemas: await userSchemas(c),
      extensions: await installedExtensions(c),
      largeObjects: Number(
        (await c.query<{ n: string }>('SELECT count(*) AS n FROM pg_catalog.pg_largeobject_metadata')).rows[0].n,
      ),
    }),
    { connectTimeoutMs: config.connectTimeoutMs },
  );
  const dropped = new Set(before.plan?.drop ?? []);
  const droppedExt = new Set(before.plan?.extensions ?? []);
  const kept = new Set(before.schemas.filter((s) => !dropped.has(s)));
  const schemas = after.schemas.filter((s) => s === 'public' || !kept.has(s));
  const extensions = [...after.extensions.keys()].filter((e) => !before.extensions.has(e) || droppedExt.has(e)).sort();
  return leaveMarker(
    config.dst,
    { restore: { kind, runId: ctx.state.runId, schemas, extensions, largeObjects: after.largeObjects } },
    config,
  );
}
