/**
 * Asset census: every path of every asset column against the whole target tree, both ways, without writing anything
 * anywhere (no temporary table: it runs on a read-only target or a hot standby).
 *
 * A sorted merge, as `sort | comm` does it: PostgreSQL streams the censused paths of every asset column (one scan of
 * each column, grouped by value, normalised relative to ASSETS_DB_PATH_PREFIX, sorted by their bytes, read through a
 * cursor in batches of rows as arrays) and the tree under DST_ASSETS_DIR is walked in the same byte order (each
 * directory's entries sorted, a directory's subtree visited at the position of "name/"; one synchronous readdir per
 * directory, in chunks) while the server works, so Node holds one batch, a bounded read-ahead of the walk
 * (TREE_READAHEAD entries) and one directory listing per level, never a whole column. The merge is a synchronous loop
 * over the batches. No symlink is followed; a symlink counts as its target only when that stays inside the tree.
 * - dangling references: a censused path (under the prefix, no `.`/`..` segment) with no entry of the right kind
 *   (file / directory) in the tree;
 * - unreferenced files: a file that no `file` column names and that lies under no directory a `dir` column names.
 * Paths outside the prefix are the path-prefix check's job: counted here as "not censused", never followed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../../../core/config.ts';
import { withConnection } from '../../../core/db.ts';
import { pinnedSettingsSql } from '../../shared/deep-context.ts';
import { quoteIdent, quoteTable, type TableRef } from '../../../core/ident.ts';
import type { Query } from '../../../core/query.ts';
import { prefixWithSlash } from '../assets/sql.ts';
import {
  displayKey,
  fileWithTrailingSlash,
  findNearTwin,
  isAbsent,
  isUtf8Key,
  keyBytes,
  locateAsset,
  locateRel,
  resolveStoredPath,
  sortedByteTree,
  type EntryType,
  type WalkProblem,
} from '../../shared/asset-paths.ts';
import { isInside } from '../../../core/paths.ts';
import { sha256File } from '../../../core/files.ts';
import { fsProblem } from '../../../core/fs-problem.ts';
import { sourceChangedText } from './tree-compare.ts';

export interface CensusColumn {
  display: string;
  table: TableRef;
  column: string;
  kind: 'file' | 'dir';
}

/** How many dangling candidates per column are looked up again one by one (reason, near twin, source tree). */
export const DANGLING_VERIFY_MAX = 1000;

export interface DanglingPath {
  /** The stored path. */
  path: string;
  /** What is there instead, and why it does not resolve (the resolver's words). */
  found: string;
  /** A name differing only in Unicode normalization / percent-encoding exists, and how. */
  twin?: string;
  /** Missing in the source tree too: a defect the source already has. */
  preexisting?: boolean;
}

export interface ColumnCensus {
  /** Non-null values. */
  total: number;
  /** Values under the prefix, without `..` segments: the ones looked up in the tree. */
  censused: number;
  notCensused: number;
  /** Censused values that do not resolve to an entry of the right kind (confirmed by the path resolver). */
  dangling: number;
  /** Of `dangling`: missing in the (local) source tree as well. 0 when no local source was given. */
  preexisting: number;
  /** Dangling candidates beyond DANGLING_VERIFY_MAX: counted as dangling and new, not looked at one by one. */
  unverified: number;
  /** Whether a local source tree was consulted for pre-existing defects. */
  sourceCompared: boolean;
  /** The new dangling paths (not pre-existing) that were looked up: up to max(DANGLING_VERIFY_MAX, `examples`). */
  examples: DanglingPath[];
  /** The pre-existing dangling paths that were looked up (missing in the source tree too). */
  preexistingExamples: DanglingPath[];
}

