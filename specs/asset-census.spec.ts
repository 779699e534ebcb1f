/**
 * Asset census (lib/checks/families/asset-census/census.ts): one test per asset column (every path resolves to an entry of the right kind
 * under DST_ASSETS_DIR, with the same path resolver as the sampled check), one for the tree (files no row references:
 * a warning, failing only with ASSETS_UNREFERENCED_FAIL=1), and one comparing size and sha256 of the sampled files
 * between a local SRC_ASSETS_DIR and the target.
 *
 * Dangling paths that the source tree lacks too are defects the source already has: reported as
 * "in source N, in target M, new K", a warning unless PREEXISTING_DEFECTS_FAIL=1; only new ones fail. A check that
 * could judge nothing (unreadable database, a configured column that does not exist, no file compared) is never a
 * pass.
 */
import { afterAll, test } from 'vitest';
import {
  compareSampledFiles,
  runCensus,
  type CensusColumn,
  type CensusResult,
  type DanglingPath,
} from '../lib/checks/families/asset-census/census.ts';
import { closePools, dbErrorMessage } from '../lib/core/db.ts';
import { compareTrees } from '../lib/checks/families/asset-census/tree-compare.ts';
import { catalogRows, deepContext, sides } from '../lib/checks/shared/deep-context.ts';
import { fail, failNotChecked, notChecked, warn } from '../lib/checks/shared/verdict.ts';
import { displayIdent, displayTable, quoteTable, type TableRef } from '../lib/core/ident.ts';
import { writeFullList } from '../lib/checks/shared/full-list.ts';

const dc = deepContext();
afterAll(() => closePools());

const TREE = 'asset census unreferenced files under DST_ASSETS_DIR';
const SAMPLE = 'asset census sampled files size and sha256 (source = target)';
const EVERY_FILE = (content: boolean) =>
  `asset census every file size, mtime${content ? ' and sha256' : ''} (source = target)`;
const display = (t: TableRef, column: string) =>
  `${t.schema === 'public' ? displayIdent(t.name) : displayTable(t)}.${displayIdent(column)}`;

