/**
 * Discovery: what to check, read from the catalogs — the tables to count, the relations to check for orphans, the
 * asset columns and the deterministic asset sample. The result (a CheckPlan) is stored in WORK_DIR/state.json, so a
 * rerun checks exactly the same subjects.
 *
 * Tables and relations come from the source when one is configured (a foreign key whose creation failed during the
 * restore is then still checked), else from the target. Asset columns and the sample come from the target: that is
 * where the paths must resolve.
 */
import type pg from 'pg';
import type { AssetColumn, Config, Relation } from '../../core/config.ts';
import { dbErrorMessage, withConnection } from '../../core/db.ts';
import type { Dsn } from '../../core/dsn.ts';
import { displayIdent, displayTable, type TableRef } from '../../core/ident.ts';
import { whyMissing } from '../../core/configured-subjects.ts';
import {
  columnsExistQuery,
  foreignKeysQuery,
  sampleDistinctQuery,
  sampleUnionQuery,
  userTablesQuery,
  type Query,
} from './sql.ts';
import type { AssetColumnPlan, AssetSampleItem, CheckPlan } from '../../core/state.ts';

/** A table as shown in orphan and asset check names: `users`, or `app.users` outside the public schema. */
export function shortTable(t: TableRef): string {
  return t.schema === 'public' ? displayIdent(t.name) : displayTable(t);
}

/** `knowledge_materials.storage_path` (schema-qualified outside public). */
export function columnDisplay(table: TableRef, column: string): string {
  return `${shortTable(table)}.${displayIdent(column)}`;
}

/** `ugc_assets(user_id) -> users(id)`; composite: `gallery_items(owner_id, gallery_slug) -> galleries(owner_id, slug)`. */
export function relationDisplay(rel: Relation): string {
  const side = (t: TableRef, cols: string[]) => `${shortTable(t)}(${cols.map(displayIdent).join(', ')})`;
  return `${side(rel.child, rel.childColumns)} -> ${side(rel.parent, rel.parentColumns)}`;
}

function relationKey(rel: Relation): string {
  return JSON.stringify([rel.child, rel.childColumns, rel.parent, rel.parentColumns]);
}

async function run<T extends pg.QueryResultRow>(c: pg.Client, d: Dsn, q: Query): Promise<T[]> {
  try {
    return (await c.query<T>(q.text, q.values as unknown[])).rows;
  } catch (e) {
    throw new Error(`discovery: ${dbErrorMessage(d, e)}`);
  }
}

interface FkRow {
  name: string;
  child_schema: string;
  child_table: string;
  child_columns: string[];
  parent_schema: string;
  parent_table: string;
  parent_columns: string[];
}

/**
 * Tables and declared relations from one database's catalog, in one round trip (both catalog queries have no
 * parameters, so they go as one simple-protocol batch: a remote server costs one network round trip, not two).
 */
async function readCatalog(
  c: pg.Client,
  d: Dsn,
  wantTables: boolean,
): Promise<{ tables: TableRef[]; relations: Relation[] }> {
  const queries = [...(wantTables ? [userTablesQuery()] : []), foreignKeysQuery()];
  let results: pg.QueryResult[];
  try {
    const r = (await c.query(queries.map((q) => q.text).join(';\n'))) as unknown as pg.QueryResult | pg.QueryResult[];
    results = Array.isArray(r) ? r : [r];
  } catch (e) {
    throw new Error(`discovery: ${dbErrorMessage(d, e)}`);
  }
  const tables = wantTables
    ? (results[0].rows as Array<{ schema: string; name: string }>).map((r) => ({ schema: r.schema, name: r.name }))
    : [];
  const relations = (results[results.length - 1].rows as FkRow[]).map<Relation>((r) => ({
    child: { schema: r.child_schema, name: r.child_table },
    childColumns: r.child_columns,
    parent: { schema: r.parent_schema, name: r.parent_table },
    parentColumns: r.parent_columns,
    origin: 'declared',
    constraintName: r.name,
  }));
  return { tables, relations };
}

/**
 * Which configured asset columns exist in the target, and the seeded sample of each: one round trip for every
 * column's existence, one for every sample (a UNION ALL of the per-column samples); only a column with fewer distinct
 * paths than asked, or a missing one (to say why), costs a query of its own.
 */