export interface CensusResult {
  entries: { files: number; dirs: number; other: number; notUtf8: number };
  /** Entries whose names are not valid UTF-8 (not merged: no stored path can name them), escaped. */
  notUtf8: { count: number; files: number; examples: string[] };
  /** Directories the walk could not open or read (their contents are not in the census). */
  walkProblems: { count: number; examples: WalkProblem[] };
  columns: Map<string, ColumnCensus>;
  unreferenced: { count: number; examples: string[] };
  /**
   * Milliseconds: `total` the whole census (connect, query, walk, merge, dangling look-ups); `walk` from the cursor's
   * DECLARE to the end of the merge; `compare` until PostgreSQL delivered the first batch; `tree` spent in readdir.
   */
  ms: { walk: number; compare: number; tree: number; total: number };
}

/** What a tree entry is: f file, d directory, l symlink that is dangling or leaves the tree, o anything else. */
export type EntryKind = 'f' | 'd' | 'l' | 'o';

export const KIND_TEXT: Record<string, string> = {
  f: 'a file',
  d: 'a directory',
  l: 'a dangling symlink or one leading outside DST_ASSETS_DIR',
  o: 'neither a file nor a directory',
  '-': 'nothing (missing)',
};

// `prefix + '/'`, the start every censused DB path has: the same helper as the path-prefix check's.
export { prefixWithSlash };

/**
 * The censused form of one stored path (`raw`): relative to `$2` (of length `$1`), normalised exactly as
 * resolveStoredPath (lib/checks/shared/asset-paths.ts) does — empty and `.` segments dropped, a `..` segment not censused —
 * else NULL. A `file` path stored with a trailing '/' keeps it, so it matches nothing (the resolver refuses it).
 */
function relExpr(kind: 'file' | 'dir' = 'dir'): string {
  const keepSlash = kind === 'file' ? `|| CASE WHEN right(raw, 1) = '/' THEN '/' ELSE '' END` : '';
  return `CASE WHEN left(raw, $1) = $2 AND raw !~ '(^|/)\\.\\.(/|$)'
    THEN CASE WHEN strpos(raw, '//') = 0 AND strpos(raw, '/./') = 0 AND right(raw, 1) <> '/' AND right(raw, 2) <> '/.'
      THEN nullif(substr(raw, $1 + 1), '')
      -- only paths with '//', '/./' or a trailing '/' pay for the normalisation
      ELSE nullif(array_to_string(array_remove(array_remove(string_to_array(substr(raw, $1 + 1), '/'), ''), '.'), '/'), '')
        ${keepSlash} END END`;
}

/**
 * Every distinct censused path of every column (one scan each), as (column index, relative path or NULL, rows that
 * store it, the smallest raw value storing it), sorted by the relative path's bytes (NULL, the paths not censused,
 * last): the database side of the merge. Each column's values are grouped by their bytes first (a hash aggregate), so
 * the normalisation runs once per distinct stored value, not once per row; the second grouping joins the raw values
 * that normalise to the same path (`/p//a` and `/p/a`) and sends each path once, however many rows repeat it.
 */
export function censusStreamQuery(columns: CensusColumn[], prefix: string): Query {
  const pfx = prefixWithSlash(prefix);
  const parts = columns.map((c, i) => {
    const col = quoteIdent(c.column);
    return `SELECT ${i} AS c, ${relExpr(c.kind)} AS rel, raw, n FROM (SELECT ${col}::text COLLATE "C" AS raw, count(*) AS n FROM ${quoteTable(c.table)} WHERE ${col} IS NOT NULL GROUP BY 1) v${i}`;
  });
  return {
    text: `SELECT c, rel, sum(n)::int8 AS n, min(raw) AS raw FROM (\n${parts.join('\nUNION ALL\n')}\n) x GROUP BY c, rel ORDER BY rel COLLATE "C" NULLS LAST, c`,
    values: [pfx.length, pfx],
  };
}

/** One column's stream query (the census of a single column). */
export function columnCensusQuery(c: CensusColumn, prefix: string): Query {
  return censusStreamQuery([c], prefix);
}

/**
 * Byte order of UTF-8 strings (PostgreSQL's COLLATE "C"), without encoding them: UTF-16 code-unit order agrees with
 * it except where a surrogate (a code point above U+FFFF, 4 UTF-8 bytes) meets a unit in U+E000–U+FFFF (3 bytes, so
 * smaller in UTF-8, larger in UTF-16). Returns <0, 0 or >0.
 */
