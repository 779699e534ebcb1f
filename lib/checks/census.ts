/**
 * Asset census: every path of every asset column against the whole target tree, both ways.
 *
 * The tree under DST_ASSETS_DIR is streamed with `walkTree` (lib/checks/asset-paths.ts: fs.opendir recursion that
 * sees every name, follows no symlink; a symlink is resolved once and counts only when it stays inside the tree) into
 * a temporary table of the target database, in batches of
 * `batchSize` rows: Node holds one batch, never the tree, and never the column's paths. The comparison is then two
 * hash anti-joins inside PostgreSQL, one scan of each asset column:
 * - dangling references: a censused path (under ASSETS_DB_PATH_PREFIX, no `.`/`..` segment) with no entry of the
 *   right kind (file / directory) in the tree;
 * - unreferenced files: a file that no `file` column names and that lies under no directory a `dir` column names.
 * Paths outside the prefix are the path-prefix check's job: counted here as "not censused", never followed.
 * Stored paths are normalised exactly as `resolveStoredPath` does (empty and `.` segments dropped, `..` refused).
 *
 * Every dangling candidate (up to DANGLING_VERIFY_MAX per column) is then looked up again with the one path resolver
 * (`locateAsset`, the sampled check's), so the census and the sampled check can never disagree about a path: each
 * gets a reason (missing, symlink escaping the tree, refused), a near twin when one exists (another Unicode
 * normalization, percent-decoded/encoded), and, with a local SRC_ASSETS_DIR, whether the source tree lacks it too
 * (pre-existing: a defect the source already has, not a migration failure).
 *
 * The temporary tables live in the census session only (ON COMMIT DROP, in one transaction that is never committed
 * with anything else), so the target's own schema is untouched.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import type { Config } from '../core/config.ts';
import { withConnection } from '../core/db.ts';
import { pinnedSettingsSql } from './deep-context.ts';
import { quoteIdent, quoteTable, type TableRef } from '../core/ident.ts';
import type { Query } from '../core/query.ts';
import { prefixWithSlash } from './sql/assets.ts';
import {
  findNearTwin,
  locateAsset,
  locateRel,
  resolveStoredPath,
  walkTree,
  type EntryType,
  type WalkProblem,
} from './asset-paths.ts';

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
  /** Up to 5 new dangling paths (not pre-existing). */
  examples: DanglingPath[];
  /** Up to 5 pre-existing dangling paths. */
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
 * Per-column census in one scan of the column: counts, up to 5 dangling examples, and (data-modifying CTE) the
 * column's relative paths recorded in census_ref for the unreferenced-files pass.
 */
export function columnCensusQuery(c: CensusColumn, prefix: string, examples = DANGLING_VERIFY_MAX): Query {
  const pfx = prefixWithSlash(prefix);
  const col = quoteIdent(c.column);
  return {
    text: `WITH v AS (
  SELECT ${col}::text AS raw FROM ${quoteTable(c.table)} WHERE ${col} IS NOT NULL
), n AS MATERIALIZED (
  SELECT raw, CASE WHEN left(raw, $1) = $2 AND raw !~ '(^|/)\\.\\.(/|$)'
    THEN CASE WHEN strpos(raw, '//') = 0 AND strpos(raw, '/./') = 0 AND right(raw, 1) <> '/' AND right(raw, 2) <> '/.'
      THEN nullif(substr(raw, $1 + 1), '')
      -- resolveStoredPath's rule (drop empty and '.' segments), paid only by paths with '//', '/./' or a trailing '/';
      -- a file path with a trailing '/' keeps it, so it matches nothing (the resolver refuses it)
      ELSE nullif(array_to_string(array_remove(array_remove(string_to_array(substr(raw, $1 + 1), '/'), ''), '.'), '/'), '')
        || CASE WHEN $3::"char" = 'f' AND right(raw, 1) = '/' THEN '/' ELSE '' END END END AS rel
  FROM v
), ins AS (
  INSERT INTO census_ref (path, kind) SELECT DISTINCT rel, $3::"char" FROM n WHERE rel IS NOT NULL
)
SELECT count(*)::int AS total, count(n.rel)::int AS censused,
  (count(*) FILTER (WHERE n.rel IS NOT NULL AND f.kind IS DISTINCT FROM $3::"char"))::int AS dangling,
  (array_agg(n.raw || E'\\t' || coalesce(f.kind::text, '-') ORDER BY n.raw)
     FILTER (WHERE n.rel IS NOT NULL AND f.kind IS DISTINCT FROM $3::"char"))[1:$4::int] AS examples
FROM n LEFT JOIN census_fs f ON f.path = n.rel`,
    values: [pfx.length, pfx, c.kind === 'file' ? 'f' : 'd', examples],
  };
}

