/**
 * Every file of a local source tree against the target tree, both ways, as `rclone check` does it: size and mtime
 * (whole seconds, what rsync -a keeps and its quick check compares) of EVERY regular file; a file whose mtime differs
 * is decided by its bytes (sha256 of both), and with `content` (ASSETS_VERIFY=sha256) every file's bytes are compared.
 * It finds what is missing on the target, what the target has that the source no longer has (deleted or renamed in the
 * source since an earlier copy: the mirror keeps them without ASSETS_DELETE), and what differs — and a differing file
 * the source modified after the mirror started is named as "the source changed during the copy".
 *
 * Both trees are walked in byte order of their relative paths (`sortedByteTree`: names read as bytes, so a name that
 * is not valid UTF-8 is compared, opened and listed like any other) and merged (`mergeSorted`): memory holds one
 * directory listing per level of each tree, a chunk of each, the hashes in flight and the lists up to their cap —
 * never the trees. Symlinks and other non-files of the source are counted, not compared.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sha256File } from '../../../core/files.ts';
import {
  displayKey,
  keyBytes,
  mergeSorted,
  sortedByteTree,
  type ByteTreeEntry,
  type WalkProblem,
} from '../../shared/asset-paths.ts';
import { fsProblem } from '../../../core/fs-problem.ts';

export interface TreeDifference {
  /** Relative to the tree roots, escaped for display (displayKey). */
  path: string;
  problem: string;
}

/** A list of paths found by the comparison: all counted, the first `max` kept (byte keys, in byte order). */
export interface PathList {
  count: number;
  keys: string[];
}

export interface TreeComparison {
  /** Regular files of the source compared. */
  files: number;
  /** Regular files of the target. */
  targetFiles: number;
  /** Source entries that are not regular files (symlinks, ...), not compared. */
  notFiles: number;
  /** Source files that differ on the target (missing, other size, other mtime and bytes), all counted. */
  differing: number;
  /** Up to `limit` of them, in byte order. */
  examples: TreeDifference[];
  /** Source files missing on the target (rclone's --missing-on-dst). */
  missingOnTarget: PathList;
  /** Target files the source does not have (rclone's --missing-on-src): deleted or renamed in the source. */
  missingOnSource: PathList;
  /** Files on both sides that differ (rclone's --differ); a wrong kind on the target counts here. */
  differ: PathList;
  /** Of the differing files: the source was modified after the mirror started (`changedSince`). */
  sourceChanged: TreeDifference[];
  /** Source files that could not be read or stat'ed (reported, not a failure of the target). */
  unreadable: TreeDifference[];
  /** Directories of either tree that could not be read. */
  walkProblems: Array<WalkProblem & { side: 'source' | 'target' }>;
  bytesHashed: number;
  /** Files whose mtime differs but whose bytes are equal (hashed because of the mtime): not a difference. */
  mtimeOnly: number;
  ms: number;
}

