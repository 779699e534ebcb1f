/**
 * The asset census's four judges (./family.ts names and schedules them): one asset column's stored paths against the
 * tree, the tree's unreferenced files, every file against a local source tree, the sampled files' bytes.
 */
import type { Config } from '../../../core/config.ts';
import { shownPath } from '../../../core/display.ts';
import { failed, unchecked, type Notes, type Verdict } from '../../family.ts';
import { writeFullList, writePathList } from '../../shared/full-list.ts';
import { displayKey } from '../../shared/asset-paths.ts';
import { warn } from '../../shared/verdict.ts';
import { compareSampledFiles, type CensusColumn, type CensusResult, type DanglingPath } from './census.ts';
import { compareTrees, missingRoot, type TreeComparison } from './tree-compare.ts';

/** An asset column as the census sees it (exists in the target, or why not). */
export type Column = CensusColumn & { exists: boolean; reason?: string; configured?: boolean };

/** What the census's tests share in one run: the columns, the one census (run once, on first use), the sample. */
export interface CensusRun {
  present: Column[];
  misconfigured: Column[];
  census: () => Promise<CensusResult>;
  /** Why the unreferenced files cannot be judged (incomplete references), if so. */
  treeBlocked?: string;
  /** The sampled file paths (stored form). */
  sampleItems: string[];
}

/** The column's two evidence lines. */
function columnEvidence(
  r: CensusResult,
  x: NonNullable<ReturnType<CensusResult['columns']['get']>>,
  cfg: Config,
): string[] {
  const newCount = x.dangling - x.preexisting;
  return [
    `${x.total} non-null paths; ${x.censused} censused against the tree (${r.entries.files} files, ${r.entries.dirs} directories, walked in ${r.ms.walk} ms; the whole census took ${r.ms.total} ms: PostgreSQL's first batch after ${r.ms.compare} ms, readdir ${r.ms.tree} ms); ` +
      `${x.notCensused} not censused (outside ${cfg.assetsDbPathPrefix}/ or with a .. segment: the path-prefix check's job); ${x.dangling} dangling`,
    x.sourceCompared
      ? `dangling paths: in source ${x.preexisting}, in target ${x.dangling}, new ${newCount}` +
        (x.unverified
          ? ` (${x.unverified} beyond the first ${x.dangling - x.unverified} not looked up one by one: counted as new)`
          : '')
      : `dangling paths: in target ${x.dangling}; the source tree was not compared (SRC_ASSETS_DIR ${cfg.srcAssetsDir ? 'is remote' : 'is not set'}): every one counts as new`,
  ];
}

/** One asset column: every stored path resolves to an entry of the right kind; new dangling paths fail. */
export async function checkColumn(
  name: string,
  c: Column,
  run: CensusRun,
  cfg: Config,
  notes: Notes,
): Promise<Verdict | void> {
  const r = await run.census();
  const x = r.columns.get(c.display)!;
  const newCount = x.dangling - x.preexisting;
  for (const line of columnEvidence(r, x, cfg)) await notes(line, 'evidence');
  for (const w of r.walkProblems.examples)
    await warn(
      notes,
      `${name}: could not read ${w.rel} under ${cfg.dstAssetsDir} (${w.code}): paths below it are looked up one by one`,
    );
  const show = (e: DanglingPath) =>
    `${shownPath(e.path)} (expected ${c.kind === 'file' ? 'a file' : 'a directory'}, found ${e.found}${e.twin ? `; ${e.twin}` : ''})`;
  // The full list (rclone style) of what fails: the new dangling paths, plus the pre-existing ones when
  // PREEXISTING_DEFECTS_FAIL=1 makes them fail too.
  const failing = [...x.examples, ...(cfg.preexistingDefectsFail ? x.preexistingExamples : [])];
  if (failing.length)
    await writeFullList(
      notes,
      name,
      `dangling references (rclone style): missing-on-target <db path>, or wrong-kind <db path> (<found>)`,
      failing.map((e) =>
        e.found === 'nothing (missing)' ? `missing-on-target ${e.path}` : `wrong-kind ${e.path} (${e.found})`,
      ),
      { max: cfg.fullListMax, total: newCount + (cfg.preexistingDefectsFail ? x.preexisting : 0) },
    );
  if (x.preexisting) {
    const pre = `${x.preexisting} dangling path(s) already dangling in the source tree, e.g. ${x.preexistingExamples.slice(0, 5).map(show).join('; ')}`;
    if (cfg.preexistingDefectsFail) return failed(`${name}: ${pre} (PREEXISTING_DEFECTS_FAIL=1)`);
    await warn(notes, `${name}: ${pre}: not a migration failure (PREEXISTING_DEFECTS_FAIL=1 makes it fail)`);
  }
  if (newCount !== 0)
    return failed(
      `${name}: ${newCount} of ${x.censused} paths do not resolve under ${cfg.dstAssetsDir}${x.preexisting ? ` (besides ${x.preexisting} already dangling in the source)` : ''}: ${x.examples.slice(0, 5).map(show).join('; ')}`,
    );
}