/** Directories covered by a `dir` reference (the directory itself or one of its ancestors is referenced). */
export const COVERED_DIRS_SQL = `CREATE TEMP TABLE census_covered ON COMMIT DROP AS
SELECT d.path FROM census_fs d
WHERE d.kind = 'd' AND EXISTS (
  SELECT 1 FROM generate_series(1, array_length(string_to_array(d.path, '/'), 1)) AS i
  JOIN census_ref r ON r.kind = 'd' AND r.path = array_to_string((string_to_array(d.path, '/'))[1:i], '/')
)`;

export const UNREFERENCED_SQL = `SELECT count(*)::int AS n, (array_agg(f.path ORDER BY f.path))[1:5] AS examples
FROM census_fs f
WHERE f.kind = 'f'
  AND NOT EXISTS (SELECT 1 FROM census_ref r WHERE r.path = f.path AND r.kind = 'f')
  AND NOT EXISTS (SELECT 1 FROM census_covered c WHERE c.path = f.dir)`;

/** Kind of one tree entry; a symlink counts as its target only when the target is inside `root`. */
async function entryKind(root: string, rel: string, type: EntryType): Promise<EntryKind> {
  if (type === 'file') return 'f';
  if (type === 'directory') return 'd';
  if (type !== 'symlink') return 'o';
  try {
    const real = await fs.promises.realpath(path.join(root, rel));
    const inside = path.relative(root, real);
    if (inside.startsWith('..') || path.isAbsolute(inside)) return 'l';
    const st = await fs.promises.stat(real);
    return st.isFile() ? 'f' : st.isDirectory() ? 'd' : 'o';
  } catch {
    return 'l';
  }
}

