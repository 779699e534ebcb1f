/**
 * Row counts: one test per table (`row count public.users`), source and target counted in parallel, each count(*)
 * bounded by ROWCOUNT_TIMEOUT_MS on the server and falling back to the planner's estimate (judge: ./row-counts.ts).
 */
import { dbErrorMessage, getPool } from '../../../core/db.ts';
import type { Dsn } from '../../../core/dsn.ts';
import { displayTable, type TableRef } from '../../../core/ident.ts';
import { failed, type Entry, type Family } from '../../family.ts';
import { configOf, whyNotChecked, type CheckContext } from '../../shared/context.ts';
import { detachedChildrenHint } from '../../shared/inheritance.ts';
import { scanContext, tableScan } from '../../shared/shared-scan.ts';
import { warn } from '../../shared/verdict.ts';
import { countFromScan, judgeRowCount } from './row-counts.ts';

/**
 * The count of one side from the run's fused scan of the table (lib/checks/shared/shared-scan.ts): one pass shared
 * with the checksum and path-prefix checks; a count-only scan is bounded by ROWCOUNT_TIMEOUT_MS and falls back to the
 * estimate.
 */
async function count(ctx: CheckContext, side: 'source' | 'target', dsn: Dsn, table: TableRef) {
  const config = configOf(ctx);
  const pool = getPool(dsn, { max: config.checkConcurrency, connectTimeoutMs: config.connectTimeoutMs });
  const sc = scanContext(ctx.run, config);
  try {
    return await countFromScan(pool, table, () => tableScan(sc, side === 'source' ? 'src' : 'dst', table));
  } catch (e) {
    throw new Error(`row count ${displayTable(table)}: cannot count in the ${side}: ${dbErrorMessage(dsn, e)}`);
  }
}

function subjects(ctx: CheckContext): Array<Entry<TableRef>> {
  const plan = ctx.run.plan;
  if (!plan)
    return [{ name: 'row counts (not checked)', verdict: { status: 'not-checked', reason: whyNotChecked(ctx.run)! } }];
  if (plan.tables.length === 0) return [{ skip: `row counts (no tables found in the ${plan.tablesFrom})` }];
  return plan.tables.map((subject) => ({ subject }));
}

export const rowCounts: Family<TableRef> = {
  id: 'row-counts',
  label: 'row counts',
  spec: 'specs/row-counts.spec.ts',
  prefixes: ['row count', 'row counts'],
  needsSource: true,
  reads: [
    'VALIDATE_TABLES',
    'ROWCOUNT_TIMEOUT_MS',
    'ROWCOUNT_MAX_DIFF',
    'ROWCOUNT_REQUIRE_EXACT',
    'ROWCOUNT_ESTIMATE_TOLERANCE',
  ],
  passesWhen:
    'exact counts differ by at most ROWCOUNT_MAX_DIFF; estimates by at most ROWCOUNT_ESTIMATE_TOLERANCE % (with a warning); an unknown estimate is not checked',
  planLines: ({ plan }) => ({
    head: `${plan.tables.length} tables, from ${plan.tablesFrom}`,
    checks: plan.tables.map((t) => rowCounts.name(t)),
  }),
  concurrent: true,
  subjects,
  name: (t) => `row count ${displayTable(t)}`,
  async check(table, ctx, notes) {
    const config = configOf(ctx);
    const [src, dst] = await Promise.all([
      config.src ? count(ctx, 'source', config.src, table) : undefined,
      count(ctx, 'target', config.dst, table),
    ]);
    const verdict = judgeRowCount(table, src, dst, {
      maxDiff: config.rowcountMaxDiff,
      requireExact: config.rowcountRequireExact,
      tolerancePct: config.rowcountEstimateTolerance,
    });
    for (const line of verdict.evidence) await notes(line, 'evidence');
    for (const w of verdict.warnings) await warn(notes, w);
    if (verdict.ok) return;
    // A parent short of rows whose child was detached on the target: say where the rows are.
    const short = src?.kind === 'exact' && dst.kind === 'exact' && dst.n < src.n;
    const hint = short ? await detachedChildrenHint(config, table) : undefined;
    const message = verdict.message ?? `row count ${displayTable(table)}: failed`;
    return failed(hint ? `${message}; ${hint}` : message);
  },
};
