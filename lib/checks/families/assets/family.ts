/**
 * Sampled assets: one test per sampled path (`asset knowledge_materials.storage_path /app/.data/knowledge/7/a.pdf`).
 * The sample was drawn by discovery (seeded, stored in WORK_DIR/state.json, so a rerun checks the same paths).
 * A file must exist, be a regular file, be readable (and match the source size when SRC_ASSETS_DIR is local);
 * a directory must exist and be listable. Nothing outside DST_ASSETS_DIR is ever read (judge: ./assets.ts).
 */
import type { CheckPlan } from '../../../core/state.ts';
import { shownPath } from '../../../core/display.ts';
import { failed, type Entry, type Family } from '../../family.ts';
import { configOf, whyNotChecked, type CheckContext } from '../../shared/context.ts';
import { emptyColumnReason } from '../../shared/empty-column.ts';
import { assetColumnNote } from '../../shared/plan-notes.ts';
import { warn } from '../../shared/verdict.ts';
import { checkAsset } from './assets.ts';
import { resolveAppUser } from './permissions.ts';

type Item = CheckPlan['assetSample']['items'][number];
/** One sampled path, with its place in its column's sample. */
interface Sampled {
  item: Item;
  column: string;
  index: number;
  of: number;
  seed: CheckPlan['assetSample']['seed'];
}

/** Whose read permission counts: the staging application's user (ASSETS_APP_USER), never the tool's own (root). */
function options(ctx: CheckContext) {
  const config = configOf(ctx);
  const appUser = config.assetsAppUser ? resolveAppUser(config.assetsAppUser) : undefined;
  return {
    appUser,
    opts: {
      prefix: config.assetsDbPathPrefix,
      dstRoot: config.dstAssetsDir,
      srcRoot: config.srcAssetsDir && !config.srcAssetsRemote ? config.srcAssetsDir : undefined,
      appUser: appUser && !('error' in appUser) ? appUser : undefined,
    },
  };
}

async function subjects(ctx: CheckContext): Promise<Array<Entry<Sampled>>> {
  const plan = ctx.run.plan;
  if (!plan)
    return [{ name: 'assets (not checked)', verdict: { status: 'not-checked', reason: whyNotChecked(ctx.run)! } }];
  if (plan.assetColumns.length === 0) return [{ skip: 'assets (no ASSET_COLUMNS configured)' }];
  const { seed, perColumn, items } = plan.assetSample;
  const out: Array<Entry<Sampled>> = [];
  for (const col of plan.assetColumns) {
    const sample = items.filter((i) => i.column === col.display);
    if (!col.exists) {
      // A column listed in ASSET_COLUMNS that does not exist is a configuration error: never a silent skip.
      if (col.configured)
        out.push({
          name: `asset ${col.display}`,
          verdict: failed(
            `asset ${col.display}: ASSET_COLUMNS names this column, but ${col.reason}; fix ASSET_COLUMNS`,
          ),
        });
      else out.push({ skip: `asset ${col.display} (not checked: ${col.reason})` });
      continue;
    }
    if (sample.length === 0) {
      // No non-NULL path while the asset tree holds files: nothing sampled is no evidence (rw31), never a skip.
      const empty =
        perColumn > 0 && col.configured ? await emptyColumnReason(configOf(ctx), `asset ${col.display}`, 0) : undefined;
      if (empty) {
        out.push({ name: `asset ${col.display}`, verdict: { status: 'not-checked', reason: empty } });
        continue;
      }
      out.push({
        skip: `asset ${col.display}`,
        reason: perColumn > 0 ? 'no non-NULL paths to sample' : 'ASSETS_SAMPLE_N=0',
      });
      continue;
    }
    sample.forEach((item, index) =>
      out.push({ subject: { item, column: col.display, index, of: sample.length, seed } }),
    );
  }
  return out;
}

export const assets: Family<Sampled> = {
  id: 'assets',
  label: 'sampled assets',
  spec: 'specs/assets.spec.ts',
  prefixes: ['asset', 'assets'],
  needsSource: false,
  reads: [
    'ASSET_COLUMNS',
    'ASSETS_SAMPLE_N',
    'ASSETS_SAMPLE_SEED',
    'ASSETS_DB_PATH_PREFIX',
    'DST_ASSETS_DIR',
    'PREEXISTING_DEFECTS_FAIL',
  ],
  passesWhen:
    'the sampled path exists in DST_ASSETS_DIR, is of the right kind, readable, same size as the source (near twins named; missing in the source too: a warning)',
  planLines: ({ config, plan, ...when }) => ({
    head: `${config.assetsSampleN} sampled paths per column; the sample is drawn from the target after the restore`,
    checks: plan.assetColumns.map((c) => `asset ${c.display} <sampled path>${assetColumnNote(c, when)}`),
  }),
  concurrent: true,
  subjects,
  name: (s) => `asset ${s.item.column} ${shownPath(s.item.value)}`,
  async check(s, ctx, notes) {
    const config = configOf(ctx);
    const { appUser, opts } = options(ctx);
    if (appUser && 'error' in appUser) return failed(appUser.error);
    const { item } = s;
    const t0 = performance.now();
    const r = await checkAsset(item.value, item.kind, opts);
    await notes(
      `sample ${s.index + 1}/${s.of} of ${s.column} (seed ${s.seed}); expected a ${item.kind === 'file' ? 'readable regular file' : 'listable directory'}`,
      'evidence',
    );
    for (const fact of r.facts) await notes(fact, 'evidence');
    for (const w of r.warnings ?? []) await warn(notes, w);
    await notes(`${r.ok ? 'ok' : 'failed'} in ${Math.round(performance.now() - t0)} ms`, 'evidence');
    if (!r.ok && r.preexisting && !config.preexistingDefectsFail) {
      // Missing in the source tree too: a defect the source already has, not one the migration made.
      await warn(
        notes,
        `asset ${item.column} ${shownPath(item.value)}: already missing in the source (SRC_ASSETS_DIR), so not a migration failure: ${r.problem} (PREEXISTING_DEFECTS_FAIL=1 makes it fail)`,
      );
      return;
    }
    if (!r.ok)
      return failed(
        `asset ${item.column} ${shownPath(item.value)}: ${r.problem}${r.preexisting ? ' (already missing in the source; failing because PREEXISTING_DEFECTS_FAIL=1)' : ''}`,
      );
  },
};
