/**
 * Path prefix: one test per asset column (`path prefix gallery_items.storage_dir`): a full scan in PostgreSQL for
 * stored paths that do not start with ASSETS_DB_PATH_PREFIX + '/' or contain a `..` segment.
 */
import { afterAll, test } from 'vitest';
import { checkConfig, rehearsalContext, whyNotChecked } from '../lib/checks/shared/context.ts';
import { failNotChecked } from '../lib/checks/shared/verdict.ts';
import { closePools, dbErrorMessage, getPool } from '../lib/core/db.ts';
import { prefixQuery, prefixWithSlash } from '../lib/checks/shared/sql.ts';
import { scanContext, tableScan } from '../lib/checks/shared/shared-scan.ts';

const ctx = rehearsalContext();
const config = checkConfig();
afterAll(closePools);

if (!ctx.plan) {
  test('path prefix (not checked)', () => failNotChecked(whyNotChecked(ctx)!));
} else if (ctx.plan.assetColumns.length === 0) {
  test.skip('path prefix (no ASSET_COLUMNS configured)', () => {});
} else {
  const head = prefixWithSlash(config.assetsDbPathPrefix);
  const sc = scanContext(ctx, config);
  for (const col of ctx.plan.assetColumns) {
    if (!col.exists) {
      if (col.configured)
        test(`path prefix ${col.display}`, ({ expect }) => {
          expect.fail(
            `path prefix ${col.display}: ASSET_COLUMNS names this column, but ${col.reason}; fix ASSET_COLUMNS`,
          );
        });
      else test.skip(`path prefix ${col.display} (not checked: ${col.reason})`, () => {});
      continue;
    }
    test.concurrent(`path prefix ${col.display}`, async ({ annotate, expect }) => {
      const blocked = whyNotChecked(ctx);
      if (blocked) failNotChecked(blocked);
      const pool = getPool(config.dst, { max: config.checkConcurrency, connectTimeoutMs: config.connectTimeoutMs });
      let row: { total: string; bad: string; examples: string[] | null; ms: number };
      try {
        // The counts ride on the table's one fused scan (shared with its row count and checksum).
        const scan = await tableScan(sc, 'dst', col.table);
        const counts = scan.prefix[col.column];
        if (!counts) throw new Error(`the scan of ${col.display} has no path-prefix counts`);
        let examples: string[] | null = null;
        if (Number(counts.bad) > 0) {
          // Only when some path is wrong: a second, short pass for up to 5 examples.
          const q = prefixQuery(col.table, col.column, config.assetsDbPathPrefix);
          examples = (await pool.query<{ examples: string[] | null }>(q.text, q.values)).rows[0].examples;
        }
        row = { ...counts, examples, ms: scan.ms };
      } catch (e) {
        return expect.fail(`path prefix ${col.display}: cannot scan in the target: ${dbErrorMessage(config.dst, e)}`);
      }
      const bad = Number(row.bad);
      const examples = (row.examples ?? []).map((v) => JSON.stringify(v));
      await annotate(
        `${row.total} non-NULL path(s) scanned, ${bad} outside "${head}" or with a ".." segment (${row.ms} ms, one scan shared with the row count and checksum)`,
        'evidence',
      );
      if (examples.length) await annotate(`examples: ${examples.join(', ')}`, 'evidence');
      if (bad > 0) {
        expect.fail(
          `path prefix ${col.display}: expected every path to start with "${head}" and contain no ".." segment; ` +
            `${bad} of ${row.total} do not, e.g. ${examples.join(', ')}`,
        );
      }
    });
  }
}
