/**
 * One scan per table per side: the row count, the content checksum and the path-prefix counts of every asset column of
 * the table, computed by ONE query (a single pass over the heap) instead of one query per check family.
 *
 * Large tables are split into ranges of physical blocks (`ctid` ranges, a TID Range Scan, PostgreSQL 14+) read on
 * several connections at once, so one table's checksum uses several server cores; the checksum is a sum, so the parts
 * add up to exactly the whole-table figures whatever the rows' physical places on either side. (data-diff/reladiff
 * split by key because they compare segments; here only the totals are compared, and the key-range bisection
 * (lib/checks/families/checksums/checksum.ts) narrows a mismatch down afterwards.) Each part runs in its own read-only transaction: a
 * table written to during the check may give parts from different snapshots (a target being rehearsed is not written
 * to; a source being written to makes any checksum differ anyway).
 */
import type pg from 'pg';
import { withClient } from '../../core/db.ts';
import { quoteIdent, quoteTable, type TableRef } from '../../core/ident.ts';
import type { Query } from '../../core/query.ts';
import { rowHashExpr, type ColumnShape, type HashMethod } from '../families/checksums/checksum.ts';
import { withPinned } from './deep-context.ts';
import { DOTDOT_SEGMENT_RE, prefixWithSlash } from '../families/assets/sql.ts';

/** What one fused scan of one table on one side computes. */
export interface ScanSpec {
  table: TableRef;
  /** Hash every row (count + sum of 64-bit row hashes) with these columns and method; absent: count only. */
  checksum?: { columns: ColumnShape[]; method: HashMethod };
  /** Asset columns of this table whose stored paths must start with `prefix` + '/' and have no `..` segment. */
  prefixColumns: string[];
  prefix: string;
  /**
   * Count-only scans (no checksum, no prefix column) keep the row-count contract: bounded on the server by this many
   * ms (SET LOCAL statement_timeout); a timeout gives `timedOut`. Scans that do more run to the end.
   */
  countTimeoutMs?: number;
}

export interface PrefixCounts {
  /** Non-NULL values. */
  total: string;
  /** Values outside `prefix/` or with a `..` segment. */
  bad: string;
}

/** The outcome of one fused scan; JSON-serialisable (numbers as decimal text: int8 and numeric sums exceed 2^53). */
export interface ScanResult {
  /** The table does not exist on this side. */
  missing?: boolean;
  /** A count-only scan exceeded countTimeoutMs. */
  timedOut?: boolean;
  rows?: string;
  /** Sum of the row hashes (checksum scans only). */
  sum?: string;
  prefix: Record<string, PrefixCounts>;
  /** Parts the scan was split into (1: not split). */
  parts: number;
  /** Epoch ms when the scan started, and its duration. */
  startedAt: number;
  ms: number;
}

/** A range of heap blocks [lo, hi) (undefined: unbounded), for a TID Range Scan. */
export interface BlockRange {
  lo?: number;
  hi?: number;
}

/** The fused query of `spec`, over the whole table or one block range (pure). */
export function scanQuery(spec: ScanSpec, range?: BlockRange): Query {
  const values: unknown[] = [];
  const cols: string[] = ['count(*)::text AS n'];
  if (spec.checksum)
    cols.push(`coalesce(sum(${rowHashExpr(spec.checksum.columns, spec.checksum.method)}), 0)::text AS s`);
  if (spec.prefixColumns.length) {
    values.push(prefixWithSlash(spec.prefix), DOTDOT_SEGMENT_RE);
    spec.prefixColumns.forEach((c, i) => {
      const v = `(t.${quoteIdent(c)})::text`;
      cols.push(
        `count(t.${quoteIdent(c)})::text AS p${i}_total`,
        `count(*) FILTER (WHERE t.${quoteIdent(c)} IS NOT NULL AND (NOT starts_with(${v}, $1) OR ${v} ~ $2))::text AS p${i}_bad`,
      );
    });
  }
  const where: string[] = [];
  if (range?.lo !== undefined) where.push(`t.ctid >= '(${Math.floor(range.lo)},0)'::tid`);
  if (range?.hi !== undefined) where.push(`t.ctid < '(${Math.floor(range.hi)},0)'::tid`);
  return {
    text: `SELECT ${cols.join(', ')} FROM ${quoteTable(spec.table)} t${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
    values,
  };
}

/** Split `blocks` heap blocks into `parts` ranges (the first unbounded below, the last above: rows never escape). */
export function blockRanges(blocks: number, parts: number): BlockRange[] {
  const n = Math.max(1, Math.min(parts, blocks));
  if (n === 1) return [{}];
  const out: BlockRange[] = [];
  for (let i = 0; i < n; i++) {
    const lo = i === 0 ? undefined : Math.floor((blocks * i) / n);
    const hi = i === n - 1 ? undefined : Math.floor((blocks * (i + 1)) / n);
    out.push({ lo, hi });
  }
  return out;
}

/**
 * How many block ranges a split checksum scan reads at once: CHECK_CONCURRENCY (`parts`, the pool's bound) capped by
 * what the server lets run in parallel — `max_parallel_workers` + 1 (the leader), itself bounded by
 * `max_worker_processes` — so a server its DBA limited to 2 parallel workers is read on 3 connections, one that allows
 * none is not split. CHECKSUM_SPLIT_MB still decides which tables are split (the size override). Pure.
 */
export function splitDegree(parts: number, server: { parallelWorkers?: number; workerProcesses?: number }): number {
  const workers = Math.min(server.parallelWorkers ?? Infinity, server.workerProcesses ?? Infinity);
  return Math.max(1, Math.min(parts, Number.isFinite(workers) ? workers + 1 : parts));
}

/** Kind, size and server version of a table, and the server's parallel-worker limits (no row: it does not exist). */
export function relationQuery(t: TableRef): Query {
  return {
    text: `SELECT c.relkind AS kind, pg_relation_size(c.oid)::text AS bytes, current_setting('block_size')::int AS block,
  current_setting('server_version_num')::int AS version,
  current_setting('max_parallel_workers')::int AS parallel_workers,
  current_setting('max_worker_processes')::int AS worker_processes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    values: [t.schema, t.name],
  };
}