if (dc.blocked) {
  const cols = dc.ctx.plan?.assetColumns ?? [];
  for (const n of [...cols.map((c) => `asset census ${c.display}`), TREE, SAMPLE, EVERY_FILE(false)])
    test(n, () => failNotChecked(dc.blocked!));
} else {
  const cfg = dc.cfg!;
  // Asset columns: the plan's (discovery checked them against the target), else the configured ones checked here.
  let columns: Array<CensusColumn & { exists: boolean; reason?: string; configured?: boolean }> = [];
  let error: string | undefined;
  const planned = dc.ctx.plan?.assetColumns ?? [];
  if (planned.length) {
    columns = planned.map((c) => ({
      display: c.display,
      table: c.table,
      column: c.column,
      kind: c.kind,
      exists: c.exists,
      reason: c.reason,
      configured: c.configured,
    }));
  } else {
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
        columns.push({
          display: display(c.table, c.column),
          table: c.table,
          column: c.column,
          kind: c.kind,
          exists: r.c,
          reason,
          configured: cfg.assetColumnsConfigured,
        });
      }
    } catch (e) {
      error = dbErrorMessage(cfg.dst, e);
    }
  }
  const present = columns.filter((c) => c.exists);
  let census: Promise<CensusResult> | undefined;
  // The census fetches up to FULL_LIST_MAX paths per list: messages show 5, the full lists hold them all.
  const getCensus = () => (census ??= runCensus(cfg, present, { examples: cfg.fullListMax }));

  const misconfigured = columns.filter((c) => !c.exists && c.configured);
  if (error) test('asset census (discovery)', () => fail(`could not check the asset columns on the target: ${error}`));
  for (const c of columns) {
    const name = `asset census ${c.display}`;
    if (!c.exists) {
      if (c.configured)
        test(name, () => fail(`${name}: ASSET_COLUMNS names this column, but ${c.reason}; fix ASSET_COLUMNS`));
      else test.skip(`${name} (${c.reason ?? 'not in the target'})`, () => {});
      continue;
    }
    test(name, async ({ expect, annotate }) => {
      const r = await getCensus();
      const x = r.columns.get(c.display)!;
      const newCount = x.dangling - x.preexisting;
      await annotate(
        `${x.total} non-null paths; ${x.censused} censused against the tree (${r.entries.files} files, ${r.entries.dirs} directories, walked in ${r.ms.walk} ms; the whole census took ${r.ms.total} ms: PostgreSQL's first batch after ${r.ms.compare} ms, readdir ${r.ms.tree} ms); ` +
          `${x.notCensused} not censused (outside ${cfg.assetsDbPathPrefix}/ or with a .. segment: the path-prefix check's job); ${x.dangling} dangling`,
        'evidence',
      );
      await annotate(
        x.sourceCompared
          ? `dangling paths: in source ${x.preexisting}, in target ${x.dangling}, new ${newCount}` +
              (x.unverified
                ? ` (${x.unverified} beyond the first ${x.dangling - x.unverified} not looked up one by one: counted as new)`
                : '')
          : `dangling paths: in target ${x.dangling}; the source tree was not compared (SRC_ASSETS_DIR ${cfg.srcAssetsDir ? 'is remote' : 'is not set'}): every one counts as new`,
        'evidence',
      );
      for (const w of r.walkProblems.examples)
        await warn(
          annotate,
          `${name}: could not read ${w.rel} under ${cfg.dstAssetsDir} (${w.code}): paths below it are looked up one by one`,
        );
      const show = (e: DanglingPath) =>
        `${e.path} (expected ${c.kind === 'file' ? 'a file' : 'a directory'}, found ${e.found}${e.twin ? `; ${e.twin}` : ''})`;
      // The full list (rclone style) of what fails: the new dangling paths, plus the pre-existing ones when
      // PREEXISTING_DEFECTS_FAIL=1 makes them fail too.
      const failing = [...x.examples, ...(cfg.preexistingDefectsFail ? x.preexistingExamples : [])];
      if (failing.length)
        await writeFullList(
          annotate,
          name,
          `dangling references (rclone style): missing-on-target <db path>, or wrong-kind <db path> (<found>)`,
          failing.map((e) =>
            e.found === 'nothing (missing)' ? `missing-on-target ${e.path}` : `wrong-kind ${e.path} (${e.found})`,
          ),
          { max: cfg.fullListMax, total: newCount + (cfg.preexistingDefectsFail ? x.preexisting : 0) },
        );
      if (x.preexisting) {
        const pre = `${x.preexisting} dangling path(s) already dangling in the source tree, e.g. ${x.preexistingExamples.slice(0, 5).map(show).join('; ')}`;
        if (cfg.preexistingDefectsFail) fail(`${name}: ${pre} (PREEXISTING_DEFECTS_FAIL=1)`);
        await warn(annotate, `${name}: ${pre}: not a migration failure (PREEXISTING_DEFECTS_FAIL=1 makes it fail)`);
      }
      expect(
        newCount,
        `${name}: ${newCount} of ${x.censused} paths do not resolve under ${cfg.dstAssetsDir}${x.preexisting ? ` (besides ${x.preexisting} already dangling in the source)` : ''}: ${x.examples.slice(0, 5).map(show).join('; ')}`,
      ).toBe(0);
    });
  }
  // Files no row references: judged only when every configured column could be read.
  const treeBlocked = error
    ? `the asset columns could not be read on the target (${error})`
    : misconfigured.length
      ? `ASSET_COLUMNS names ${misconfigured.map((c) => c.display).join(', ')}, which does not exist in the target: the references are incomplete`
      : undefined;
  if (treeBlocked) test(TREE, () => fail(notChecked(`${TREE}: ${treeBlocked}`)));
  else if (!present.length)
    test.skip(`${TREE} (no asset column exists in the target: unreferenced files not judged)`, () => {});
  else
    test(TREE, async ({ expect, annotate }) => {
      const r = await getCensus();
      const u = r.unreferenced;
      const what = `${u.count} of ${r.entries.files} files under ${cfg.dstAssetsDir} are referenced by no row of ${present.map((c) => c.display).join(', ')}${
        u.count
          ? `: ${u.examples
              .slice(0, 5)
              .map((e) => (/[\x00-\x1f]/.test(e) ? JSON.stringify(e) : e))
              .join(', ')}${u.count > 5 ? ', …' : ''}`
          : ''
      }`;
      if (u.count) {
        await writeFullList(
          annotate,
          TREE,
          'files under DST_ASSETS_DIR that no row references: unreferenced <path relative to DST_ASSETS_DIR>',
          u.examples.map((p) => `unreferenced ${p}`),
          { max: cfg.fullListMax, total: u.count },
        );
        await warn(annotate, what);
      } else await annotate(what, 'evidence');
      if (r.entries.notUtf8)
        await warn(
          annotate,
          `${r.entries.notUtf8} name(s) under ${cfg.dstAssetsDir} are not valid UTF-8: no stored path can name them`,
        );
      if (r.walkProblems.count)
        await warn(
          annotate,
          `${r.walkProblems.count} director(y/ies) could not be read, their files are not counted: ${r.walkProblems.examples.map((w) => `${w.rel} (${w.code})`).join(', ')}`,
        );
      if (cfg.assetsUnreferencedFail) expect(u.count, `${TREE}: ${what} (ASSETS_UNREFERENCED_FAIL=1)`).toBe(0);
    });
  const sampleItems = (dc.ctx.plan?.assetSample.items ?? []).filter((i) => i.kind === 'file').map((i) => i.value);
  const everyFile = EVERY_FILE(cfg.assetsVerify === 'sha256');
  if (!cfg.srcAssetsDir || cfg.srcAssetsRemote) {
    test.skip(`${everyFile} (${cfg.srcAssetsDir ? 'SRC_ASSETS_DIR is remote: only the mirror compared content (rsync --checksum, ASSETS_MIRROR_CHECKSUM)' : 'SRC_ASSETS_DIR is not set'})`, () => {});
  } else {
    // Every file, not a sample: a repeat rehearsal must see a file the mirror left stale (size + mtime always; the
    // bytes too with ASSETS_VERIFY=sha256, which reads both trees in full).
    test(everyFile, async ({ expect, annotate }) => {
      const r = await compareTrees(cfg.srcAssetsDir!, cfg.dstAssetsDir, { content: cfg.assetsVerify === 'sha256' });
      await annotate(
        `${r.files} source files compared (size, mtime${cfg.assetsVerify === 'sha256' ? `, sha256: ${r.bytesHashed} bytes read` : '; bytes only where the mtime differs: ASSETS_VERIFY=sha256 compares every file'}) in ${r.ms} ms; ${r.differing} differ; ${r.mtimeOnly} with another mtime but the same bytes; ${r.notFiles} non-files (symlinks, ...) not compared; ${r.unreadable.length} unreadable${
          r.unreadable.length
            ? `: ${r.unreadable
                .slice(0, 5)
                .map((x) => `${x.path} (${x.problem})`)
                .join('; ')}`
            : ''
        }`,
        'evidence',
      );
      expect(
        r.differing,
        `${everyFile}: ${r.differing} of ${r.files} files differ between ${cfg.srcAssetsDir} and ${cfg.dstAssetsDir}: ${r.examples.map((x) => `${x.path}: ${x.problem}`).join('; ')}${r.differing > r.examples.length ? '; …' : ''}`,
      ).toBe(0);
    });
  }
  if (!cfg.srcAssetsDir || cfg.srcAssetsRemote) {
    test.skip(`${SAMPLE} (${cfg.srcAssetsDir ? 'SRC_ASSETS_DIR is remote' : 'SRC_ASSETS_DIR is not set'}: no local source to compare with)`, () => {});
  } else if (!sampleItems.length && !misconfigured.length) {
    test.skip(`${SAMPLE} (no sampled file paths)`, () => {});
  } else {
    test(SAMPLE, async ({ expect, annotate }) => {
      if (!sampleItems.length) fail(notChecked(`${SAMPLE}: no sampled file: ${treeBlocked}`));
      const { compared, skipped } = await compareSampledFiles(
        cfg.srcAssetsDir!,
        cfg.dstAssetsDir,
        cfg.assetsDbPathPrefix,
        sampleItems,
      );
      const bad = compared.filter((x) => x.problem && !x.notCompared);
      const preexisting = compared.filter((x) => x.preexisting);
      const notCompared = compared.filter((x) => x.notCompared && !x.preexisting);
      const ok = compared.filter((x) => !x.problem);
      await annotate(
        `${ok.length + bad.length} sampled files compared (size + sha256), ${bad.length} differ; ${preexisting.length} missing on both sides; ${notCompared.length} not compared (source unreadable)${
          notCompared.length
            ? `: ${notCompared
                .slice(0, 5)
                .map((x) => `${x.path} (${x.problem})`)
                .join('; ')}`
            : ''
        }; ${skipped.length} skipped (refused by the path resolver: outside the prefix or ..)`,
        'evidence',
      );
      if (preexisting.length)
        await warn(
          annotate,
          `${SAMPLE}: ${preexisting.length} sampled path(s) missing in the source as in the target (a defect the source already has): ${preexisting
            .slice(0, 5)
            .map((x) => x.path)
            .join(', ')}`,
        );
      if (bad.length)
        await writeFullList(
          annotate,
          SAMPLE,
          'sampled files whose size or sha256 differ (rclone style): differ <db path> <problem>',
          bad.map((x) => `differ ${x.path} ${x.problem}`),
          { max: cfg.fullListMax },
        );
      expect(
        bad.length,
        `${SAMPLE}: ${bad
          .slice(0, 5)
          .map((x) => `${x.path}: ${x.problem}`)
          .join('; ')}`,
      ).toBe(0);
      // Nothing compared proves nothing.
      if (ok.length === 0)
        fail(
          notChecked(
            `${SAMPLE}: 0 of ${sampleItems.length} sampled files could be compared (${notCompared.length} unreadable in the source, ${preexisting.length} missing on both sides, ${skipped.length} refused)`,
          ),
        );
    });
  }
}
