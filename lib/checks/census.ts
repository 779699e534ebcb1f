/**
 * Asset census: every path of every asset column against the whole target tree, both ways, without writing anything
 * anywhere (no temporary table: it runs on a read-only target or a hot standby).
 *
 * A sorted merge, as `sort | comm` does it: PostgreSQL streams the censused paths of every asset column (one scan of
 * each column, normalised relative to ASSETS_DB_PATH_PREFIX, sorted by their bytes, read through a cursor in batches)
 * and the tree under DST_ASSETS_DIR is walked in the same byte order (each directory's entries sorted, a directory's
 * subtree visited at the position of "name/"), so Node holds one batch and one directory listing, never the tree nor
 * a column. No symlink is followed; a symlink counts as its target only when that stays inside the tree.
 * - dangling references: a censused path (under the prefix, no `.`/`..` segment) with no entry of the right kind
 *   (file / directory) in the tree;
 * - unreferenced files: a file that no `file` column names and that lies under no directory a `dir` column names.
 * Paths outside the prefix are the path-prefix check's job: counted here as "not censused", never followed.
 */
import fs from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import type { Config } from '../core/config.ts';
import { withConnection } from '../core/db.ts';
import { pinnedSettingsSql } from './deep-context.ts';
import { quoteIdent, quoteTable, type TableRef } from '../core/ident.ts';
import type { Query } from '../core/query.ts';
import { prefixWithSlash } from './sql/assets.ts';
import { findNearTwin, locateAsset, locateRel, resolveStoredPath, type WalkProblem } from './asset-paths.ts';
import { isInside } from '../core/paths.ts';
import { sha256File } from '../core/files.ts';

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
  /** Directories the walk could not open or read (their contents are not in the census). */
  walkProblems: { count: number; examples: WalkProblem[] };
  columns: Map<string, ColumnCensus>;
  unreferenced: { count: number; examples: string[] };
  ms: { walk: number; compare: number };
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
 * resolveStoredPath (lib/checks/asset-paths.ts) does — empty and `.` segments dropped, a `..` segment not censused —
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
 * last): the database side of the merge. Grouping first sends each path once, however many rows repeat it.
 */
export function censusStreamQuery(columns: CensusColumn[], prefix: string): Query {
  const pfx = prefixWithSlash(prefix);
  const parts = columns.map((c, i) => {
    const col = quoteIdent(c.column);
    return `SELECT ${i} AS c, ${relExpr(c.kind)} AS rel, raw FROM (SELECT ${col}::text AS raw FROM ${quoteTable(c.table)} WHERE ${col} IS NOT NULL) v${i}`;
  });
  return {
    text: `SELECT c, rel, count(*)::int AS n, min(raw COLLATE "C") AS raw FROM (\n${parts.join('\nUNION ALL\n')}\n) x GROUP BY c, rel ORDER BY rel COLLATE "C" NULLS LAST, c`,
    values: [pfx.length, pfx],
  };
}

/** One column's stream query (the census of a single column). */
export function columnCensusQuery(c: CensusColumn, prefix: string): Query {
  return censusStreamQuery([c], prefix);
}

