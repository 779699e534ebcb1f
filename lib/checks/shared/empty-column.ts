/**
 * An asset column with no path to check while the asset tree holds files: the column exists but is NULL in every row
 * (the application moved its paths to another column), so the sampled check, the prefix check and the census would
 * all compare nothing and pass. Nothing compared is no evidence (rw31): the checks of such a column fail as
 * `not checked`, naming the column and the tree.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../core/config.ts';
import { notChecked } from './verdict.ts';

/**
 * Whether the tree under `root` holds at least one regular file, looking at no more than `maxEntries` entries
 * (breadth-first, symlinks not followed, unreadable folders skipped). A missing root holds nothing. Milliseconds: it
 * stops at the first file.
 */
export async function treeHoldsFiles(root: string, maxEntries = 10_000): Promise<boolean> {
  const queue = [root];
  let seen = 0;
  while (queue.length && seen < maxEntries) {
    const dir = queue.shift()!;
    let handle;
    try {
      handle = await fs.opendir(dir);
    } catch {
      continue;
    }
    for await (const e of handle) {
      if (e.isFile()) return true;
      if (e.isDirectory()) queue.push(path.join(dir, e.name));
      if (++seen >= maxEntries) break;
    }
  }
  return false;
}

/**
 * The `not checked` reason for a column with `paths` non-NULL paths (0: none) while a local asset tree of the run
 * (DST_ASSETS_DIR, or a local SRC_ASSETS_DIR) holds files; undefined when the column has paths or no tree holds any.
 * `check` is the check's name (`asset public.x.y`, `path prefix x.y`).
 */
export async function emptyColumnReason(config: Config, check: string, paths: number): Promise<string | undefined> {
  if (paths > 0) return undefined;
  const trees = [
    ['DST_ASSETS_DIR', config.dstAssetsDir],
    ...(config.srcAssetsDir && !config.srcAssetsRemote ? [['SRC_ASSETS_DIR', config.srcAssetsDir]] : []),
  ] as Array<[string, string]>;
  for (const [name, root] of trees) {
    if (!(await treeHoldsFiles(root))) continue;
    return notChecked(
      `${check}: the column holds 0 non-NULL paths while ${name} (${root}) holds files: nothing compared is no evidence; the paths may have moved to another column (fix ASSET_COLUMNS)`,
    );
  }
  return undefined;
}