export function byteCompare(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length - b.length;
  const x = a.charCodeAt(i);
  const y = b.charCodeAt(i);
  if (x >= 0xd800 && y >= 0xd800) {
    const sx = x <= 0xdfff;
    const sy = y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
  }
  return x - y;
}

/** Kind of a symlink: its target's, when the target is inside `root`; else `l`. */
function symlinkKind(root: string, rel: string): EntryKind {
  try {
    const real = fs.realpathSync(path.join(root, rel));
    if (!isInside(root, real)) return 'l';
    const st = fs.statSync(real);
    return st.isFile() ? 'f' : st.isDirectory() ? 'd' : 'o';
  } catch {
    return 'l';
  }
}

/** One tree entry: its path relative to the root (no trailing slash) and its kind. */
export interface TreeEntry {
  path: string;
  kind: EntryKind;
}

/** Entries per chunk of the tree walk (and the unit the walk yields the event loop at). */
export const TREE_CHUNK = 4096;

/** A tree entry whose name is not valid UTF-8: `display` escaped (displayKey); no stored path can name it. */
export interface NotUtf8Entry {
  display: string;
  kind: EntryKind;
}

/** A byte key's path as the database would store it (UTF-8), or undefined when its bytes are not valid UTF-8. */
function textOfKey(key: string): string | undefined {
  if (!/[^\x00-\x7f]/.test(key)) return key; // ASCII: the key is the text (the common case pays nothing)
  return isUtf8Key(key) ? keyBytes(key).toString('utf8') : undefined;
}

const KIND_OF: Partial<Record<EntryType, EntryKind>> = { file: 'f', directory: 'd' };

/**
 * The tree under `root` in byte order of the relative paths, in chunks of up to `chunk` entries
 * (lib/checks/shared/asset-paths.ts sortedByteTree: names read as bytes, each directory's entries sorted, a
 * directory's subtree at "name/"). Symlinks are not followed (one is its target's kind only while that stays inside
 * the tree). An entry whose path is not valid UTF-8 can be named by no stored path and would break the text order of
 * the merge: it goes to `onNotUtf8` (escaped) instead of the chunks. Memory: one sorted directory listing per level
 * of the current path, plus a chunk. A directory that cannot be read goes to `onProblem`; the walk goes on.
 */
export function* sortedTreeChunks(
  root: string,
  onProblem: (p: WalkProblem) => void = () => {},
  chunk = TREE_CHUNK,
  onNotUtf8: (e: NotUtf8Entry) => void = () => {},
): Generator<TreeEntry[]> {
  for (const entries of sortedByteTree(root, { chunk, onProblem })) {
    const out: TreeEntry[] = [];
    for (const e of entries) {
      const text = textOfKey(e.key);
      const kind = KIND_OF[e.type] ?? (e.type === 'symlink' && text !== undefined ? symlinkKind(root, text) : 'o');
      if (text === undefined) onNotUtf8({ display: displayKey(e.key), kind });
      else out.push({ path: text, kind });
    }
    if (out.length) yield out;
  }
}

/** The tree under `root` in byte order, one entry at a time (see sortedTreeChunks). */
export async function* sortedTree(
  root: string,
  onProblem: (p: WalkProblem) => void = () => {},
): AsyncGenerator<TreeEntry> {
  for (const chunk of sortedTreeChunks(root, onProblem)) yield* chunk;
}

/** The database side: (column index, relative path or null, rows storing it, smallest raw value) in byte order. */
export interface DbPath {
  c: number;
  rel: string | null;
  /** Rows of the column that store this path (1 when absent). */
  n?: number;
  raw: string;
}

/** What the merge alone finds per column: dangling *candidates*, before the path resolver looks at each. */
export interface MergedColumn {
  total: number;
  censused: number;
  notCensused: number;
  dangling: number;
  /** Up to DANGLING_VERIFY_MAX candidates: the stored path and what the tree has there. */
  examples: Array<{ path: string; found: string }>;
}

