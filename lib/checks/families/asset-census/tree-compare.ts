/**
 * Every file of a local source tree against the target tree: size and mtime (whole seconds, what rsync -a keeps and
 * its quick check compares) of EVERY regular file; a file whose mtime differs is decided by its bytes (sha256 of
 * both), and with `content` (ASSETS_VERIFY=sha256) every file's bytes are compared (both trees read in full). The sampled comparison (lib/checks/families/asset-census/census.ts compareSampledFiles) hashes only the sample; this one
 * is what makes a repeat rehearsal see a file the mirror left stale.
 *
 * The source tree is streamed (fast-glob, no symlink followed); the target side is one lstat per file (bounded
 * concurrency), so memory stays bounded by the examples kept, whatever the tree's size. Symlinks and other non-files
 * of the source are counted, not compared (the census and the sampled checks judge what the target has there).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import fg from 'fast-glob';
import { fsProblem } from '../../../core/fs-problem.ts';

export interface TreeDifference {
  /** Relative to the tree roots. */
  path: string;
  problem: string;
}

export interface TreeComparison {
  /** Regular files of the source compared. */
  files: number;
  /** Source entries that are not regular files (symlinks, ...), not compared. */
  notFiles: number;
  /** Files that differ (missing on the target, other size, other mtime, other bytes), all counted. */
  differing: number;
  /** Up to `limit` of them, in walk order. */
  examples: TreeDifference[];
  /** Source files that could not be read or stat'ed (reported, not a failure of the target). */
  unreadable: TreeDifference[];
  bytesHashed: number;
  /** Files whose mtime differs but whose bytes are equal (hashed because of the mtime): not a difference. */
  mtimeOnly: number;
  ms: number;
}

const iso = (s: number) => new Date(s * 1000).toISOString();

async function sha256(p: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(fs.createReadStream(p), h);
  return h.digest('hex');
}

/** Compare one source file with the target's file at the same relative path; undefined when they agree. */
async function compareOne(
  srcRoot: string,
  dstRoot: string,
  rel: string,
  src: fs.Stats,
  content: boolean,
  acc: { bytes: number; mtimeOnly: number },
): Promise<string | undefined> {
  let dst: fs.Stats;
  try {
    dst = await fs.promises.lstat(path.join(dstRoot, rel));
  } catch {
    return 'missing on the target';
  }
  if (!dst.isFile())
    return `the target has ${dst.isDirectory() ? 'a directory' : dst.isSymbolicLink() ? 'a symlink' : 'something else'} there`;
  if (dst.size !== src.size) return `size differs: source ${src.size} B, target ${dst.size} B`;
  const sm = Math.floor(src.mtimeMs / 1000);
  const dm = Math.floor(dst.mtimeMs / 1000);
  // Same size and mtime: what rsync's quick check trusts; the bytes are read only when asked (ASSETS_VERIFY=sha256).
  // Another mtime (a copy made without -p/-t, a touched file): the bytes decide, so a stale file is never passed.
  if (content || sm !== dm) {
    const [a, b] = await Promise.all([sha256(path.join(srcRoot, rel)), sha256(path.join(dstRoot, rel))]);
    acc.bytes += src.size * 2;
    if (a !== b)
      return sm === dm
        ? `same size (${src.size} B) and mtime but different bytes: sha256 source ${a.slice(0, 16)}…, target ${b.slice(0, 16)}…`
        : `same size (${src.size} B), other mtime (source ${iso(sm)}, target ${iso(dm)}) and different bytes: sha256 source ${a.slice(0, 16)}…, target ${b.slice(0, 16)}…`;
    if (sm !== dm) acc.mtimeOnly++;
  }
  return undefined;
}

/**
 * Walk `srcRoot` and compare every regular file with `dstRoot`. `content`: also sha256 both sides (ASSETS_VERIFY=sha256).
 * Returns counts and up to `limit` examples; never throws for a single file (a source file that cannot be read is
 * listed in `unreadable`).
 */
export async function compareTrees(
  srcRoot: string,
  dstRoot: string,
  opts: { content?: boolean; limit?: number; concurrency?: number } = {},
): Promise<TreeComparison> {
  const t0 = performance.now();
  const limit = opts.limit ?? 20;
  const out: TreeComparison = {
    files: 0,
    notFiles: 0,
    differing: 0,
    examples: [],
    unreadable: [],
    bytesHashed: 0,
    mtimeOnly: 0,
    ms: 0,
  };
  const acc = { bytes: 0, mtimeOnly: 0 };
  const inflight = new Set<Promise<void>>();
  const stream = fg.stream('**', {
    cwd: srcRoot,
    dot: true,
    onlyFiles: false,
    followSymbolicLinks: false,
    objectMode: true,
    stats: true,
    suppressErrors: true,
  });
  for await (const e of stream as AsyncIterable<{ path: string; stats?: fs.Stats; dirent: fs.Dirent }>) {
    if (e.dirent.isDirectory()) continue;
    if (!e.dirent.isFile() || !e.stats) {
      out.notFiles++;
      continue;
    }
    out.files++;
    const rel = e.path;
    const st = e.stats;
    const p = compareOne(srcRoot, dstRoot, rel, st, !!opts.content, acc)
      .then((problem) => {
        if (!problem) return;
        out.differing++;
        if (out.examples.length < limit) out.examples.push({ path: rel, problem });
      })
      .catch((err: Error) => {
        // "unreadable: permission denied", "path too long" — not a bare EACCES (lib/core/fs-problem.ts).
        out.unreadable.push({ path: rel, problem: fsProblem(err) ?? err.message });
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= (opts.concurrency ?? (opts.content ? 4 : 32))) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  out.examples.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  out.bytesHashed = acc.bytes;
  out.mtimeOnly = acc.mtimeOnly;
  out.ms = Math.round(performance.now() - t0);
  return out;
}
