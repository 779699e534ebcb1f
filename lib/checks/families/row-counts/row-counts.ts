/**
 * Row counts: count(*) bounded by a server-side statement_timeout, the estimate it falls back to, and the verdict.
 */
import type pg from 'pg';
import { withClient } from '../../../core/db.ts';
import { displayTable, type TableRef } from '../../../core/ident.ts';
import { notChecked } from '../../shared/verdict.ts';
import { estimateQuery, rowCountQuery, statementTimeoutQuery, tableKindQuery } from '../../shared/sql.ts';

export type Count =
  | { kind: 'exact'; n: number; ms: number }
  /**
   * The count did not finish within ROWCOUNT_TIMEOUT_MS (`cause` 'timeout'), or waited that long for a lock ('lock');
   * `n` is pg_class.reltuples (-1 = unknown, never analyzed).
   */
  | { kind: 'estimate'; n: number; ms: number; cause?: 'timeout' | 'lock'; freshness?: Freshness }
  | { kind: 'missing'; ms: number };

/**
 * Whether an estimate is still evidence (pg_stat_user_tables, over the table or a partitioned parent's leaves):
 * rows changed since the last ANALYZE, relations never analyzed, relations without statistics, the latest ANALYZE.
 * Absent (an older caller): unknown, so no evidence.
 */
export interface Freshness {
  modsSinceAnalyze: number;
  neverAnalyzed: number;
  noStats: number;
  analyzedAt: string | null;
}

/**
 * Why an estimate is not evidence (it is only when the table was analyzed after its last change), or undefined when
 * it is. Pure.
 */
export function staleness(f: Freshness | undefined): string | undefined {
  if (!f) return 'its freshness is unknown';
  if (f.noStats > 0) return 'the server has no statistics for it (pg_stat_user_tables)';
  if (f.neverAnalyzed > 0) return 'it was never analyzed';
  if (f.modsSinceAnalyze > 0)
    return `${f.modsSinceAnalyze} rows changed since its last ANALYZE${f.analyzedAt ? ` (${f.analyzedAt})` : ''}`;
  return undefined;
}

interface EstimateRow {
  n: number | null;
  mods: string | null;
  unanalyzed: number | null;
  nostats: number | null;
  analyzed_at: string | null;
}

/** The planner's estimate of `table` and its freshness (estimateQuery), on any client or pool. */
export async function readEstimate(
  q: Pick<pg.Pool, 'query'>,
  table: TableRef,
): Promise<{ n: number; freshness?: Freshness }> {
  const est = estimateQuery(table);
  const r = (await q.query<EstimateRow>(est.text, est.values as unknown[])).rows[0];
  const n = r?.n;
  return {
    n: n === null || n === undefined || n < 0 ? -1 : Math.round(n),
    ...(r
      ? {
          freshness: {
            modsSinceAnalyze: Number(r.mods ?? 0),
            neverAnalyzed: r.unanalyzed ?? 0,
            noStats: r.nostats ?? 0,
            analyzedAt: r.analyzed_at,
          },
        }
      : {}),
  };
}

const QUERY_CANCELED = '57014';

/**
 * Count the rows of `table` with count(*) under SET LOCAL statement_timeout (ROWCOUNT_TIMEOUT_MS) and lock_timeout
 * (90% of it); on either timeout, the planner's estimate, marked with its cause.
 */
export async function countRows(pool: pg.Pool, table: TableRef, timeoutMs: number): Promise<Count> {
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  return withClient(pool, async (c) => {
    const lookup = tableKindQuery(table);
    const kind = await c.query(lookup.text, lookup.values as unknown[]);
    if (kind.rowCount === 0) return { kind: 'missing', ms: ms() };
    await c.query('BEGIN READ ONLY');
    try {
      const timeout = statementTimeoutQuery(timeoutMs);
      await c.query(timeout.text, timeout.values as unknown[]);
      // A little shorter than the statement timeout, so a count stuck behind a lock says so (55P03).
      const lock = statementTimeoutQuery(Math.max(1, Math.floor(timeoutMs * 0.9)));
      await c.query(lock.text.replace("'statement_timeout'", "'lock_timeout'"), lock.values as unknown[]);
      const r = await c.query<{ n: string }>(rowCountQuery(table).text);
      await c.query('COMMIT');
      return { kind: 'exact', n: Number(r.rows[0].n), ms: ms() };
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      // A lock wait ends as the lock error (naming the holder): an estimate because the table is locked verifies
      // nothing, so it is never turned into one.
      if ((e as { code?: string }).code !== QUERY_CANCELED) throw e;
    }
    return { kind: 'estimate', ...(await readEstimate(c, table)), ms: ms(), cause: 'timeout' };
  });
}

