/**
 * Asset census (./census.ts): one test per asset column (every path resolves to an entry of the right kind under
 * DST_ASSETS_DIR, with the same path resolver as the sampled check), one for the tree (files no row references: a
 * warning, failing only with ASSETS_UNREFERENCED_FAIL=1), one comparing every file of a local SRC_ASSETS_DIR with the
 * target (size, mtime; sha256 with ASSETS_VERIFY=sha256), and one comparing size and sha256 of the sampled files.
 *
 * Dangling paths that the source tree lacks too are defects the source already has: reported as "in source N, in
 * target M, new K", a warning unless PREEXISTING_DEFECTS_FAIL=1; only new ones fail. A check that could judge nothing
 * (unreadable database, a configured column that does not exist, no file compared) is never a pass.
 */
import { dbErrorMessage } from '../../../core/db.ts';
import { displayIdent, displayTable, quoteTable } from '../../../core/ident.ts';
import { failed, unchecked, type Entry, type Family } from '../../family.ts';
import { configOf, type CheckContext } from '../../shared/context.ts';
import { catalogRows, sides } from '../../shared/deep-context.ts';
import { assetColumnNote } from '../../shared/plan-notes.ts';
import { checkColumn, checkEveryFile, checkSample, checkTree, type CensusRun, type Column } from './checks.ts';
import { runCensus } from './census.ts';

export const TREE = 'asset census unreferenced files under DST_ASSETS_DIR';
export const SAMPLE = 'asset census sampled files size and sha256 (source = target)';
export const EVERY_FILE = (content: boolean) =>
  `asset census every file size, mtime${content ? ' and sha256' : ''} (source = target)`;

type Subject =
  { column: Column; run: CensusRun } | { tree: CensusRun } | { everyFile: boolean } | { sample: CensusRun };

/** The asset columns: the plan's (discovery checked them against the target), else the configured ones checked here. */
async function columnsOf(ctx: CheckContext): Promise<{ columns: Column[]; error?: string }> {
  const cfg = configOf(ctx);
  const planned = ctx.run.plan?.assetColumns ?? [];
  if (planned.length)
    return {
      columns: planned.map((c) => ({
        display: c.display,
        table: c.table,
        column: c.column,
        kind: c.kind,
        exists: c.exists,
        reason: c.reason,
        configured: c.configured,
      })),
    };
  const columns: Column[] = [];
  try {
    const s = sides(cfg);
    for (const c of cfg.assetColumns) {
      const [r] = await catalogRows<{ t: boolean; c: boolean }>(
        s.dst,
        `SELECT to_regclass($1) IS NOT NULL AS t, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped) AS c`,
        [quoteTable(c.table), c.column],
      );
      const reason = !r.t
        ? `table ${displayTable(c.table)} does not exist in the target`
        : !r.c
          ? `column ${displayIdent(c.column)} does not exist in the target`
          : undefined;
      const display = `${c.table.schema === 'public' ? displayIdent(c.table.name) : displayTable(c.table)}.${displayIdent(c.column)}`;
      columns.push({
        display,
        table: c.table,
        column: c.column,
        kind: c.kind,
        exists: r.c,
        reason,
        configured: cfg.assetColumnsConfigured,
      });
    }
    return { columns };
  } catch (e) {
    return { columns, error: dbErrorMessage(cfg.dst, e) };
  }
}

function blockedEntries(ctx: CheckContext, reason: string): Array<Entry<Subject>> {
  const names = [
    ...(ctx.run.plan?.assetColumns ?? []).map((c) => `asset census ${c.display}`),
    TREE,
    SAMPLE,
    EVERY_FILE(false),
  ];
  return names.map((name) => ({ name, verdict: unchecked(reason) }));
}

/** The tree's and the source's entries, once the columns are known. */
function treeAndSourceEntries(ctx: CheckContext, run: CensusRun): Array<Entry<Subject>> {
  const cfg = configOf(ctx);
  const out: Array<Entry<Subject>> = [];
  if (run.treeBlocked) out.push({ name: TREE, verdict: unchecked(`${TREE}: ${run.treeBlocked}`) });
  else if (!run.present.length)
    out.push({ skip: `${TREE} (no asset column exists in the target: unreferenced files not judged)` });
  else out.push({ subject: { tree: run } });
  const everyFile = EVERY_FILE(cfg.assetsVerify === 'sha256');
  const local = cfg.srcAssetsDir && !cfg.srcAssetsRemote;
  if (!local)
    out.push({
      skip: `${everyFile} (${cfg.srcAssetsDir ? 'SRC_ASSETS_DIR is remote: only the mirror compared content (rsync --checksum, ASSETS_MIRROR_CHECKSUM)' : 'SRC_ASSETS_DIR is not set'})`,
    });
  else out.push({ subject: { everyFile: cfg.assetsVerify === 'sha256' } });
  if (!local)
    out.push({
      skip: `${SAMPLE} (${cfg.srcAssetsDir ? 'SRC_ASSETS_DIR is remote' : 'SRC_ASSETS_DIR is not set'}: no local source to compare with)`,
    });
  else if (!run.sampleItems.length && !run.misconfigured.length)
    out.push({ skip: `${SAMPLE} (no sampled file paths)` });
  else out.push({ subject: { sample: run } });
  return out;
}