/** Byte order of UTF-8 strings (PostgreSQL's COLLATE "C"); UTF-16 order agrees except around surrogates. */
export function byteCompare(a: string, b: string): number {
  if (/[\uD800-\uDFFF]/.test(a) || /[\uD800-\uDFFF]/.test(b)) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Kind of one tree entry; a symlink counts as its target only when the target is inside `root`. */
async function entryKind(root: string, rel: string, dirent: fs.Dirent): Promise<EntryKind> {
  if (dirent.isFile()) return 'f';
  if (dirent.isDirectory()) return 'd';
  if (!dirent.isSymbolicLink()) return 'o';
  try {
    const real = await fs.promises.realpath(path.join(root, rel));
    if (!isInside(root, real)) return 'l';
    const st = await fs.promises.stat(real);
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

/**
 * The tree under `root` in byte order of the relative paths: each directory's entries sorted, and a directory's own
 * entry at "name" but its subtree at "name/" (so `a.txt` comes between `a` and `a/x`). Symlinks are not followed.
 * Memory: one directory listing per level of the current path.
 */
export async function* sortedTree(
  root: string,
  rel = '',
  onProblem: (p: WalkProblem) => void = () => {},
): AsyncGenerator<TreeEntry> {
  let dirents: fs.Dirent[];
  try {
    dirents = await fs.promises.readdir(rel ? path.join(root, rel) : root, { withFileTypes: true });
  } catch (e) {
    // EACCES, ENAMETOOLONG (deeper than PATH_MAX), …: reported, the walk goes on.
    onProblem({ rel: rel || '.', code: (e as NodeJS.ErrnoException).code ?? 'error' });
    return;
  }
  const items: Array<{ key: string; name: string; descend: boolean; dirent: fs.Dirent }> = [];
  for (const d of dirents) {
    items.push({ key: d.name, name: d.name, descend: false, dirent: d });
    if (d.isDirectory()) items.push({ key: `${d.name}/`, name: d.name, descend: true, dirent: d });
  }
  items.sort((a, b) => byteCompare(a.key, b.key));
  for (const it of items) {
    const p = rel ? `${rel}/${it.name}` : it.name;
    if (it.descend) yield* sortedTree(root, p, onProblem);
    else yield { path: p, kind: await entryKind(root, p, it.dirent) };
  }
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

/** Merge the sorted stored paths with the sorted tree (pure apart from the two iterators). */
export async function mergeCensus(
  columns: CensusColumn[],
  db: AsyncIterable<DbPath>,
  tree: AsyncIterable<TreeEntry>,
  maxExamples = DANGLING_VERIFY_MAX,
): Promise<MergedCensus> {
  const entries = { files: 0, dirs: 0, other: 0 };
  const stats = columns.map(() => ({
    total: 0,
    censused: 0,
    dangling: 0,
    examples: [] as Array<{ raw: string; found: string }>,
  }));
  const unreferenced = { count: 0, examples: [] as string[] };
  const dbIt = db[Symbol.asyncIterator]();
  const treeIt = tree[Symbol.asyncIterator]();
  let d = await dbIt.next();
  let t = await treeIt.next();
  // Directories named by a `dir` column whose subtree the merge has not passed yet.
  let covering: string[] = [];
  const covered = (p: string) => {
    covering = covering.filter((r) => p.startsWith(`${r}/`) || byteCompare(p, `${r}/`) < 0);
    return covering.some((r) => p.startsWith(`${r}/`));
  };
  // The stream is in byte order of the normalised path: the first candidates are kept, each looked up again later.
  const example = (list: Array<{ raw: string; found: string }>, x: { raw: string; found: string }) => {
    if (list.length < maxExamples) list.push(x);
  };
  while (!d.done || !t.done) {
    const dbKey = !d.done && d.value.rel !== null ? d.value.rel : undefined;
    if (!d.done && d.value.rel === null) {
      // Paths not censused come last: counted only.
      stats[d.value.c].total += d.value.n ?? 1;
      d = await dbIt.next();
      continue;
    }
    const treeKey = t.done ? undefined : t.value.path;
    const k =
      dbKey === undefined
        ? treeKey!
        : treeKey === undefined
          ? dbKey
          : byteCompare(dbKey, treeKey) <= 0
            ? dbKey
            : treeKey;
    const here = treeKey !== undefined && treeKey === k ? t.value! : undefined;
    let fileRef = false;
    while (!d.done && d.value.rel === k) {
      const col = columns[d.value.c];
      const s = stats[d.value.c];
      const n = d.value.n ?? 1;
      s.total += n;
      s.censused += n;
      const want = col.kind === 'file' ? 'f' : 'd';
      if (here?.kind !== want) {
        s.dangling += n;
        example(s.examples, { raw: d.value.raw, found: here?.kind ?? '-' });
      }
      if (col.kind === 'file') fileRef = true;
      else if (!covering.includes(k)) covering.push(k);
      d = await dbIt.next();
    }
    if (here) {
      if (here.kind === 'f') entries.files++;
      else if (here.kind === 'd') entries.dirs++;
      else entries.other++;
      if (here.kind === 'f' && !fileRef && !covered(k)) {
        unreferenced.count++;
        if (unreferenced.examples.length < maxExamples) unreferenced.examples.push(k);
      }
      t = await treeIt.next();
    }
  }
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
  return { entries, columns: out, unreferenced };
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
      out.push({ path: cand.path, found: `nothing: ${loc.reason}` });
      continue;
    }
    if (loc.status === 'escapes') {
      out.push({ path: cand.path, found: `${loc.problem}` });
      continue;
    }
    const d: DanglingPath = { path: cand.path, found: cand.found };
    const twin = await findNearTwin(loc.rel, o.dstRoot);
    if (twin) d.twin = `a file whose name ${twin.how} exists: ${twin.rel}`;
    else if (o.srcRoot) {
      const src = await locateAsset(cand.path, kind, o.prefix, o.srcRoot, 'SRC_ASSETS_DIR').catch(() => undefined);
      if (src?.status === 'missing' && !(await findNearTwin(src.rel, o.srcRoot))) d.preexisting = true;
    }
    out.push(d);
  }
  return out;
}

/** Rows of a query through a cursor, `batch` at a time (the connection must be inside a transaction). */
async function* cursorRows<T>(c: pg.ClientBase, q: Query, batch: number): AsyncGenerator<T> {
  await c.query(`DECLARE census_paths NO SCROLL CURSOR FOR ${q.text}`, q.values as unknown[]);
  for (;;) {
    const r = await c.query(`FETCH ${batch} FROM census_paths`);
    for (const row of r.rows) yield row as T;
    if (r.rows.length < batch) return;
  }
}

/**
 * Run the census of `columns` against the tree under cfg.dstAssetsDir: one read-only transaction on the target, no
 * object created. `ms.walk` is the time until the merge ended (the walk and the stream overlap), `ms.compare` the time
 * PostgreSQL took to deliver the first batch (its scans and sort).
 */
export async function runCensus(
  cfg: Config,
  columns: CensusColumn[],
  o: { batchSize?: number; examples?: number } = {},
): Promise<CensusResult> {
  if (!fs.existsSync(cfg.dstAssetsDir) || !fs.statSync(cfg.dstAssetsDir).isDirectory()) {
    throw new Error(`DST_ASSETS_DIR ${cfg.dstAssetsDir} does not exist or is not a directory`);
  }
  const realRoot = await fs.promises.realpath(cfg.dstAssetsDir);
  return withConnection(
    cfg.dst,
    async (c) => {
      await c.query('BEGIN READ ONLY');
      try {
        await c.query(pinnedSettingsSql());
        // The cursor is read while the tree is walked, so the transaction is idle between fetches: a role's
        // idle_in_transaction_session_timeout must not end it; a lock must not hold it forever either.
        await c.query("SET LOCAL idle_in_transaction_session_timeout = 0; SET LOCAL lock_timeout = '10s'");
        const t0 = performance.now();
        let first: number | undefined;
        const q = censusStreamQuery(columns, cfg.assetsDbPathPrefix);
        const rows = cursorRows<DbPath>(c, q, o.batchSize ?? 10_000);
        const db = (async function* () {
          for await (const r of rows) {
            first ??= performance.now();
            yield r;
          }
        })();
        const walkProblems: CensusResult['walkProblems'] = { count: 0, examples: [] };
        const merged = await mergeCensus(
          columns,
          db,
          sortedTree(realRoot, '', (p) => {
            walkProblems.count++;
            if (walkProblems.examples.length < 5) walkProblems.examples.push(p);
          }),
          Math.max(DANGLING_VERIFY_MAX, o.examples ?? 0),
        );
        const end = performance.now();
        // Every dangling candidate is looked up again with the sampled check's resolver.
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
        return {
          entries: { ...merged.entries, notUtf8: 0 },
          walkProblems,
          columns: out,
          unreferenced: merged.unreferenced,
          ms: { walk: Math.round(end - t0), compare: Math.round((first ?? end) - t0) },
        };
      } finally {
        await c.query('ROLLBACK').catch(() => {});
      }
    },
    { connectTimeoutMs: cfg.connectTimeoutMs },
  );
}

export interface SampleComparison {
  path: string;
  problem?: string;
  /** True when the source side could not be read: reported, not a failure of the target. */
  notCompared?: boolean;
  /** Missing in both trees: a defect the source already has. */
  preexisting?: boolean;
  size?: number;
  sha256?: string;
}

async function fileFacts(root: string, rel: string, label: string): Promise<{ size: number; sha256: string } | string> {
  const loc = await locateRel(rel, root, label);
  if (loc.status === 'escapes') return `resolves outside ${label} (not read)`;
  if (loc.status !== 'found') return 'missing';
  if (!loc.stat.isFile()) return 'not a regular file';
  return { size: loc.stat.size, sha256: await sha256File(loc.real) };
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
        compared[i] = { path: p, problem: `source file ${a}: not compared`, notCompared: true };
      else if (typeof b === 'string') compared[i] = { path: p, problem: `target file ${b}` };
      else if (a.size !== b.size)
        compared[i] = { path: p, problem: `size differs: source ${a.size} B, target ${b.size} B` };
      else if (a.sha256 !== b.sha256)
        compared[i] = {
          path: p,
          problem: `same size (${a.size} B) but different bytes: sha256 source ${a.sha256.slice(0, 16)}…, target ${b.sha256.slice(0, 16)}…`,
        };
      else compared[i] = { path: p, size: a.size, sha256: a.sha256 };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
  return { compared, skipped };
}