/** Stream the tree into census_fs in batches; returns the entry counts and the directories that could not be read. */
async function loadTree(
  c: pg.ClientBase,
  root: string,
  batchSize: number,
): Promise<Pick<CensusResult, 'entries' | 'walkProblems'>> {
  const counts = { files: 0, dirs: 0, other: 0, notUtf8: 0 };
  const walkProblems: CensusResult['walkProblems'] = { count: 0, examples: [] };
  const realRoot = await fs.promises.realpath(root);
  let paths: string[] = [];
  let kinds: string[] = [];
  let dirs: string[] = [];
  const flush = async () => {
    if (!paths.length) return;
    await c.query(
      `INSERT INTO census_fs (path, kind, dir) SELECT p, k::"char", d FROM unnest($1::text[], $2::text[], $3::text[]) AS u(p, k, d)`,
      [paths, kinds, dirs],
    );
    paths = [];
    kinds = [];
    dirs = [];
  };
  const onProblem = (p: WalkProblem) => {
    walkProblems.count++;
    if (walkProblems.examples.length < 5) walkProblems.examples.push(p);
  };
  for await (const e of walkTree(realRoot, onProblem)) {
    // A name that is not UTF-8 cannot be stored in a (UTF-8) text column: counted, never matched.
    if (e.notUtf8) {
      counts.notUtf8++;
      continue;
    }
    const kind = await entryKind(realRoot, e.rel, e.type);
    if (kind === 'f') counts.files++;
    else if (kind === 'd') counts.dirs++;
    else counts.other++;
    const slash = e.rel.lastIndexOf('/');
    paths.push(e.rel);
    kinds.push(kind);
    dirs.push(slash < 0 ? '' : e.rel.slice(0, slash));
    if (paths.length >= batchSize) await flush();
  }
  await flush();
  return { entries: counts, walkProblems };
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

/** Run the census of `columns` against the tree under cfg.dstAssetsDir. */
export async function runCensus(
  cfg: Config,
  columns: CensusColumn[],
  o: { batchSize?: number } = {},
): Promise<CensusResult> {
  if (!fs.existsSync(cfg.dstAssetsDir) || !fs.statSync(cfg.dstAssetsDir).isDirectory()) {
    throw new Error(`DST_ASSETS_DIR ${cfg.dstAssetsDir} does not exist or is not a directory`);
  }
  return withConnection(
    cfg.dst,
    async (c) => {
      await c.query('BEGIN');
      try {
        await c.query(pinnedSettingsSql());
        await c.query(
          `CREATE TEMP TABLE census_fs (path text COLLATE "C" NOT NULL, kind "char" NOT NULL, dir text COLLATE "C" NOT NULL) ON COMMIT DROP`,
        );
        await c.query(
          `CREATE TEMP TABLE census_ref (path text COLLATE "C" NOT NULL, kind "char" NOT NULL) ON COMMIT DROP`,
        );
        const t0 = performance.now();
        const { entries, walkProblems } = await loadTree(c, cfg.dstAssetsDir, o.batchSize ?? 5000);
        await c.query('CREATE INDEX ON census_fs (path); ANALYZE census_fs');
        const t1 = performance.now();
        const result: CensusResult = {
          entries,
          walkProblems,
          columns: new Map(),
          unreferenced: { count: 0, examples: [] },
          ms: { walk: Math.round(t1 - t0), compare: 0 },
        };
        for (const col of columns) {
          const q = columnCensusQuery(col, cfg.assetsDbPathPrefix);
          const r = (
            await c.query<{ total: number; censused: number; dangling: number; examples: string[] | null }>(
              q.text,
              q.values,
            )
          ).rows[0];
          const candidates = (r.examples ?? []).map((x) => {
            const tab = x.lastIndexOf('\t');
            return { path: x.slice(0, tab), found: KIND_TEXT[x.slice(tab + 1)] ?? x.slice(tab + 1) };
          });
          const srcRoot = cfg.srcAssetsDir && !cfg.srcAssetsRemote ? cfg.srcAssetsDir : undefined;
          const verified = await verifyDangling(candidates, col.kind, {
            prefix: cfg.assetsDbPathPrefix,
            dstRoot: cfg.dstAssetsDir,
            srcRoot,
          });
          const unverified = Math.max(0, r.dangling - candidates.length);
          const preexisting = verified.filter((d) => d.preexisting);
          result.columns.set(col.display, {
            total: r.total,
            censused: r.censused,
            notCensused: r.total - r.censused,
            dangling: verified.length + unverified,
            preexisting: preexisting.length,
            unverified,
            sourceCompared: !!srcRoot,
            examples: verified.filter((d) => !d.preexisting).slice(0, 5),
            preexistingExamples: preexisting.slice(0, 5),
          });
        }
        await c.query('CREATE INDEX ON census_ref (path); ANALYZE census_ref');
        await c.query(COVERED_DIRS_SQL);
        const u = (await c.query<{ n: number; examples: string[] | null }>(UNREFERENCED_SQL)).rows[0];
        result.unreferenced = { count: u.n, examples: u.examples ?? [] };
        result.ms.compare = Math.round(performance.now() - t1);
        return result;
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
  const h = createHash('sha256');
  await pipeline(fs.createReadStream(loc.real), h);
  return { size: loc.stat.size, sha256: h.digest('hex') };
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