/**
 * A side's Count from its fused table scan (lib/checks/shared/table-scan.ts): exact when the scan read the table; `missing`
 * when the table does not exist; when a count-only scan exceeded ROWCOUNT_TIMEOUT_MS, the planner's estimate.
 * `ms` is the scan's own duration (the checks that share it do not add to it).
 */
export async function countFromScan(
  pool: pg.Pool,
  table: TableRef,
  scan: () => Promise<{ missing?: boolean; timedOut?: boolean; rows?: string; ms: number }>,
): Promise<Count> {
  const r = await scan();
  if (r.missing) return { kind: 'missing', ms: r.ms };
  if (!r.timedOut) return { kind: 'exact', n: Number(r.rows), ms: r.ms };
  return { kind: 'estimate', ...(await readEstimate(pool, table)), ms: r.ms };
}

/** One evidence line for a side's count: exact, estimate (count(*) exceeded ROWCOUNT_TIMEOUT_MS), missing, or not configured. */
export function describeCount(side: string, c: Count | undefined): string {
  if (!c) return `${side}: not configured`;
  if (c.kind === 'missing') return `${side}: table missing (${c.ms} ms)`;
  if (c.kind === 'exact') return `${side}: ${c.n} rows, exact (${c.ms} ms)`;
  const why =
    c.cause === 'lock'
      ? 'count(*) waited for a lock longer than ROWCOUNT_TIMEOUT_MS'
      : 'count(*) exceeded ROWCOUNT_TIMEOUT_MS';
  const stale = c.n < 0 ? undefined : staleness(c.freshness);
  const fresh = c.n < 0 ? '' : stale ? `; not evidence: ${stale}` : '; analyzed after its last change';
  return `${side}: ${c.n < 0 ? 'unknown (never analyzed)' : `~${c.n} rows`}, estimate — ${why} (${c.ms} ms)${fresh}`;
}

export interface RowCountVerdict {
  ok: boolean;
  /** The assertion message when !ok. */
  message?: string;
  /** Evidence lines (one annotation each). */
  evidence: string[];
  /** Warnings on a passing verdict (one `warning` annotation each): a pass that rests on estimates. */
  warnings: string[];
}

export interface RowCountRules {
  /** ROWCOUNT_MAX_DIFF: applies when both counts are exact. */
  maxDiff: number;
  /** ROWCOUNT_REQUIRE_EXACT: any estimate fails. */
  requireExact: boolean;
  /** ROWCOUNT_ESTIMATE_TOLERANCE, percent (default 10): how far estimates may differ. */
  tolerancePct?: number;
}

/** |a - b| as a percentage of the larger (0 when both are 0). */
export function relativeDiffPct(a: number, b: number): number {
  const m = Math.max(Math.abs(a), Math.abs(b));
  return m === 0 ? 0 : (Math.abs(a - b) / m) * 100;
}

/**
 * Why the estimates of a count are no evidence (the failure message), or undefined when they may be compared:
 * ROWCOUNT_REQUIRE_EXACT, an unknown estimate (never analyzed), a stale one (`staleness`).
 */
function whyNoEvidence(
  name: string,
  src: Count | undefined,
  dst: Count,
  estimated: string[],
  opts: RowCountRules,
): string | undefined {
  if (opts.requireExact) {
    const what =
      estimated.length > 1
        ? 'source and target counts timed out and are only estimates'
        : `${estimated[0]} count timed out and is only an estimate`;
    return `table ${name}: ROWCOUNT_REQUIRE_EXACT=1 expects exact counts, but the ${what}`;
  }
  const unknown = (
    [
      ['source', src],
      ['target', dst],
    ] as const
  ).filter(([, c]) => c?.kind === 'estimate' && c.n < 0);
  if (unknown.length) {
    const sides = unknown.map(([s]) => s).join(' and ');
    return notChecked(
      `table ${name}: the ${sides} count(*) did not finish within ROWCOUNT_TIMEOUT_MS and the ${sides} estimate is unknown (never analyzed): no evidence; run ANALYZE on the ${sides}, or raise ROWCOUNT_TIMEOUT_MS`,
    );
  }
  const stale = (
    [
      ['source', src],
      ['target', dst],
    ] as const
  ).flatMap(([side, c]) => {
    const why = c?.kind === 'estimate' ? staleness(c.freshness) : undefined;
    return why ? [`the ${side} estimate (~${(c as { n: number }).n}) is stale: ${why}`] : [];
  });
  if (stale.length)
    return notChecked(
      `table ${name}: row count not verified: count(*) did not finish within ROWCOUNT_TIMEOUT_MS and ${stale.join('; ')}; an estimate is evidence only when the table was analyzed after its last change; run ANALYZE on that side, or raise ROWCOUNT_TIMEOUT_MS`,
    );
  return undefined;
}