export interface MergedCensus {
  entries: { files: number; dirs: number; other: number };
  columns: Map<string, MergedColumn>;
  unreferenced: { count: number; examples: string[] };
}

/** A side of the merge read batch by batch: `ready()` makes `batch[i]` the next item (false at the end). */
class BatchReader<T> {
  batch: readonly T[] = [];
  i = 0;
  private done = false;
  private readonly it: AsyncIterator<readonly T[]> | Iterator<readonly T[]>;
  constructor(src: AsyncIterable<readonly T[]> | Iterable<readonly T[]>) {
    this.it = Symbol.asyncIterator in src ? src[Symbol.asyncIterator]() : src[Symbol.iterator]();
  }
  /** True when an item is at `batch[i]`; awaits only when the batch runs out (empty batches skipped). */
  async ready(): Promise<boolean> {
    while (!this.done && this.i >= this.batch.length) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else [this.batch, this.i] = [r.value, 0];
    }
    return !this.done;
  }
  get current(): T {
    return this.batch[this.i];
  }
}

type ColumnStats = {
  total: number;
  censused: number;
  dangling: number;
  examples: Array<{ raw: string; found: string }>;
};

/** Directories named by a `dir` column whose subtree the merge has not passed yet: is `p` below one of them? */
function coverage() {
  let covering: string[] = [];
  return {
    add: (k: string) => {
      if (!covering.includes(k)) covering.push(k);
    },
    covered: (p: string) => {
      if (!covering.length) return false;
      covering = covering.filter((r) => p.startsWith(`${r}/`) || byteCompare(p, `${r}/`) < 0);
      return covering.some((r) => p.startsWith(`${r}/`));
    },
  };
}

/** The per-column results of the merge, examples in byte order of the stored path. */
function mergedColumns(columns: CensusColumn[], stats: ColumnStats[]): Map<string, MergedColumn> {
  const out = new Map<string, MergedColumn>();
  columns.forEach((c, i) => {
    const s = stats[i];
    out.set(c.display, {
      total: s.total,
      censused: s.censused,
      notCensused: s.total - s.censused,
      dangling: s.dangling,
      examples: s.examples
        .sort((a, b) => byteCompare(a.raw, b.raw))
        .map((x) => ({ path: x.raw, found: KIND_TEXT[x.found] ?? x.found })),
    });
  });
  return out;
}

/**
 * Merge the sorted stored paths with the sorted tree (pure apart from the two iterators). Both sides come in batches
 * (arrays, in order; an empty batch is allowed): the merge itself is a synchronous loop, awaiting only when a batch
 * runs out, so its cost per entry is a comparison, not a promise. The stream is in byte order of the normalised
 * path: the first `maxExamples` dangling candidates per column are kept, each looked up again later.
 */
export async function mergeCensus(
  columns: CensusColumn[],
  db: AsyncIterable<readonly DbPath[]> | Iterable<readonly DbPath[]>,
  tree: AsyncIterable<readonly TreeEntry[]> | Iterable<readonly TreeEntry[]>,
  maxExamples = DANGLING_VERIFY_MAX,
): Promise<MergedCensus> {
  const entries = { files: 0, dirs: 0, other: 0 };
  const stats: ColumnStats[] = columns.map(() => ({ total: 0, censused: 0, dangling: 0, examples: [] }));
  const unreferenced = { count: 0, examples: [] as string[] };
  const d = new BatchReader(db);
  const t = new BatchReader(tree);
  const cover = coverage();
  for (;;) {
    const haveDb = await d.ready();
    const haveTree = await t.ready();
    if (!haveDb && !haveTree) break;
    const dv = haveDb ? d.current : undefined;
    if (dv && dv.rel === null) {
      // Paths not censused come last: counted only.
      stats[dv.c].total += dv.n ?? 1;
      d.i++;
      continue;
    }
    const dbKey = dv?.rel ?? undefined;
    const here = haveTree ? t.current : undefined;
    const treeKey = here?.path;
    const k =
      dbKey === undefined ? treeKey! : treeKey === undefined || byteCompare(dbKey, treeKey) <= 0 ? dbKey : treeKey;
    const at = here && treeKey === k ? here : undefined;
    let fileRef = false;
    // Every stored path equal to k (one per column): they may straddle a batch boundary.
    while ((await d.ready()) && d.current.rel === k) {
      const x = d.current;
      d.i++;
      const col = columns[x.c];
      const s = stats[x.c];
      const n = x.n ?? 1;
      s.total += n;
      s.censused += n;
      if (at?.kind !== (col.kind === 'file' ? 'f' : 'd')) {
        s.dangling += n;
        if (s.examples.length < maxExamples) s.examples.push({ raw: x.raw, found: at?.kind ?? '-' });
      }
      if (col.kind === 'file') fileRef = true;
      else cover.add(k);
    }
    if (!at) continue;
    if (at.kind === 'f') entries.files++;
    else if (at.kind === 'd') entries.dirs++;
    else entries.other++;
    if (at.kind === 'f' && !fileRef && !cover.covered(k)) {
      unreferenced.count++;
      if (unreferenced.examples.length < maxExamples) unreferenced.examples.push(k);
    }
    t.i++;
  }
  return { entries, columns: mergedColumns(columns, stats), unreferenced };
}

