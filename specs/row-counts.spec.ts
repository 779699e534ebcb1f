/**
 * Row counts: one test per table (`row count public.users`), source and target counted in parallel, each count(*)
 * bounded by ROWCOUNT_TIMEOUT_MS on the server and falling back to the planner's estimate.
 */
import { afterAll, test } from 'vitest';
import { checkConfig, rehearsalContext, whyNotChecked } from '../lib/checks/shared/context.ts';
import { failNotChecked } from '../lib/checks/shared/verdict.ts';
import { closePools, dbErrorMessage, getPool } from '../lib/core/db.ts';
import type { Dsn } from '../lib/core/dsn.ts';
import { displayTable, type TableRef } from '../lib/core/ident.ts';
import { countFromScan, judgeRowCount } from '../lib/checks/families/row-counts/row-counts.ts';
import { scanContext, tableScan } from '../lib/checks/shared/shared-scan.ts';
import { warn } from '../lib/checks/shared/verdict.ts';

const ctx = rehearsalContext();
const config = checkConfig();
afterAll(closePools);
const sc = ctx.plan ? scanContext(ctx, config) : undefined;

/**
 * The count of one side from the run's fused scan of the table (lib/checks/shared/shared-scan.ts): one pass shared with the
 * checksum and path-prefix checks; a count-only scan is bounded by ROWCOUNT_TIMEOUT_MS and falls back to the estimate.
 */
async function count(side: 'source' | 'target', dsn: Dsn, table: TableRef) {
  const pool = getPool(dsn, { max: config.checkConcurrency, connectTimeoutMs: config.connectTimeoutMs });
  try {
    return await countFromScan(pool, table, () => tableScan(sc!, side === 'source' ? 'src' : 'dst', table));
  } catch (e) {
    throw new Error(`row count ${displayTable(table)}: cannot count in the ${side}: ${dbErrorMessage(dsn, e)}`);
  }
}

if (!ctx.plan) {
  test('row counts (not checked)', () => failNotChecked(whyNotChecked(ctx)!));
} else if (ctx.plan.tables.length === 0) {
  test.skip(`row counts (no tables found in the ${ctx.plan.tablesFrom})`, () => {});
} else {
  for (const table of ctx.plan.tables) {
    test.concurrent(`row count ${displayTable(table)}`, async ({ annotate, expect }) => {
      const blocked = whyNotChecked(ctx);
      if (blocked) failNotChecked(blocked);
      const [src, dst] = await Promise.all([
        config.src ? count('source', config.src, table) : undefined,
        count('target', config.dst, table),
      ]);
      const verdict = judgeRowCount(table, src, dst, {
        maxDiff: config.rowcountMaxDiff,
        requireExact: config.rowcountRequireExact,
        tolerancePct: config.rowcountEstimateTolerance,
      });
      for (const line of verdict.evidence) await annotate(line, 'evidence');
      for (const w of verdict.warnings) await warn(annotate, w);
      if (!verdict.ok) expect.fail(verdict.message);
    });
  }
}