export interface CompareOptions {
  /** ASSETS_VERIFY=sha256: hash every file of both sides. */
  content?: boolean;
  /** Examples kept for the message. */
  limit?: number;
  /** Paths kept per list (FULL_LIST_MAX); all are counted. */
  listMax?: number;
  /** Hashes in flight. */
  concurrency?: number;
  /** When the mirror started (ms since the epoch): a source file modified since then changed during the copy. */
  changedSince?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const sec = (ms: number) => Math.floor(ms / 1000);

function push(list: PathList, key: string, max: number): void {
  list.count++;
  if (list.keys.length < max) list.keys.push(key);
}

/** What the target has at a source file's path, when it is not a regular file. */
function wrongKind(dst: ByteTreeEntry | undefined): string | undefined {
  if (!dst) return 'missing on the target';
  if (dst.type === 'file') return dst.stat ? undefined : 'vanished on the target during the comparison';
  return `the target has ${dst.type === 'directory' ? 'a directory' : dst.type === 'symlink' ? 'a symlink' : 'something else'} there`;
}

/**
 * Why two regular files (lstat'ed) differ, or undefined when they agree. Same size and mtime: what rsync's quick
 * check trusts (bytes read only with `content`); another mtime: the bytes decide, so a stale file is never passed.
 */
async function differsBy(
  key: string,
  roots: { src: string; dst: string },
  src: fs.Stats,
  dst: fs.Stats,
  content: boolean,
  acc: { bytes: number; mtimeOnly: number },
): Promise<string | undefined> {
  if (dst.size !== src.size) return `size differs: source ${src.size} B, target ${dst.size} B`;
  const sm = sec(src.mtimeMs);
  const dm = sec(dst.mtimeMs);
  if (!content && sm === dm) return undefined;
  const rel = keyBytes(key);
  const at = (root: string) => Buffer.concat([Buffer.from(root), Buffer.from('/'), rel]) as unknown as string;
  const [a, b] = await Promise.all([sha256File(at(roots.src)), sha256File(at(roots.dst))]);
  acc.bytes += src.size * 2;
  if (a === b) {
    if (sm !== dm) acc.mtimeOnly++;
    return undefined;
  }
  const bytes = `sha256 source ${a.slice(0, 16)}…, target ${b.slice(0, 16)}…`;
  return sm === dm
    ? `same size (${src.size} B) and mtime but different bytes: ${bytes}`
    : `same size (${src.size} B), other mtime (source ${iso(sm * 1000)}, target ${iso(dm * 1000)}) and different bytes: ${bytes}`;
}

/**
 * The words for a file that differs because the source changed during the copy (the source's mtime is later than
 * the mirror's start), with its sizes when copied (what the target holds) and now; undefined otherwise.
 */
export function sourceChangedText(src: fs.Stats, dst: fs.Stats, changedSince: number | undefined): string | undefined {
  if (changedSince === undefined || src.mtimeMs < changedSince || src.mtimeMs <= dst.mtimeMs) return undefined;
  return `the source changed during the copy: modified ${iso(src.mtimeMs)}, after the mirror started ${iso(changedSince)}; size when copied ${dst.size} B (the target's), now ${src.size} B (the source's): copy it again once it is complete`;
}

/** The comparison's accumulator, before the final sort. */
function emptyComparison(): TreeComparison {
  const list = (): PathList => ({ count: 0, keys: [] });
  return {
    files: 0,
    targetFiles: 0,
    notFiles: 0,
    differing: 0,
    examples: [],
    missingOnTarget: list(),
    missingOnSource: list(),
    differ: list(),
    sourceChanged: [],
    unreadable: [],
    walkProblems: [],
    bytesHashed: 0,
    mtimeOnly: 0,
    ms: 0,
  };
}

/** Record one difference of a source file. */
function recordDifference(
  out: TreeComparison,
  key: string,
  problem: string,
  list: PathList,
  o: Required<CompareOptions>,
) {
  out.differing++;
  push(list, key, o.listMax);
  if (out.examples.length < o.limit) out.examples.push({ path: displayKey(key), problem });
}

/**
 * Walk `srcRoot` and `dstRoot` in byte order and compare every regular file both ways (see the module comment).
 * Never throws for a single file (a source file that cannot be read is listed in `unreadable`).
 */
export async function compareTrees(
  srcRoot: string,
  dstRoot: string,
  opts: CompareOptions = {},
): Promise<TreeComparison> {
  const t0 = performance.now();
  const o: Required<CompareOptions> = {
    content: !!opts.content,
    limit: opts.limit ?? 20,
    listMax: opts.listMax ?? 100_000,
    concurrency: opts.concurrency ?? (opts.content ? 4 : 16),
    changedSince: opts.changedSince as number,
  };
  const out = emptyComparison();
  const acc = { bytes: 0, mtimeOnly: 0 };
  const walk = (root: string, side: 'source' | 'target') =>
    sortedByteTree(root, { stats: true, onProblem: (p) => out.walkProblems.push({ ...p, side }) });
  const inflight = new Set<Promise<void>>();
  let n = 0;
  for (const [s, d] of mergeSorted(walk(srcRoot, 'source'), walk(dstRoot, 'target'))) {
    if (++n % 4096 === 0) await new Promise<void>((r) => setImmediate(r));
    if (d?.type === 'file') out.targetFiles++;
    if (!s) {
      if (d?.type === 'file') push(out.missingOnSource, d.key, o.listMax);
      continue;
    }
    if (s.type === 'directory') continue;
    if (s.type !== 'file') {
      out.notFiles++;
      continue;
    }
    out.files++;
    if (!s.stat) {
      out.unreadable.push({
        path: displayKey(s.key),
        problem: 'vanished or unreadable in the source during the comparison',
      });
      continue;
    }
    const kind = wrongKind(d);
    if (kind) {
      recordDifference(out, s.key, kind, d ? out.differ : out.missingOnTarget, o);
      continue;
    }
    const [src, dst] = [s.stat, d!.stat!];
    const p = differsBy(s.key, { src: srcRoot, dst: dstRoot }, src, dst, o.content, acc)
      .then((problem) => {
        if (!problem) return;
        const changed = sourceChangedText(src, dst, opts.changedSince);
        if (changed) out.sourceChanged.push({ path: displayKey(s.key), problem: changed });
        recordDifference(out, s.key, changed ? `${changed} (${problem})` : problem, out.differ, o);
      })
      .catch((err: Error) => {
        out.unreadable.push({ path: displayKey(s.key), problem: fsProblem(err) ?? err.message });
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= o.concurrency) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  out.examples.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const l of [out.differ, out.missingOnTarget, out.missingOnSource]) l.keys.sort();
  out.bytesHashed = acc.bytes;
  out.mtimeOnly = acc.mtimeOnly;
  out.ms = Math.round(performance.now() - t0);
  return out;
}

/** Both roots exist as directories (the check says which does not, instead of comparing against nothing). */
export function missingRoot(roots: Record<string, string>): string | undefined {
  for (const [label, root] of Object.entries(roots))
    if (!fs.existsSync(root) || !fs.statSync(root).isDirectory())
      return `${label} ${path.resolve(root)} does not exist or is not a directory`;
  return undefined;
}