/**
 * A dangling path the resolver refuses as stored (a `file` path ending in '/'): the refusal depends only on the stored
 * value, which the source database holds alike, so with a local source tree it is a defect the source already has
 * (pre-existing), not one the copy made. The hint names the file the path means when it exists without the '/'.
 */
async function refusedDangling(
  value: string,
  kind: 'file' | 'dir',
  reason: string,
  o: { prefix: string; dstRoot: string; srcRoot?: string },
): Promise<DanglingPath> {
  const d: DanglingPath = { path: value, found: `nothing: ${reason}` };
  const bare = value.replace(/\/+$/, '');
  if (bare !== value && bare !== '') {
    const loc = await locateAsset(bare, kind, o.prefix, o.dstRoot, 'DST_ASSETS_DIR').catch(() => undefined);
    if (loc?.status === 'found' && loc.stat.isFile())
      d.twin = `a file exists at the path without the trailing "/": ${loc.rel}`;
  }
  if (o.srcRoot && fileWithTrailingSlash(value, kind)) d.preexisting = true;
  return d;
}

/**
 * Look every dangling candidate of a column up again with the path resolver (the sampled check's): drops the ones it
 * finds (a path the SQL normalisation could not see through, e.g. a symlinked directory inside the tree), gives each
 * remaining one its reason and near twin, and, with a local source tree, marks the ones missing there too.
 */
export async function verifyDangling(
  candidates: Array<{ path: string; found: string }>,
  kind: 'file' | 'dir',
  o: { prefix: string; dstRoot: string; srcRoot?: string },
): Promise<DanglingPath[]> {
  const out: DanglingPath[] = [];
  for (const cand of candidates) {
    const loc = await locateAsset(cand.path, kind, o.prefix, o.dstRoot, 'DST_ASSETS_DIR');
    if (loc.status === 'found') {
      if (kind === 'file' ? loc.stat.isFile() : loc.stat.isDirectory()) continue;
      out.push({ path: cand.path, found: cand.found });
      continue;
    }
    if (loc.status === 'refused') {
      out.push(await refusedDangling(cand.path, kind, loc.reason, o));
      continue;
    }
    // Escapes the tree, or cannot be looked at (too long, no permission): said as such, never "nothing (missing)".
    if (loc.status === 'escapes' || !isAbsent(loc)) {
      out.push({ path: cand.path, found: `${loc.problem}` });
      continue;
    }
    const d: DanglingPath = { path: cand.path, found: cand.found };
    const twin = await findNearTwin(loc.rel, o.dstRoot);
    if (twin) d.twin = `a file whose name ${twin.how} exists: ${twin.rel}`;
    else if (o.srcRoot) {
      const src = await locateAsset(cand.path, kind, o.prefix, o.srcRoot, 'SRC_ASSETS_DIR').catch(() => undefined);
      if (src?.status === 'missing' && isAbsent(src) && !(await findNearTwin(src.rel, o.srcRoot))) d.preexisting = true;
    }
    out.push(d);
  }
  return out;
}