/**
 * The rules of the row-count check, as a pure function. Nothing unverified passes:
 * - both exact: pass iff |source - target| <= ROWCOUNT_MAX_DIFF;
 * - an estimate on either side (count(*) timed out or waited for a lock): fails under ROWCOUNT_REQUIRE_EXACT; an
 *   unknown estimate (never analyzed, reltuples = -1) is no evidence and fails as `not checked`; so is a stale one
 *   (rows changed since the last ANALYZE, or never analyzed, per pg_stat_user_tables: `staleness`); otherwise the two
 *   numbers must differ by at most ROWCOUNT_ESTIMATE_TOLERANCE percent, and a pass carries a warning saying it
 *   rests on estimates;
 * - no source configured: the target count is reported (an estimate with a warning), only a missing table fails.
 */
export function judgeRowCount(
  table: TableRef,
  src: Count | undefined,
  dst: Count,
  opts: RowCountRules,
): RowCountVerdict {
  const name = displayTable(table);
  const tol = opts.tolerancePct ?? 10;
  const evidence = [describeCount('source', src), describeCount('target', dst)];
  const warnings: string[] = [];
  if (dst.kind === 'missing')
    return { ok: false, evidence, warnings, message: `table ${name}: expected it in the target, it is missing` };
  if (src?.kind === 'missing')
    return {
      ok: false,
      evidence,
      warnings,
      message: `table ${name}: expected it in the source, it is missing (nothing to compare with)`,
    };
  const estimated = [src?.kind === 'estimate' && 'source', dst.kind === 'estimate' && 'target'].filter(
    Boolean,
  ) as string[];
  if (estimated.length) {
    const none = whyNoEvidence(name, src, dst, estimated, opts);
    if (none) return { ok: false, evidence, warnings, message: none };
    if (!src) {
      evidence.push('estimate (no source configured)');
      warnings.push(`row count ${name}: the target count is only an estimate (~${dst.n}) and no source is configured`);
      return { ok: true, evidence, warnings };
    }
    const pct = relativeDiffPct(src.n, (dst as { n: number }).n);
    const shown = `source ${src.kind === 'exact' ? `${src.n} exact` : `~${src.n} estimated`}, target ${dst.kind === 'exact' ? `${dst.n} exact` : `~${dst.n} estimated`}`;
    if (pct > tol)
      return {
        ok: false,
        evidence,
        warnings,
        message: `table ${name}: only estimates could be compared (${shown}): they differ by ${pct.toFixed(1)}%, more than ROWCOUNT_ESTIMATE_TOLERANCE ${tol}%`,
      };
    evidence.push(`estimates compared: ${shown}, ${pct.toFixed(1)}% apart, within ROWCOUNT_ESTIMATE_TOLERANCE ${tol}%`);
    warnings.push(
      `row count ${name}: passed on estimates only (${shown}, within ${tol}%), not an exact count; raise ROWCOUNT_TIMEOUT_MS or set ROWCOUNT_REQUIRE_EXACT=1 for proof`,
    );
    return { ok: true, evidence, warnings };
  }
  if (!src) {
    evidence.push('no source configured: target count reported, not compared');
    return { ok: true, evidence, warnings };
  }
  const s = src as Extract<Count, { kind: 'exact' }>;
  const d = dst as Extract<Count, { kind: 'exact' }>;
  const diff = Math.abs(s.n - d.n);
  if (diff > opts.maxDiff) {
    return {
      ok: false,
      evidence,
      warnings,
      message: `table ${name}: expected the target to have ${s.n} rows like the source (ROWCOUNT_MAX_DIFF ${opts.maxDiff}), it has ${d.n} (difference ${d.n - s.n})`,
    };
  }
  evidence.push(diff === 0 ? 'exact match' : `difference ${d.n - s.n} within ROWCOUNT_MAX_DIFF ${opts.maxDiff}`);
  return { ok: true, evidence, warnings };
}
