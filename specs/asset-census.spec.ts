/**
 * Asset census (lib/census.ts): one test per asset column (every path resolves to an entry of the right kind under
 * DST_ASSETS_DIR), one for the tree (files no row references: a warning, failing only with ASSETS_UNREFERENCED_FAIL=1),
 * and one comparing size and sha256 of the sampled files between a local SRC_ASSETS_DIR and the target.
 */
import { afterAll, test } from 'vitest';
import { compareSampledFiles, runCensus, type CensusColumn, type CensusResult } from '../lib/checks/census.ts';
import { closePools, dbErrorMessage } from '../lib/core/db.ts';
import { compareTrees } from '../lib/checks/tree-compare.ts';
import { catalogRows, deepContext, sides } from '../lib/checks/deep-context.ts';
import { fail, failNotChecked } from '../lib/checks/verdict.ts';
import { displayIdent, displayTable, quoteTable, type TableRef } from '../lib/core/ident.ts';
import { writeFullList } from '../lib/checks/full-list.ts';

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
  let columns: Array<CensusColumn & { exists: boolean; reason?: string }> = [];
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

  if (error) test('asset census (discovery)', () => fail(`could not check the asset columns on the target: ${error}`));
  for (const c of columns) {
    const name = `asset census ${c.display}`;
    if (!c.exists) {
      test.skip(`${name} (${c.reason ?? 'not in the target'})`, () => {});
      continue;
    }
    test(name, async ({ expect, annotate }) => {
      const r = await getCensus();
      const x = r.columns.get(c.display)!;
      await annotate(
        `${x.total} non-null paths; ${x.censused} censused against the tree (${r.entries.files} files, ${r.entries.dirs} directories, walked in ${r.ms.walk} ms); ` +
          `${x.notCensused} not censused (outside ${cfg.assetsDbPathPrefix}/ or with . / .. segments: the path-prefix check's job); ${x.dangling} dangling`,
        'evidence',
      );
      const ex = x.examples
        .slice(0, 5)
        .map((e) => `${e.path} (expected ${c.kind === 'file' ? 'a file' : 'a directory'}, found ${e.found})`)
        .join('; ');
      if (x.dangling > 0)
        await writeFullList(
          annotate,
          name,
          `dangling references (rclone style): missing-on-target <db path>, or wrong-kind <db path> (<found>)`,
          x.examples.map((e) =>
            e.found === 'nothing (missing)' ? `missing-on-target ${e.path}` : `wrong-kind ${e.path} (${e.found})`,
          ),
          { max: cfg.fullListMax, total: x.dangling },
        );
      expect(
        x.dangling,
        `${name}: ${x.dangling} of ${x.censused} paths do not resolve under ${cfg.dstAssetsDir}: ${ex}`,
      ).toBe(0);
    });
  }
  test(TREE, async ({ expect, annotate }) => {
    if (!present.length)
      return void (await annotate(
        'no asset column exists in the target: every file would count as unreferenced; not judged',
        'evidence',
      ));
    const r = await getCensus();
    const u = r.unreferenced;
    const shown = u.examples.slice(0, 5);
    const what = `${u.count} of ${r.entries.files} files under ${cfg.dstAssetsDir} are referenced by no row of ${present.map((c) => c.display).join(', ')}${u.count ? `: ${shown.join(', ')}${u.count > shown.length ? ', …' : ''}` : ''}`;
    if (u.count)
      await writeFullList(
        annotate,
        TREE,
        'files under DST_ASSETS_DIR that no row references: unreferenced <path relative to DST_ASSETS_DIR>',
        u.examples.map((p) => `unreferenced ${p}`),
        { max: cfg.fullListMax, total: u.count },
      );
    await annotate(what, u.count ? 'warning' : 'evidence');
    if (cfg.assetsUnreferencedFail) expect(u.count, `${TREE}: ${what} (ASSETS_UNREFERENCED_FAIL=1)`).toBe(0);
  });
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
  } else {
    test(SAMPLE, async ({ expect, annotate }) => {
      const items = (dc.ctx.plan?.assetSample.items ?? []).filter((i) => i.kind === 'file').map((i) => i.value);
      const { compared, skipped } = await compareSampledFiles(
        cfg.srcAssetsDir!,
        cfg.dstAssetsDir,
        cfg.assetsDbPathPrefix,
        items,
      );
      const bad = compared.filter((x) => x.problem && !x.notCompared);
      const notCompared = compared.filter((x) => x.notCompared);
      await annotate(
        `${compared.length} sampled files compared (size + sha256), ${bad.length} differ; ${notCompared.length} not compared (source unreadable)${
          notCompared.length
            ? `: ${notCompared
                .slice(0, 5)
                .map((x) => `${x.path} (${x.problem})`)
                .join('; ')}`
            : ''
        }; ${skipped.length} skipped (outside the prefix)`,
        'evidence',
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
    });
  }
}
