/**
 * Path prefix: one test per asset column (`path prefix gallery_items.storage_dir`): a full scan in PostgreSQL for
 * stored paths that do not start with ASSETS_DB_PATH_PREFIX + '/' or contain a `..` segment (the counts ride on the
 * table's one fused scan, shared with its row count and checksum).
 */
import { dbErrorMessage, getPool } from '../../../core/db.ts';
import type { CheckPlan } from '../../../core/state.ts';
import { failed, type Entry, type Family } from '../../family.ts';
import { emptyColumnReason } from '../../shared/empty-column.ts';
import { configOf, whyNotChecked, type CheckContext } from '../../shared/context.ts';
import { assetColumnNote } from '../../shared/plan-notes.ts';
import { scanContext, tableScan } from '../../shared/shared-scan.ts';
import { prefixQuery, prefixWithSlash } from '../../shared/sql.ts';

type Column = CheckPlan['assetColumns'][number];

function subjects(ctx: CheckContext): Array<Entry<Column>> {
  const plan = ctx.run.plan;
  if (!plan)
    return [{ name: 'path prefix (not checked)', verdict: { status: 'not-checked', reason: whyNotChecked(ctx.run)! } }];
  if (plan.assetColumns.length === 0) return [{ skip: 'path prefix', reason: 'no ASSET_COLUMNS configured' }];
  return plan.assetColumns.map((col): Entry<Column> => {
    if (col.exists) return { subject: col };
    if (col.configured)
      return {
        name: `path prefix ${col.display}`,
        verdict: failed(
          `path prefix ${col.display}: ASSET_COLUMNS names this column, but ${col.reason}; fix ASSET_COLUMNS`,
        ),
      };
    return { skip: `path prefix ${col.display}`, reason: `not checked: ${col.reason}` };
  });
}

/** The column's counts from the fused scan, and up to 5 examples when some path is wrong (a second, short pass). */
async function scanColumn(ctx: CheckContext, col: Column) {
  const config = configOf(ctx);
  const scan = await tableScan(scanContext(ctx.run, config), 'dst', col.table);
  const counts = scan.prefix[col.column];
  if (!counts) throw new Error(`the scan of ${col.display} has no path-prefix counts`);
  let examples: string[] | null = null;
  if (Number(counts.bad) > 0) {
    const q = prefixQuery(col.table, col.column, config.assetsDbPathPrefix);
    const pool = getPool(config.dst, { max: config.checkConcurrency, connectTimeoutMs: config.connectTimeoutMs });
    examples = (await pool.query<{ examples: string[] | null }>(q.text, q.values)).rows[0].examples;
  }
  return { ...counts, examples, ms: scan.ms };
}

export const pathPrefix: Family<Column> = {
  id: 'path-prefix',
  label: 'path prefixes',
  spec: 'specs/path-prefix.spec.ts',
  prefixes: ['path prefix'],
  needsSource: false,
  reads: ['ASSET_COLUMNS', 'ASSETS_DB_PATH_PREFIX'],
  passesWhen: 'every stored path starts with ASSETS_DB_PATH_PREFIX/ and has no ..',
  planLines: ({ config, plan, ...when }) => ({
    head: `every asset path starts with ${config.assetsDbPathPrefix}/ and has no ..`,
    checks: plan.assetColumns.map((c) => `${pathPrefix.name(c)}${assetColumnNote(c, when)}`),
  }),
  concurrent: true,
  subjects,
  name: (col) => `path prefix ${col.display}`,
  async check(col, ctx, notes) {
    const config = configOf(ctx);
    const head = prefixWithSlash(config.assetsDbPathPrefix);
    let row: Awaited<ReturnType<typeof scanColumn>>;
    try {
      row = await scanColumn(ctx, col);
    } catch (e) {
      return failed(`path prefix ${col.display}: cannot scan in the target: ${dbErrorMessage(config.dst, e)}`);
    }
    const bad = Number(row.bad);
    const examples = (row.examples ?? []).map((v) => JSON.stringify(v));
    await notes(
      `${row.total} non-NULL path(s) scanned, ${bad} outside "${head}" or with a ".." segment (${row.ms} ms, one scan shared with the row count and checksum)`,
      'evidence',
    );
    if (examples.length) await notes(`examples: ${examples.join(', ')}`, 'evidence');
    const empty = col.configured
      ? await emptyColumnReason(config, `path prefix ${col.display}`, Number(row.total))
      : undefined;
    if (empty) return { status: 'not-checked', reason: empty };
    if (bad > 0)
      return failed(
        `path prefix ${col.display}: expected every path to start with "${head}" and contain no ".." segment; ` +
          `${bad} of ${row.total} do not, e.g. ${examples.join(', ')}`,
      );
  },
};