/** Rows per FETCH of the stored paths' cursor. */
export const CENSUS_FETCH = 50_000;
/** Tree entries the walk may read ahead while PostgreSQL computes the first batch (bounds the memory it takes). */
export const TREE_READAHEAD = 200_000;

/**
 * The census query's rows through a cursor, `batch` at a time, as DbPath batches (the connection must be inside a
 * transaction). Rows come as arrays (no per-row object from the driver), and the next FETCH is sent as soon as a
 * batch arrives, so PostgreSQL produces batch i+1 while the merge consumes batch i.
 */
async function* cursorBatches(c: pg.ClientBase, q: Query, batch: number): AsyncGenerator<DbPath[]> {
  await c.query(`DECLARE census_paths NO SCROLL CURSOR FOR ${q.text}`, q.values as unknown[]);
  const fetch = () =>
    c.query<[number, string | null, string, string]>({ text: `FETCH ${batch} FROM census_paths`, rowMode: 'array' });
  let next = fetch();
  for (;;) {
    const r = await next;
    const last = r.rows.length < batch;
    if (!last) next = fetch();
    yield r.rows.map(([col, rel, n, raw]) => ({ c: col, rel, n: Number(n), raw }));
    if (last) return;
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The tree walk of the census: byte-ordered chunks, its problems and set-aside names, and the time spent in it. */
function censusWalk(realRoot: string, examples: number) {
  const walkProblems: CensusResult['walkProblems'] = { count: 0, examples: [] };
  const notUtf8: CensusResult['notUtf8'] = { count: 0, files: 0, examples: [] };
  const walk = sortedTreeChunks(
    realRoot,
    (p) => {
      walkProblems.count++;
      if (walkProblems.examples.length < 5) walkProblems.examples.push(p);
    },
    TREE_CHUNK,
    (e) => {
      notUtf8.count++;
      if (e.kind === 'f') notUtf8.files++;
      if (notUtf8.examples.length < examples) notUtf8.examples.push(e.display);
    },
  );
  const timing = { treeMs: 0 };
  const step = () => {
    const t = performance.now();
    const r = walk.next();
    timing.treeMs += performance.now() - t;
    return r;
  };
  return { walkProblems, notUtf8, step, timing };
}

/**
 * Inside the census's read-only transaction: declare the cursor, walk the tree ahead while PostgreSQL delivers the
 * first batch (up to TREE_READAHEAD entries, one chunk per turn of the event loop), then merge the two streams.
 */
async function walkAndMerge(
  c: pg.ClientBase,
  cfg: Config,
  columns: CensusColumn[],
  realRoot: string,
  o: { batchSize?: number; examples?: number },
) {
  const t0 = performance.now();
  let first: number | undefined;
  const rows = cursorBatches(c, censusStreamQuery(columns, cfg.assetsDbPathPrefix), o.batchSize ?? CENSUS_FETCH);
  const firstBatch = rows.next().then((r) => {
    first = performance.now();
    return r;
  });
  const db = (async function* () {
    const r = await firstBatch;
    if (r.done) return;
    yield r.value;
    yield* rows;
  })();
  const examples = Math.max(DANGLING_VERIFY_MAX, o.examples ?? 0);
  const w = censusWalk(realRoot, examples);
  const ahead: TreeEntry[][] = [];
  let aheadN = 0;
  let walked = false;
  while (first === undefined && aheadN < TREE_READAHEAD) {
    const r = w.step();
    if (r.done) {
      walked = true;
      break;
    }
    ahead.push(r.value);
    aheadN += r.value.length;
    await turn();
  }
  const tree = (function* () {
    yield* ahead.splice(0);
    if (walked) return;
    for (let r = w.step(); !r.done; r = w.step()) yield r.value;
  })();
  const merged = await mergeCensus(columns, db, tree, examples);
  const end = performance.now();
  const ms = { walk: end - t0, compare: (first ?? end) - t0, tree: w.timing.treeMs };
  return { merged, walkProblems: w.walkProblems, notUtf8: w.notUtf8, ms };
}

/** Every dangling candidate looked up again with the sampled check's resolver, per column (see verifyDangling). */
async function verifyColumns(cfg: Config, columns: CensusColumn[], merged: MergedCensus) {
  const srcRoot = cfg.srcAssetsDir && !cfg.srcAssetsRemote ? cfg.srcAssetsDir : undefined;
  const out = new Map<string, ColumnCensus>();
  for (const col of columns) {
    const m = merged.columns.get(col.display)!;
    const verified = await verifyDangling(m.examples, col.kind, {
      prefix: cfg.assetsDbPathPrefix,
      dstRoot: cfg.dstAssetsDir,
      srcRoot,
    });
    const unverified = Math.max(0, m.dangling - m.examples.length);
    const preexisting = verified.filter((d) => d.preexisting);
    out.set(col.display, {
      total: m.total,
      censused: m.censused,
      notCensused: m.notCensused,
      dangling: verified.length + unverified,
      preexisting: preexisting.length,
      unverified,
      sourceCompared: !!srcRoot,
      examples: verified.filter((d) => !d.preexisting),
      preexistingExamples: preexisting,
    });
  }
  return out;
}

/**
 * Run the census of `columns` against the tree under cfg.dstAssetsDir: one read-only transaction on the target, no
 * object created. The tree is walked while PostgreSQL scans, groups and sorts the stored paths (up to
 * TREE_READAHEAD entries ahead), then the two sorted streams are merged. `ms.total` is the census's own time, from
 * before connecting to the end of the dangling candidates' look-ups (what a shell census of find + COPY + sort + comm
 * is compared with); `ms.walk` the time until the merge ended; `ms.compare` the time PostgreSQL took to deliver the
 * first batch (its scans, grouping and sort); `ms.tree` the time spent walking the tree (synchronous readdir calls).
 */
export async function runCensus(
  cfg: Config,
  columns: CensusColumn[],
  o: { batchSize?: number; examples?: number } = {},
): Promise<CensusResult> {
  const start = performance.now();
  if (!fs.existsSync(cfg.dstAssetsDir) || !fs.statSync(cfg.dstAssetsDir).isDirectory()) {
    throw new Error(`DST_ASSETS_DIR ${cfg.dstAssetsDir} does not exist or is not a directory`);
  }
  const realRoot = await fs.promises.realpath(cfg.dstAssetsDir);
  const result = await withConnection(
    cfg.dst,
    async (c) => {
      await c.query('BEGIN READ ONLY');
      try {
        await c.query(pinnedSettingsSql());
        // The cursor is read while the tree is walked, so the transaction is idle between fetches: a role's
        // idle_in_transaction_session_timeout must not end it; a lock must not hold it forever either.
        await c.query("SET LOCAL idle_in_transaction_session_timeout = 0; SET LOCAL lock_timeout = '10s'");
        return await walkAndMerge(c, cfg, columns, realRoot, o);
      } finally {
        await c.query('ROLLBACK').catch(() => {});
      }
    },
    { connectTimeoutMs: cfg.connectTimeoutMs },
  );
  const { merged, walkProblems, notUtf8 } = result;
  const out = await verifyColumns(cfg, columns, merged);
  const ms = {
    walk: Math.round(result.ms.walk),
    compare: Math.round(result.ms.compare),
    tree: Math.round(result.ms.tree),
    total: Math.round(performance.now() - start),
  };
  return {
    entries: {
      ...merged.entries,
      files: merged.entries.files + notUtf8.files,
      other: merged.entries.other + notUtf8.count - notUtf8.files,
      notUtf8: notUtf8.count,
    },
    notUtf8,
    walkProblems,
    columns: out,
    unreferenced: merged.unreferenced,
    ms,
  };
}

interface FileFacts {
  size: number;
  sha256: string;
  stat: fs.Stats;
}

/** One sampled file found on both sides: equal, or how it differs (naming a source that changed during the copy). */
function judgeSampled(p: string, a: FileFacts, b: FileFacts, changedSince?: number): SampleComparison {
  const problem =
    a.size !== b.size
      ? `size differs: source ${a.size} B, target ${b.size} B`
      : a.sha256 !== b.sha256
        ? `same size (${a.size} B) but different bytes: sha256 source ${a.sha256.slice(0, 16)}…, target ${b.sha256.slice(0, 16)}…`
        : undefined;
  if (!problem) return { path: p, size: a.size, sha256: a.sha256 };
  const changed = sourceChangedText(a.stat, b.stat, changedSince);
  return { path: p, problem: changed ? `${changed} (${problem})` : problem, sourceChanged: !!changed };
}

export interface SampleComparison {
  /** The source was modified after the mirror started: it changed during the copy. */
  sourceChanged?: boolean;
  path: string;
  problem?: string;
  /** True when the source side could not be read: reported, not a failure of the target. */
  notCompared?: boolean;
  /** The source file is there but could not be read (no permission, a path too long): a warning of the check. */
  sourceUnreadable?: boolean;
  /** Missing in both trees: a defect the source already has. */
  preexisting?: boolean;
  size?: number;
  sha256?: string;
}

async function fileFacts(root: string, rel: string, label: string): Promise<FileFacts | string> {
  const loc = await locateRel(rel, root, label);
  if (loc.status === 'escapes') return `resolves outside ${label} (not read)`;
  if (loc.status === 'missing' && !isAbsent(loc)) return loc.problem;
  if (loc.status !== 'found') return 'missing';
  if (!loc.stat.isFile()) return 'not a regular file';
  try {
    return { size: loc.stat.size, sha256: await sha256File(loc.real), stat: loc.stat };
  } catch (e) {
    // Found but not readable (a chmod-000 file, a path too long to open): said as the operator reads it.
    const problem = fsProblem(e, loc.real);
    if (problem) return problem;
    throw e;
  }
}

/**
 * Size and sha256 of each sampled file in source and target trees (bounded concurrency, streamed hashing), resolved
 * with the one path resolver. Paths the resolver refuses (outside the prefix, `..`) are skipped (the path-prefix
 * check reports them). A path missing on both sides is `preexisting` (a defect the source already has).
 */
export async function compareSampledFiles(
  srcRoot: string,
  dstRoot: string,
  prefix: string,
  items: string[],
  concurrency = 4,
  changedSince?: number,
): Promise<{ compared: SampleComparison[]; skipped: string[] }> {
  const skipped: string[] = [];
  const todo: Array<{ path: string; rel: string }> = [];
  for (const p of items) {
    const r = resolveStoredPath(p, prefix);
    if (!r.ok || p.endsWith('/')) skipped.push(p);
    else todo.push({ path: p, rel: r.rel });
  }
  const compared: SampleComparison[] = new Array(todo.length);
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const i = next++;
      const { path: p, rel } = todo[i];
      const [a, b] = await Promise.all([
        fileFacts(srcRoot, rel, 'SRC_ASSETS_DIR'),
        fileFacts(dstRoot, rel, 'DST_ASSETS_DIR'),
      ]);
      if (typeof a === 'string' && typeof b === 'string' && a === 'missing' && b === 'missing')
        compared[i] = { path: p, problem: 'missing in source and target', notCompared: true, preexisting: true };
      // A target entry that escapes the tree (or is not a regular file) fails whatever the source has.
      else if (typeof b === 'string' && b !== 'missing') compared[i] = { path: p, problem: `target file ${b}` };
      else if (typeof a === 'string')
        compared[i] = {
          path: p,
          problem: `source file ${a}: not compared`,
          notCompared: true,
          ...(a !== 'missing' ? { sourceUnreadable: true } : {}),
        };
      else if (typeof b === 'string') compared[i] = { path: p, problem: `target file ${b}` };
      else compared[i] = judgeSampled(p, a, b, changedSince);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
  return { compared, skipped };
}
