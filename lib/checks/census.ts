/**
 * Asset census: every path of every asset column against the whole target tree, both ways.
 *
 * The tree under DST_ASSETS_DIR is streamed with fast-glob (no symlink is followed; a symlink is resolved once and
 * counts only when it stays inside the tree) into a temporary table of the target database, in batches of
 * `batchSize` rows: Node holds one batch, never the tree, and never the column's paths. The comparison is then two
 * hash anti-joins inside PostgreSQL, one scan of each asset column:
 * - dangling references: a censused path (under ASSETS_DB_PATH_PREFIX, no `.`/`..` segment) with no entry of the
 *   right kind (file / directory) in the tree;
 * - unreferenced files: a file that no `file` column names and that lies under no directory a `dir` column names.
 * Paths outside the prefix are the path-prefix check's job: counted here as "not censused", never followed.
 *
 * The temporary tables live in the census session only (ON COMMIT DROP, in one transaction that is never committed
 * with anything else), so the target's own schema is untouched.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import fg from 'fast-glob';
import type pg from 'pg';
import type { Config } from '../core/config.ts';
import { withConnection } from '../core/db.ts';
import { pinnedSettingsSql } from './deep-context.ts';
import { quoteIdent, quoteTable, type TableRef } from '../core/ident.ts';
import type { Query } from '../core/query.ts';
import { prefixWithSlash } from './sql/assets.ts';

export interface CensusColumn {
  display: string;
  table: TableRef;
  column: string;
  kind: 'file' | 'dir';
}

export interface ColumnCensus {
  /** Non-null values. */
  total: number;
  /** Values under the prefix, without `.`/`..` segments: the ones looked up in the tree. */
  censused: number;
  notCensused: number;
  dangling: number;
  /** Up to 5: the DB path and what the tree has there. */
  examples: Array<{ path: string; found: string }>;
}

