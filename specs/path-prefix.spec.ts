/**
 * Path prefix: one test per asset column (`path prefix gallery_items.storage_dir`): a full scan in PostgreSQL for
 * stored paths that do not start with ASSETS_DB_PATH_PREFIX + '/' or contain a `..` segment.
 */
import { afterAll, test } from 'vitest';
import { checkConfig, notCheckedReason, rehearsalContext } from '../lib/checks/context.ts';
import { closePools, dbErrorMessage, getPool } from '../lib/core/db.ts';
import { prefixQuery, prefixWithSlash } from '../lib/checks/sql/index.ts';

const ctx = rehearsalContext();
const config = checkConfig();
afterAll(closePools);

if (!ctx.plan) {
  test('path prefix (not checked)', ({ expect }) => {
    expect.fail(notCheckedReason(ctx));
  });
} else if (ctx.plan.assetColumns.length === 0) {
  test.skip('path prefix (no ASSET_COLUMNS configured)', () => {});
} else {
  const head = prefixWithSlash(config.assetsDbPathPrefix);
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
      const blocked = notCheckedReason(ctx);
      if (blocked) return expect.fail(blocked);
      const pool = getPool(config.dst, { max: config.checkConcurrency, connectTimeoutMs: config.connectTimeoutMs });
      const q = prefixQuery(col.table, col.column, config.assetsDbPathPrefix);
      const t0 = performance.now();
      let row: { total: string; bad: string; examples: string[] | null };
      try {
        row = (await pool.query<{ total: string; bad: string; examples: string[] | null }>(q.text, q.values)).rows[0];
      } catch (e) {
        return expect.fail(`path prefix ${col.display}: cannot scan in the target: ${dbErrorMessage(config.dst, e)}`);
      }
      const bad = Number(row.bad);
      const examples = (row.examples ?? []).map((v) => JSON.stringify(v));
      await annotate(
        `${row.total} non-NULL path(s) scanned, ${bad} outside "${head}" or with a ".." segment (${Math.round(performance.now() - t0)} ms)`,
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