async function readAssets(
  c: pg.Client,
  d: Dsn,
  columns: AssetColumn[],
  seed: string,
  perColumn: number,
  configured: boolean,
): Promise<{ assetColumns: AssetColumnPlan[]; items: AssetSampleItem[] }> {
  const assetColumns: AssetColumnPlan[] = [];
  const items: AssetSampleItem[] = [];
  const seen = new Set<string>();
  const unique = columns.filter((col) => {
    const display = columnDisplay(col.table, col.column);
    if (seen.has(display)) return false;
    seen.add(display);
    return true;
  });
  if (!unique.length) return { assetColumns, items };
  const found = await run<{ i: number; column_exists: boolean }>(c, d, columnsExistQuery(unique));
  for (const [i, col] of unique.entries()) {
    const plan: AssetColumnPlan = {
      ...col,
      display: columnDisplay(col.table, col.column),
      exists: !!found.find((r) => r.i === i)?.column_exists,
      configured,
    };
    if (!plan.exists) {
      try {
        plan.reason = await whyMissing(c, col.table, col.column, 'target');
      } catch (e) {
        throw new Error(`discovery: ${dbErrorMessage(d, e)}`);
      }
    }
    assetColumns.push(plan);
  }
  const sampled = assetColumns.filter((p) => p.exists);
  if (perColumn <= 0 || !sampled.length) return { assetColumns, items };
  const rows = await run<{ i: number; value: string }>(c, d, sampleUnionQuery(sampled, seed, perColumn));
  for (const [i, col] of sampled.entries()) {
    let values = rows.filter((r) => r.i === i).map((r) => r.value);
    // Fewer distinct paths than asked: either the column has no more, or paths repeat across many rows and crowded
    // the bounded read; the distinct-value query settles it with the same ordering.
    if (values.length < perColumn)
      values = (await run<{ value: string }>(c, d, sampleDistinctQuery(col.table, col.column, seed, perColumn))).map(
        (r) => r.value,
      );
    for (const value of values) items.push({ column: col.display, kind: col.kind, value });
  }
  return { assetColumns, items };
}

function dedupeTables(tables: TableRef[]): TableRef[] {
  const seen = new Set<string>();
  return tables.filter((t) => {
    const k = JSON.stringify(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Discover what to check, read-only, as a CheckPlan:
 * - `tables`: VALIDATE_TABLES (deduplicated) when set, else every user table (lib/core/catalog.ts userTablesQuery:
 *   ordinary and partitioned tables, no partition, no system schema, no extension member) of the source when one is
 *   configured, else of the target (`tablesFrom` says which);
 * - `relations`: the foreign keys declared in that same catalog (composite keys in key order), then the
 *   ORPHAN_RELATIONS not already declared;
 * - `assetColumns`: ASSET_COLUMNS, each checked against the TARGET (`exists`, with the reason when not);
 * - `assetSample`: up to ASSETS_SAMPLE_N distinct non-NULL paths per existing column, drawn from the target in an
 *   order fixed by `opts.seed` (the same seed and data give the same sample; a rerun reuses the stored plan instead).
 * Opens one connection per side (CONNECT_TIMEOUT_MS) and closes it. Throws `discovery: <redacted reason>` when a side
 * cannot be read; global setup records it as the plan error (the `check discovery` test fails with it).
 */
export async function discoverPlan(config: Config, opts: { seed: string }): Promise<CheckPlan> {
  const connect = { connectTimeoutMs: config.connectTimeoutMs };
  const catalogDsn = config.src ?? config.dst;
  const catalogSide: 'source' | 'target' = config.src ? 'source' : 'target';
  const wantTables = !config.validateTables;
  const [catalog, assets] = await Promise.all([
    withConnection(catalogDsn, (c) => readCatalog(c, catalogDsn, wantTables), connect),
    withConnection(
      config.dst,
      (c) =>
        readAssets(
          c,
          config.dst,
          config.assetColumns,
          opts.seed,
          config.assetsSampleN,
          !!config.assetColumnsConfigured,
        ),
      connect,
    ),
  ]);
  const declared = new Set(catalog.relations.map(relationKey));
  const configured = config.orphanRelations.filter((r) => !declared.has(relationKey(r)));
  return {
    tablesFrom: config.validateTables ? 'VALIDATE_TABLES' : catalogSide,
    tables: config.validateTables ? dedupeTables(config.validateTables) : catalog.tables,
    relations: [...catalog.relations, ...configured],
    relationsFrom: catalogSide,
    assetColumns: assets.assetColumns,
    assetSample: { seed: opts.seed, perColumn: config.assetsSampleN, items: assets.items },
  };
}

/**
 * Of the plan's asset columns missing in the target, those the SOURCE has (display names): the ones a restore would
 * create. Read-only, one connection and one query (CONNECT_TIMEOUT_MS). Without a source database nothing can be known: undefined.
 * @throws `discovery: <redacted reason>` when the source cannot be read.
 */
export async function assetColumnsInSource(config: Config, plan: CheckPlan): Promise<Set<string> | undefined> {
  if (!config.src) return undefined;
  const src = config.src;
  const missing = plan.assetColumns.filter((c) => !c.exists);
  const found = new Set<string>();
  if (!missing.length) return found;
  await withConnection(
    src,
    async (c) => {
      const rows = await run<{ i: number; column_exists: boolean }>(c, src, columnsExistQuery(missing));
      for (const r of rows) if (r.column_exists) found.add(missing[r.i].display);
    },
    { connectTimeoutMs: config.connectTimeoutMs },
  );
  return found;
}