async function subjects(ctx: CheckContext): Promise<Array<Entry<Subject>>> {
  if (ctx.blocked) return blockedEntries(ctx, ctx.blocked);
  const cfg = configOf(ctx);
  const { columns, error } = await columnsOf(ctx);
  const present = columns.filter((c) => c.exists);
  const misconfigured = columns.filter((c) => !c.exists && c.configured);
  let census: ReturnType<typeof runCensus> | undefined;
  const run: CensusRun = {
    present,
    misconfigured,
    // The census fetches up to FULL_LIST_MAX paths per list: messages show 5, the full lists hold them all.
    census: () => (census ??= runCensus(cfg, present, { examples: cfg.fullListMax })),
    // Files no row references: judged only when every configured column could be read.
    treeBlocked: error
      ? `the asset columns could not be read on the target (${error})`
      : misconfigured.length
        ? `ASSET_COLUMNS names ${misconfigured.map((c) => c.display).join(', ')}, which does not exist in the target: the references are incomplete`
        : undefined,
    sampleItems: (ctx.run.plan?.assetSample.items ?? []).filter((i) => i.kind === 'file').map((i) => i.value),
  };
  const out: Array<Entry<Subject>> = [];
  if (error)
    out.push({
      name: 'asset census (discovery)',
      verdict: failed(`could not check the asset columns on the target: ${error}`),
    });
  for (const c of columns) {
    const name = `asset census ${c.display}`;
    if (c.exists) out.push({ subject: { column: c, run } });
    else if (c.configured)
      out.push({
        name,
        verdict: failed(`${name}: ASSET_COLUMNS names this column, but ${c.reason}; fix ASSET_COLUMNS`),
      });
    else out.push({ skip: `${name} (${c.reason ?? 'not in the target'})` });
  }
  return [...out, ...treeAndSourceEntries(ctx, run)];
}

/** When this run's mirror started (ms since the epoch), when it ran: a source file modified since changed during it. */
export function mirrorStart(ctx: CheckContext): number | undefined {
  const m = ctx.run.phases.find((p) => p.name === 'mirror' && p.status === 'ok' && p.startedAt);
  const t = m?.startedAt ? Date.parse(m.startedAt) : NaN;
  return Number.isFinite(t) ? t : undefined;
}

export const assetCensus: Family<Subject> = {
  id: 'asset-census',
  label: 'asset census',
  spec: 'specs/asset-census.spec.ts',
  prefixes: ['asset census'],
  needsSource: false,
  reads: [
    'ASSET_COLUMNS',
    'ASSETS_DB_PATH_PREFIX',
    'DST_ASSETS_DIR',
    'SRC_ASSETS_DIR',
    'ASSETS_UNREFERENCED_FAIL',
    'PREEXISTING_DEFECTS_FAIL',
    'ASSETS_VERIFY',
    'FULL_LIST_MAX',
  ],
  passesWhen:
    'every stored path (not just the sample) resolves with the same resolver as the sampled check; dangling in the source too: a warning; unreferenced files warned about',
  planLines: ({ config, plan, ...when }) => ({
    head: 'every stored path of each asset column against the whole tree, not just the sample',
    checks: [
      ...plan.assetColumns.map((c) => `asset census ${c.display}${assetColumnNote(c, when)}`),
      TREE,
      !config.srcAssetsDir || config.srcAssetsRemote
        ? `${SAMPLE} (skipped: ${config.srcAssetsDir ? 'SRC_ASSETS_DIR is remote' : 'SRC_ASSETS_DIR is not set'})`
        : SAMPLE,
    ],
  }),
  concurrent: false,
  subjects,
  name: (s) =>
    'column' in s
      ? `asset census ${s.column.display}`
      : 'tree' in s
        ? TREE
        : 'sample' in s
          ? SAMPLE
          : EVERY_FILE(s.everyFile),
  check(s, ctx, notes) {
    const name = assetCensus.name(s);
    if ('column' in s) return checkColumn(name, s.column, s.run, configOf(ctx), notes);
    if ('tree' in s) return checkTree(s.tree, configOf(ctx), notes);
    if ('sample' in s) return checkSample(s.sample, configOf(ctx), notes, mirrorStart(ctx));
    return checkEveryFile(name, configOf(ctx), notes, mirrorStart(ctx));
  },
};