export interface CensusResult {
  entries: { files: number; dirs: number; other: number };
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
export function columnCensusQuery(c: CensusColumn, prefix: string): Query {
  const pfx = prefixWithSlash(prefix);
  const col = quoteIdent(c.column);
  return {
    text: `WITH v AS (
  SELECT ${col}::text AS raw FROM ${quoteTable(c.table)} WHERE ${col} IS NOT NULL
), n AS MATERIALIZED (
  SELECT raw, CASE WHEN left(raw, $1) = $2 AND raw !~ '(^|/)\\.\\.?(/|$)'
    THEN CASE WHEN strpos(raw, '//') = 0 AND right(raw, 1) <> '/' THEN nullif(substr(raw, $1 + 1), '')
      -- only paths with repeated or trailing slashes pay for the regular expression (about a third of the scan)
      ELSE nullif(rtrim(regexp_replace(substr(raw, $1 + 1), '/+', '/', 'g'), '/'), '') END END AS rel
  FROM v
), ins AS (
  INSERT INTO census_ref (path, kind) SELECT DISTINCT rel, $3::"char" FROM n WHERE rel IS NOT NULL
)
SELECT count(*)::int AS total, count(n.rel)::int AS censused,
  (count(*) FILTER (WHERE n.rel IS NOT NULL AND f.kind IS DISTINCT FROM $3::"char"))::int AS dangling,
  (array_agg(n.raw || E'\\t' || coalesce(f.kind::text, '-') ORDER BY n.raw)
     FILTER (WHERE n.rel IS NOT NULL AND f.kind IS DISTINCT FROM $3::"char"))[1:5] AS examples
FROM n LEFT JOIN census_fs f ON f.path = n.rel`,
    values: [pfx.length, pfx, c.kind === 'file' ? 'f' : 'd'],
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
async function entryKind(root: string, rel: string, dirent: fs.Dirent): Promise<EntryKind> {
  if (dirent.isFile()) return 'f';
  if (dirent.isDirectory()) return 'd';
  if (!dirent.isSymbolicLink()) return 'o';
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

/** Stream the tree into census_fs in batches; returns the entry counts. */
async function loadTree(c: pg.ClientBase, root: string, batchSize: number): Promise<CensusResult['entries']> {
  const counts = { files: 0, dirs: 0, other: 0 };
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
  const stream = fg.stream('**', {
    cwd: realRoot,
    dot: true,
    onlyFiles: false,
    followSymbolicLinks: false,
    objectMode: true,
    suppressErrors: true,
    unique: false,
  });
  for await (const e of stream as AsyncIterable<{ path: string; dirent: fs.Dirent }>) {
    const kind = await entryKind(realRoot, e.path, e.dirent);
    if (kind === 'f') counts.files++;
    else if (kind === 'd') counts.dirs++;
    else counts.other++;
    const rel = e.path.replace(/\/+$/, '');
    const slash = rel.lastIndexOf('/');
    paths.push(rel);
    kinds.push(kind);
    dirs.push(slash < 0 ? '' : rel.slice(0, slash));
    if (paths.length >= batchSize) await flush();
  }
  await flush();
  return counts;
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
      // The tree is walked OUTSIDE any transaction (each batch insert commits into a session temp table): a role's
      // idle_in_transaction_session_timeout cannot end the census while the file system is read, and no snapshot is
      // held open for the length of the walk. Only the comparison runs in one transaction.
      await c.query(
        `CREATE TEMP TABLE census_fs (path text COLLATE "C" NOT NULL, kind "char" NOT NULL, dir text COLLATE "C" NOT NULL)`,
      );
      await c.query(`CREATE TEMP TABLE census_ref (path text COLLATE "C" NOT NULL, kind "char" NOT NULL)`);
      const t0 = performance.now();
      const entries = await loadTree(c, cfg.dstAssetsDir, o.batchSize ?? 5000);
      await c.query('BEGIN');
      try {
        await c.query(pinnedSettingsSql());
        await c.query("SET LOCAL lock_timeout = '10s'");
        await c.query('CREATE INDEX ON census_fs (path); ANALYZE census_fs');
        const t1 = performance.now();
        const result: CensusResult = {
          entries,
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
          result.columns.set(col.display, {
            total: r.total,
            censused: r.censused,
            notCensused: r.total - r.censused,
            dangling: r.dangling,
            examples: (r.examples ?? []).map((x) => {
              const tab = x.lastIndexOf('\t');
              return { path: x.slice(0, tab), found: KIND_TEXT[x.slice(tab + 1)] ?? x.slice(tab + 1) };
            }),
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
  size?: number;
  sha256?: string;
}

async function fileFacts(root: string, rel: string): Promise<{ size: number; sha256: string } | string> {
  const realRoot = await fs.promises.realpath(root);
  let real: string;
  try {
    real = await fs.promises.realpath(path.join(realRoot, rel));
  } catch {
    return 'missing';
  }
  const inside = path.relative(realRoot, real);
  if (inside.startsWith('..') || path.isAbsolute(inside)) return 'resolves outside the assets dir (not read)';
  const st = await fs.promises.stat(real);
  if (!st.isFile()) return 'not a regular file';
  const h = createHash('sha256');
  await pipeline(fs.createReadStream(real), h);
  return { size: st.size, sha256: h.digest('hex') };
}

/**
 * Size and sha256 of each sampled file in source and target trees (bounded concurrency, streamed hashing).
 * Paths outside the prefix or with `.`/`..` segments are skipped (the path-prefix check reports them).
 */
export async function compareSampledFiles(
  srcRoot: string,
  dstRoot: string,
  prefix: string,
  items: string[],
  concurrency = 4,
): Promise<{ compared: SampleComparison[]; skipped: string[] }> {
  const pfx = prefixWithSlash(prefix);
  const skipped: string[] = [];
  const todo: string[] = [];
  for (const p of items) {
    if (!p.startsWith(pfx) || /(^|\/)\.\.?(\/|$)/.test(p.slice(pfx.length))) skipped.push(p);
    else todo.push(p);
  }
  const compared: SampleComparison[] = new Array(todo.length);
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const i = next++;
      const p = todo[i];
      const rel = p.slice(pfx.length);
      const [a, b] = await Promise.all([fileFacts(srcRoot, rel), fileFacts(dstRoot, rel)]);
      if (typeof a === 'string')
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