export interface SplitOptions {
  /** Split tables larger than this many bytes (heap only). */
  splitBytes: number;
  /** Into at most this many parts (CHECK_CONCURRENCY; the server's limits cap it further: splitDegree). */
  parts: number;
}

type Row = Record<string, string>;

function addRows(rows: Row[], spec: ScanSpec): Pick<ScanResult, 'rows' | 'sum' | 'prefix'> {
  const sum = (k: string) => rows.reduce((a, r) => a + BigInt(r[k] ?? '0'), 0n).toString();
  const prefix: Record<string, PrefixCounts> = {};
  spec.prefixColumns.forEach((c, i) => (prefix[c] = { total: sum(`p${i}_total`), bad: sum(`p${i}_bad`) }));
  return { rows: sum('n'), ...(spec.checksum ? { sum: sum('s') } : {}), prefix };
}

const QUERY_CANCELED = '57014';

/**
 * Run the fused scan of `spec` on one side. Returns `missing` when the table does not exist; a count-only scan past
 * its countTimeoutMs returns `timedOut`. A checksum scan of a plain table larger than `split.splitBytes` on
 * PostgreSQL 14+ runs as `split.parts` block ranges at once (each from the pool). Errors of the server propagate.
 */
export async function runScan(pool: pg.Pool, spec: ScanSpec, split: SplitOptions): Promise<ScanResult> {
  const startedAt = Date.now();
  const t0 = performance.now();
  const done = (r: Omit<ScanResult, 'startedAt' | 'ms'>): ScanResult => ({
    ...r,
    startedAt,
    ms: Math.round(performance.now() - t0),
  });
  const rel = relationQuery(spec.table);
  // pg_relation_size opens the table (AccessShareLock): a lock wait ends in lock_timeout, and withClient's error then
  // names the lock's holder, as for every other check.
  const info = (
    await withClient(pool, (c) =>
      c.query<{
        kind: string;
        bytes: string;
        block: number;
        version: number;
        parallel_workers: number;
        worker_processes: number;
      }>(rel.text, rel.values as unknown[]),
    )
  ).rows[0];
  if (!info) return done({ missing: true, prefix: {}, parts: 0 });
  const countOnly = !spec.checksum && spec.prefixColumns.length === 0;
  if (countOnly && spec.countTimeoutMs !== undefined) {
    try {
      const extra: Array<[string, string]> = [
        ['statement_timeout', `${Math.max(1, Math.floor(spec.countTimeoutMs))}ms`],
      ];
      const q = scanQuery(spec);
      const row = await withPinned(
        pool,
        async (c) => (await c.query<Row>(q.text, q.values as unknown[])).rows[0],
        extra,
      );
      return done({ ...addRows([row], spec), parts: 1 });
    } catch (e) {
      if ((e as { code?: string }).code === QUERY_CANCELED) return done({ timedOut: true, prefix: {}, parts: 1 });
      throw e;
    }
  }
  const bytes = Number(info.bytes);
  const degree = splitDegree(split.parts, {
    parallelWorkers: info.parallel_workers,
    workerProcesses: info.worker_processes,
  });
  const splittable =
    !!spec.checksum && info.kind === 'r' && info.version >= 140000 && degree > 1 && bytes > split.splitBytes;
  const ranges = splittable ? blockRanges(Math.ceil(bytes / info.block), degree) : [undefined];
  const rows = await Promise.all(
    ranges.map((r) => {
      const q = scanQuery(spec, r);
      return withPinned(pool, async (c) => (await c.query<Row>(q.text, q.values as unknown[])).rows[0]);
    }),
  );
  return done({ ...addRows(rows, spec), parts: ranges.length });
}