/** Files no row references: a warning, failing only with ASSETS_UNREFERENCED_FAIL=1. */
export async function checkTree(run: CensusRun, cfg: Config, notes: Notes): Promise<Verdict | void> {
  const TREE = 'asset census unreferenced files under DST_ASSETS_DIR';
  const r = await run.census();
  const u = r.unreferenced;
  const what = `${u.count} of ${r.entries.files} files under ${cfg.dstAssetsDir} are referenced by no row of ${run.present.map((c) => c.display).join(', ')}${
    u.count
      ? `: ${u.examples
          .slice(0, 5)
          .map((e) => (/[\x00-\x1f]/.test(e) ? JSON.stringify(e) : e))
          .join(', ')}${u.count > 5 ? ', …' : ''}`
      : ''
  }`;
  if (u.count) {
    await writeFullList(
      notes,
      TREE,
      'files under DST_ASSETS_DIR that no row references: unreferenced <path relative to DST_ASSETS_DIR>',
      u.examples.map((p) => `unreferenced ${p}`),
      { max: cfg.fullListMax, total: u.count },
    );
    await warn(notes, what);
  } else await notes(what, 'evidence');
  if (r.entries.notUtf8)
    await warn(
      notes,
      `${r.entries.notUtf8} name(s) under ${cfg.dstAssetsDir} are not valid UTF-8 (shown escaped): no stored path can name them, so they are not counted as unreferenced: ${r.notUtf8.examples.slice(0, 5).join(', ')}${r.notUtf8.count > 5 ? ', …' : ''}`,
    );
  if (r.walkProblems.count)
    await warn(
      notes,
      `${r.walkProblems.count} director(y/ies) could not be read, their files are not counted: ${r.walkProblems.examples.map((w) => `${w.rel} (${w.code})`).join(', ')}`,
    );
  if (cfg.assetsUnreferencedFail && u.count !== 0) return failed(`${TREE}: ${what} (ASSETS_UNREFERENCED_FAIL=1)`);
}

/** The every-file comparison's evidence line. */
function everyFileEvidence(r: TreeComparison, sha: boolean): string {
  const unreadable = r.unreadable.length
    ? `: ${r.unreadable
        .slice(0, 5)
        .map((x) => `${shownPath(x.path)} (${x.problem})`)
        .join('; ')}`
    : '';
  return `${r.files} source files compared with ${r.targetFiles} target files (size, mtime${sha ? `, sha256: ${r.bytesHashed} bytes read` : '; bytes only where the mtime differs: ASSETS_VERIFY=sha256 compares every file'}; names compared as bytes) in ${r.ms} ms; ${r.differing} differ (${r.missingOnTarget.count} missing on the target, ${r.differ.count} different); ${r.missingOnSource.count} on the target only; ${r.mtimeOnly} with another mtime but the same bytes; ${r.notFiles} non-files (symlinks, ...) not compared; ${r.unreadable.length} unreadable${unreadable}`;
}

/**
 * The three rclone-style lists of the every-file comparison, written when not empty; the failing ones first (the
 * report inlines a check's first list).
 */
async function everyFileLists(name: string, r: TreeComparison, cfg: Config, notes: Notes): Promise<void> {
  const lists: Array<[string, TreeComparison['differ'], string]> = [
    ['missing-on-target', r.missingOnTarget, 'in SRC_ASSETS_DIR, missing in DST_ASSETS_DIR'],
    ['differ', r.differ, 'in both trees, different'],
    ['missing-on-source', r.missingOnSource, 'in DST_ASSETS_DIR, no longer in SRC_ASSETS_DIR'],
  ];
  for (const [which, list, what] of lists)
    if (list.count)
      await writePathList(notes, name, which, list.keys, { max: cfg.fullListMax, total: list.count, what });
}

/**
 * Files staging keeps that the source deleted (or renamed) since an earlier copy: a warning naming them and the cure
 * (the mirror keeps them unless ASSETS_DELETE lets it delete; the application may still serve them).
 */
async function warnSourceDeletions(name: string, r: TreeComparison, cfg: Config, notes: Notes): Promise<void> {
  const n = r.missingOnSource.count;
  if (!n) return;
  const shown = r.missingOnSource.keys.slice(0, 5).map(displayKey).join(', ');
  await warn(
    notes,
    `${name}: ${n} file(s) under ${cfg.dstAssetsDir} that ${cfg.srcAssetsDir} no longer has (deleted or renamed in the source since an earlier copy; staging still serves them): ${shown}${n > 5 ? ', …' : ''}. The mirror keeps them without ASSETS_DELETE: set ASSETS_DELETE to let it delete what the source deleted`,
  );
}

