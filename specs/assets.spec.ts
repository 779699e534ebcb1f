/**
 * Sampled assets: one test per sampled path (`asset knowledge_materials.storage_path /app/.data/knowledge/7/a.pdf`).
 * The sample was drawn by discovery (seeded, stored in WORK_DIR/state.json, so a rerun checks the same paths).
 * A file must exist, be a regular file, be readable (and match the source size when SRC_ASSETS_DIR is local);
 * a directory must exist and be listable. Nothing outside DST_ASSETS_DIR is ever read.
 */
import { test } from 'vitest';
import { checkAsset } from '../lib/checks/families/assets/assets.ts';
import { checkConfig, rehearsalContext, whyNotChecked } from '../lib/checks/shared/context.ts';
import { resolveAppUser } from '../lib/checks/families/assets/permissions.ts';
import { failNotChecked, warn } from '../lib/checks/shared/verdict.ts';

const ctx = rehearsalContext();
const config = checkConfig();
// Whose read permission counts: the staging application's user (ASSETS_APP_USER), never the tool's own (root).
const appUser = config.assetsAppUser ? resolveAppUser(config.assetsAppUser) : undefined;
const opts = {
  prefix: config.assetsDbPathPrefix,
  dstRoot: config.dstAssetsDir,
  srcRoot: config.srcAssetsDir && !config.srcAssetsRemote ? config.srcAssetsDir : undefined,
  appUser: appUser && !('error' in appUser) ? appUser : undefined,
};

if (!ctx.plan) {
  test('assets (not checked)', () => failNotChecked(whyNotChecked(ctx)!));
} else if (ctx.plan.assetColumns.length === 0) {
  test.skip('assets (no ASSET_COLUMNS configured)', () => {});
} else {
  const { seed, perColumn, items } = ctx.plan.assetSample;
  for (const col of ctx.plan.assetColumns) {
    const sample = items.filter((i) => i.column === col.display);
    if (!col.exists) {
      // A column listed in ASSET_COLUMNS that does not exist is a configuration error: never a silent skip.
      if (col.configured)
        test(`asset ${col.display}`, ({ expect }) => {
          expect.fail(`asset ${col.display}: ASSET_COLUMNS names this column, but ${col.reason}; fix ASSET_COLUMNS`);
        });
      else test.skip(`asset ${col.display} (not checked: ${col.reason})`, () => {});
      continue;
    }
    if (sample.length === 0) {
      test.skip(`asset ${col.display} (${perColumn > 0 ? 'no non-NULL paths to sample' : 'ASSETS_SAMPLE_N=0'})`, () => {});
      continue;
    }
    for (const item of sample) {
      test.concurrent(`asset ${item.column} ${item.value}`, async ({ annotate, expect }) => {
        const blocked = whyNotChecked(ctx);
        if (blocked) failNotChecked(blocked);
        if (appUser && 'error' in appUser) return expect.fail(appUser.error);
        const t0 = performance.now();
        const r = await checkAsset(item.value, item.kind, opts);
        await annotate(
          `sample ${sample.indexOf(item) + 1}/${sample.length} of ${col.display} (seed ${seed}); expected a ${item.kind === 'file' ? 'readable regular file' : 'listable directory'}`,
          'evidence',
        );
        for (const fact of r.facts) await annotate(fact, 'evidence');
        for (const w of r.warnings ?? []) await warn(annotate, w);
        await annotate(`${r.ok ? 'ok' : 'failed'} in ${Math.round(performance.now() - t0)} ms`, 'evidence');
        if (!r.ok && r.preexisting && !config.preexistingDefectsFail) {
          // Missing in the source tree too: a defect the source already has, not one the migration made.
          await warn(
            annotate,
            `asset ${item.column} ${item.value}: already missing in the source (SRC_ASSETS_DIR), so not a migration failure: ${r.problem} (PREEXISTING_DEFECTS_FAIL=1 makes it fail)`,
          );
          return;
        }
        if (!r.ok)
          expect.fail(
            `asset ${item.column} ${item.value}: ${r.problem}${r.preexisting ? ' (already missing in the source; failing because PREEXISTING_DEFECTS_FAIL=1)' : ''}`,
          );
      });
    }
  }
}
