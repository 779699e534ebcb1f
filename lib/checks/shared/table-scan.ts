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
import type { Relation } from '../../core/config.ts';
import {
  decideProbes,
  FOLD_SAMPLE,
  foldedColumns,
  orphanAggregate,
  orphanKey,
  probeCatalogQuery,
  type OrphanProbe,
  type ProbeRow,
} from './orphan-fold.ts';

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
  /**
   * Relations whose orphans this scan may collect (./orphan-fold.ts): those whose child is this table or may be one of
   * its partitions. Each side's catalog decides which fold (decideProbes); a count-only scan bounded by countTimeoutMs
   * folds none (the row count keeps its bound).
   */
  orphans?: Relation[];
}

/** The orphans of one relation folded into a scan: the count of orphan rows, up to FOLD_SAMPLE keys, the index used. */
export interface FoldedOrphans {
  n: string;
  keys: string[];
  index: string;
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
  /** Folded orphan checks, by orphanKey (./orphan-fold.ts). */
  orphans?: Record<string, FoldedOrphans>;
  /** Candidate relations of this table that were not folded on this side, by orphanKey: why (the anti-join runs). */
  orphanSkips?: Record<string, string>;
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

/**
 * The fused query of `spec`, over the whole table or one block range, with the orphan aggregates of `probes` (pure).
 * Without probes: one aggregate query over `t`; with them, that query is wrapped so that each relation's orphan keys
 * are aggregated once and only their count and first keys leave the server.
 */
export function scanQuery(spec: ScanSpec, range?: BlockRange, probes: OrphanProbe[] = []): Query {
  const values: unknown[] = [];
  const cols: Array<[string, string]> = [['count(*)::text', 'n']];
  if (spec.checksum)
    cols.push([`coalesce(sum(${rowHashExpr(spec.checksum.columns, spec.checksum.method)}), 0)::text`, 's']);
  if (spec.prefixColumns.length) {
    values.push(prefixWithSlash(spec.prefix), DOTDOT_SEGMENT_RE);
    spec.prefixColumns.forEach((c, i) => {
      const v = `(t.${quoteIdent(c)})::text`;
      cols.push(
        [`count(t.${quoteIdent(c)})::text`, `p${i}_total`],
        [
          `count(*) FILTER (WHERE t.${quoteIdent(c)} IS NOT NULL AND (NOT starts_with(${v}, $1) OR ${v} ~ $2))::text`,
          `p${i}_bad`,
        ],
      );
    });
  }
  const where: string[] = [];
  // With probes the child is always read by a TID Range Scan (from block 0 when the range has no lower bound): the
  // scan then runs with enable_seqscan off (FOLDED_SCAN_SETTINGS) without the child ever going through an index.
  if (range?.lo !== undefined || probes.length) where.push(`t.ctid >= '(${Math.floor(range?.lo ?? 0)},0)'::tid`);
  if (range?.hi !== undefined) where.push(`t.ctid < '(${Math.floor(range.hi)},0)'::tid`);
  const from = `FROM ${quoteTable(spec.table)} t${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
  const inner = [...cols.map(([e, n]) => `${e} AS ${n}`), ...probes.map((p, i) => orphanAggregate(p, `o${i}`))];
  if (!probes.length) return { text: `SELECT ${inner.join(', ')} ${from}`, values };
  const outer = [...cols.map(([, n]) => `f.${n}`), ...probes.flatMap((_, i) => foldedColumns(`o${i}`))];
  return { text: `SELECT ${outer.join(', ')} FROM (SELECT ${inner.join(', ')} ${from}) f`, values };
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
/** A row of the fused query: text figures, and the `o<i>_k` key arrays of folded relations. */
type ScanRow = Record<string, string | string[]>;

function addRows(rows: ScanRow[], spec: ScanSpec): Pick<ScanResult, 'rows' | 'sum' | 'prefix'> {
  const sum = (k: string) => rows.reduce((a, r) => a + BigInt((r[k] as string | undefined) ?? '0'), 0n).toString();
  const prefix: Record<string, PrefixCounts> = {};
  spec.prefixColumns.forEach((c, i) => (prefix[c] = { total: sum(`p${i}_total`), bad: sum(`p${i}_bad`) }));
  return { rows: sum('n'), ...(spec.checksum ? { sum: sum('s') } : {}), prefix };
}

/** The folded relations' figures summed over the parts (counts added, keys concatenated up to FOLD_SAMPLE). */
function addOrphans(rows: ScanRow[], probes: OrphanProbe[]): Record<string, FoldedOrphans> {
  const out: Record<string, FoldedOrphans> = {};
  probes.forEach((p, i) => {
    const n = rows.reduce((a, r) => a + BigInt(r[`o${i}_n`] as string), 0n).toString();
    const keys = rows.flatMap((r) => r[`o${i}_k`] as string[]).slice(0, FOLD_SAMPLE);
    out[p.key] = { n, keys, index: p.index };
  });
  return out;
}

const QUERY_CANCELED = '57014';

/**
 * How much heavier a row of a scan with folded orphan probes is than a plain one, for the split size: measured on
 * PostgreSQL 15 (1,000,000 child rows, warm): a count 0.4-0.7 s, the same scan probing one parent index per row
 * 6.3-9.9 s; 8 is a conservative middle (the split only spreads the work over the server's cores).
 */
export const PROBE_WEIGHT = 8;

interface RelationInfo {
  kind: string;
  bytes: string;
  block: number;
  version: number;
  parallel_workers: number;
  worker_processes: number;
}

/** relationQuery's row (undefined: the table does not exist). */
async function relationInfo(pool: pg.Pool, t: TableRef): Promise<RelationInfo | undefined> {
  const rel = relationQuery(t);
  // pg_relation_size opens the table (AccessShareLock): a lock wait ends in lock_timeout, and withClient's error then
  // names the lock's holder, as for every other check.
  return (await withClient(pool, (c) => c.query<RelationInfo>(rel.text, rel.values as unknown[]))).rows[0];
}

/** A count-only scan bounded by `ms` on the server (statement_timeout): the row count's contract. */
async function boundedCount(pool: pg.Pool, spec: ScanSpec, ms: number): Promise<Omit<ScanResult, 'startedAt' | 'ms'>> {
  try {
    const q = scanQuery(spec);
    const row = await withPinned(pool, async (c) => (await c.query<Row>(q.text, q.values as unknown[])).rows[0], [
      ['statement_timeout', `${Math.max(1, Math.floor(ms))}ms`],
    ]);
    return { ...addRows([row], spec), parts: 1 };
  } catch (e) {
    if ((e as { code?: string }).code === QUERY_CANCELED) return { timedOut: true, prefix: {}, parts: 1 };
    throw e;
  }
}

/**
 * The settings of a scan with folded orphan probes (SET LOCAL, in its read-only transaction): no sequential scan, so a
 * parent small enough for the planner to prefer reading it whole (a 10-row lookup table: `Seq Scan on parent` per child
 * row, EXPLAIN on PostgreSQL 17) is probed by its unique index all the same; the child is read by a TID Range Scan
 * (scanQuery), which this setting does not touch. And no JIT: the planner prices each probe as an index scan, so even a
 * table of 100,000 rows passes jit_above_cost and every part of the scan paid for compiling, inlining and optimising
 * (1.6 s per query in EXPLAIN ANALYZE on PostgreSQL 15), work the same scan without probes (cost ~15,000 for 1,000,000
 * rows) never does.
 */
export const FOLDED_SCAN_SETTINGS: Array<[string, string]> = [
  ['enable_seqscan', 'off'],
  ['jit', 'off'],
];

/** Which of spec.orphans fold into this side's scan (its catalog; ./orphan-fold.ts decideProbes). */
async function planFold(
  pool: pg.Pool,
  spec: ScanSpec,
  version: number,
): Promise<{ probes: OrphanProbe[]; skipped: Record<string, string> }> {
  if (!spec.orphans?.length) return { probes: [], skipped: {} };
  if (version < 140000) {
    // No TID Range Scan before PostgreSQL 14: the child could not be read whole with enable_seqscan off.
    const why = 'PostgreSQL before 14 (no TID Range Scan to read the child with sequential scans off)';
    return { probes: [], skipped: Object.fromEntries(spec.orphans.map((r) => [orphanKey(r), why])) };
  }
  const q = probeCatalogQuery(spec.table, spec.orphans);
  const rows = await withClient(pool, async (c) => (await c.query<ProbeRow>(q.text, q.values)).rows);
  return decideProbes(spec.orphans, rows);
}

/** One query per block range, in parallel, each in its own pinned read-only transaction. */
function scanParts(
  pool: pg.Pool,
  spec: ScanSpec,
  ranges: Array<BlockRange | undefined>,
  probes: OrphanProbe[],
): Promise<ScanRow[]> {
  return Promise.all(
    ranges.map((r) => {
      const q = scanQuery(spec, r, probes);
      return withPinned(
        pool,
        async (c) => (await c.query<ScanRow>(q.text, q.values as unknown[])).rows[0],
        probes.length ? FOLDED_SCAN_SETTINGS : [],
      );
    }),
  );
}

/** SQLSTATE classes of a statement the server refused as written (42: syntax/undefined, 22: data exception). */
const refused = (e: unknown) => /^(42|22)/.test(String((e as { code?: unknown }).code ?? ''));
/** lock_not_available (55P03): a lock timeout, e.g. on a parent table a folded probe reads while another session holds it. */
const lockTimedOut = (e: unknown) => String((e as { code?: unknown }).code ?? '') === '55P03';

/**
 * Run the fused scan of `spec` on one side. Returns `missing` when the table does not exist; a count-only scan past
 * its countTimeoutMs returns `timedOut`. A checksum scan of a plain table larger than `split.splitBytes` on
 * PostgreSQL 14+ (PROBE_WEIGHT times smaller with folded orphan probes) runs as `split.parts` block ranges at once (each
 * from the pool). The relations of `spec.orphans`
 * that this side's catalog allows are folded in (`orphans`, the others in `orphanSkips`); should the server refuse the
 * folded statement (SQLSTATE class 42 or 22) or time out on a lock (55P03, e.g. on a parent), the scan is run again without them and every candidate is skipped with
 * the server's message, so the other checks keep their figures. Other errors of the server propagate.
 */
export async function runScan(pool: pg.Pool, spec: ScanSpec, split: SplitOptions): Promise<ScanResult> {
  const startedAt = Date.now();
  const t0 = performance.now();
  const done = (r: Omit<ScanResult, 'startedAt' | 'ms'>): ScanResult => ({
    ...r,
    startedAt,
    ms: Math.round(performance.now() - t0),
  });
  const info = await relationInfo(pool, spec.table);
  if (!info) return done({ missing: true, prefix: {}, parts: 0 });
  const countOnly = !spec.checksum && spec.prefixColumns.length === 0;
  if (countOnly && spec.countTimeoutMs !== undefined) return done(await boundedCount(pool, spec, spec.countTimeoutMs));
  const bytes = Number(info.bytes);
  const degree = splitDegree(split.parts, {
    parallelWorkers: info.parallel_workers,
    workerProcesses: info.worker_processes,
  });
  const fold = await planFold(pool, spec, info.version);
  // A folded scan probes a parent index per child row per relation: CPU-bound work several times a plain row's, so it
  // is split from a size PROBE_WEIGHT times smaller (its probes then use as many server cores as the split allows).
  const threshold = fold.probes.length ? split.splitBytes / PROBE_WEIGHT : split.splitBytes;
  const splittable = !!spec.checksum && info.kind === 'r' && info.version >= 140000 && degree > 1 && bytes > threshold;
  const ranges = splittable ? blockRanges(Math.ceil(bytes / info.block), degree) : [undefined];
  let rows: ScanRow[];
  try {
    rows = await scanParts(pool, spec, ranges, fold.probes);
  } catch (e) {
    // A folded scan also needs its parents: a lock on a parent must not fail this table's own counts and checksums
    // (issue 28's fold, operator-locks): run again without the probes, and the orphans family checks those relations
    // on their own (where a lock on the parent is then named). A lock on this table fails the second try as well.
    if (!fold.probes.length || !(refused(e) || lockTimedOut(e))) throw e;
    rows = await scanParts(pool, spec, ranges, []);
    const why = lockTimedOut(e) ? 'waited on a lock' : 'was refused';
    for (const p of fold.probes) fold.skipped[p.key] = `the folded scan ${why}: ${(e as Error).message}`;
    fold.probes = [];
  }
  const folded = spec.orphans?.length ? { orphans: addOrphans(rows, fold.probes), orphanSkips: fold.skipped } : {};
  return done({ ...addRows(rows, spec), ...folded, parts: ranges.length });
}