/**
 * Every file, not a sample, both ways: a repeat rehearsal must see a file the mirror left stale (size + mtime always;
 * the bytes too with ASSETS_VERIFY=sha256, which reads both trees in full), a file missing on the target (fails), and
 * a file the source deleted since an earlier copy (a warning). A file the source modified after the mirror started is
 * named as "the source changed during the copy". Full lists: missing-on-target, missing-on-source, differ.
 * @param changedSince when this run's mirror started (ms since the epoch), if it ran
 */
export async function checkEveryFile(
  name: string,
  cfg: Config,
  notes: Notes,
  changedSince?: number,
): Promise<Verdict | void> {
  const sha = cfg.assetsVerify === 'sha256';
  const noRoot = missingRoot({ SRC_ASSETS_DIR: cfg.srcAssetsDir!, DST_ASSETS_DIR: cfg.dstAssetsDir });
  if (noRoot) return failed(`${name}: ${noRoot}`);
  const r = await compareTrees(cfg.srcAssetsDir!, cfg.dstAssetsDir, {
    content: sha,
    listMax: cfg.fullListMax,
    changedSince,
  });
  await notes(everyFileEvidence(r, sha), 'evidence');
  for (const w of r.walkProblems)
    await warn(notes, `${name}: could not read ${w.rel} in the ${w.side} tree (${w.code}): its files are not compared`);
  await everyFileLists(name, r, cfg, notes);
  await warnSourceDeletions(name, r, cfg, notes);
  if (r.differing === 0) return;
  const changed = r.sourceChanged.length
    ? ` The source changed during the copy: ${r.sourceChanged
        .slice(0, 5)
        .map((x) => shownPath(x.path))
        .join(', ')} (copy again when the writer is done).`
    : '';
  return failed(
    `${name}: ${r.differing} of ${r.files} files differ between ${shownPath(cfg.srcAssetsDir ?? '')} and ${shownPath(cfg.dstAssetsDir ?? '')}: ${r.examples.map((x) => `${shownPath(x.path)}: ${x.problem}`).join('; ')}${r.differing > r.examples.length ? '; …' : ''}${changed}`,
  );
}

/** The sampled files: size and sha256 equal between a local SRC_ASSETS_DIR and the target. */
export async function checkSample(
  run: CensusRun,
  cfg: Config,
  notes: Notes,
  changedSince?: number,
): Promise<Verdict | void> {
  const SAMPLE = 'asset census sampled files size and sha256 (source = target)';
  if (!run.sampleItems.length) return unchecked(`${SAMPLE}: no sampled file: ${run.treeBlocked}`);
  const { compared, skipped } = await compareSampledFiles(
    cfg.srcAssetsDir!,
    cfg.dstAssetsDir,
    cfg.assetsDbPathPrefix,
    run.sampleItems,
    4,
    changedSince,
  );
  const bad = compared.filter((x) => x.problem && !x.notCompared);
  const preexisting = compared.filter((x) => x.preexisting);
  const notCompared = compared.filter((x) => x.notCompared && !x.preexisting);
  const ok = compared.filter((x) => !x.problem);
  await notes(
    `${ok.length + bad.length} sampled files compared (size + sha256), ${bad.length} differ; ${preexisting.length} missing on both sides; ${notCompared.length} not compared (source unreadable)${
      notCompared.length
        ? `: ${notCompared
            .slice(0, 5)
            .map((x) => `${shownPath(x.path)} (${x.problem})`)
            .join('; ')}`
        : ''
    }; ${skipped.length} skipped (refused by the path resolver: outside the prefix or ..)`,
    'evidence',
  );
  if (preexisting.length)
    await warn(
      notes,
      `${SAMPLE}: ${preexisting.length} sampled path(s) missing in the source as in the target (a defect the source already has): ${preexisting
        .slice(0, 5)
        .map((x) => shownPath(x.path))
        .join(', ')}`,
    );
  // A file the source does not let us read was not verified: said on the console (a warning), never a silent pass.
  const unreadable = notCompared.filter((x) => x.sourceUnreadable);
  if (unreadable.length)
    await warn(
      notes,
      `${SAMPLE}: ${unreadable.length} sampled file(s) not compared, the source could not be read: ${unreadable
        .slice(0, 5)
        .map((x) => `${shownPath(x.path)} (${x.problem})`)
        .join('; ')}`,
    );
  if (bad.length) {
    await writeFullList(
      notes,
      SAMPLE,
      'sampled files whose size or sha256 differ (rclone style): differ <db path> <problem>',
      bad.map((x) => `differ ${x.path} ${x.problem}`),
      { max: cfg.fullListMax },
    );
    return failed(
      `${SAMPLE}: ${bad
        .slice(0, 5)
        .map((x) => `${shownPath(x.path)}: ${x.problem}`)
        .join('; ')}`,
    );
  }
  // Nothing compared proves nothing.
  if (ok.length === 0)
    return unchecked(
      `${SAMPLE}: 0 of ${run.sampleItems.length} sampled files could be compared (${notCompared.length} unreadable in the source, ${preexisting.length} missing on both sides, ${skipped.length} refused)`,
    );
}
