/**
 * Row counts: count(*) bounded by a server-side statement_timeout, the estimate it falls back to, and the verdict.
 */
import type pg from 'pg';
import { withClient } from '../core/db.ts';
import { displayTable, type TableRef } from '../core/ident.ts';
import { estimateQuery, rowCountQuery, statementTimeoutQuery, tableKindQuery } from './sql/index.ts';

export type Count =
  | { kind: 'exact'; n: number; ms: number }
  /** The count timed out; `n` is pg_class.reltuples (-1 = unknown, never analyzed). */
  | { kind: 'estimate'; n: number; ms: number }
  | { kind: 'missing'; ms: number };

const QUERY_CANCELED = '57014';

/** Count the rows of `table` with count(*) under SET LOCAL statement_timeout; on timeout, the planner's estimate. */
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
      // A lock wait must end as a lock error (naming the holder), never as a "slow count" that falls back to an
      // estimate: an estimate because the table is locked verifies nothing.
      await c.query(`SELECT set_config('lock_timeout', $1, true)`, [`${Math.max(1, Math.floor(timeoutMs / 2))}ms`]);
      const r = await c.query<{ n: string }>(rowCountQuery(table).text);
      await c.query('COMMIT');
      return { kind: 'exact', n: Number(r.rows[0].n), ms: ms() };
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      if ((e as { code?: string }).code !== QUERY_CANCELED) throw e;
    }
    const est = estimateQuery(table);
    const r = await c.query<{ n: number | null }>(est.text, est.values as unknown[]);
    const n = r.rows[0]?.n;
    return { kind: 'estimate', n: n === null || n === undefined || n < 0 ? -1 : Math.round(n), ms: ms() };
  });
}

/**
 * A side's Count from its fused table scan (lib/checks/table-scan.ts): exact when the scan read the table; `missing`
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
  const est = estimateQuery(table);
  const e = await pool.query<{ n: number | null }>(est.text, est.values as unknown[]);
  const n = e.rows[0]?.n;
  return { kind: 'estimate', n: n === null || n === undefined || n < 0 ? -1 : Math.round(n), ms: r.ms };
}

/** One evidence line for a side's count: exact, estimate (count(*) exceeded ROWCOUNT_TIMEOUT_MS), missing, or not configured. */
export function describeCount(side: string, c: Count | undefined): string {
  if (!c) return `${side}: not configured`;
  if (c.kind === 'missing') return `${side}: table missing (${c.ms} ms)`;
  if (c.kind === 'exact') return `${side}: ${c.n} rows, exact (${c.ms} ms)`;
  return `${side}: ${c.n < 0 ? 'unknown' : `~${c.n} rows`}, estimate — count(*) exceeded ROWCOUNT_TIMEOUT_MS (${c.ms} ms)`;
}

export interface RowCountVerdict {
  ok: boolean;
  /** The assertion message when !ok. */
  message?: string;
  /** Evidence lines (one annotation each). */
  evidence: string[];
}

/**
 * The rules of the row-count check, as a pure function (from the product contract): both sides exact → pass when
 * |source - target| <= ROWCOUNT_MAX_DIFF; an estimate on either side (count(*) exceeded ROWCOUNT_TIMEOUT_MS) → passes
 * uncompared (said in the evidence) unless ROWCOUNT_REQUIRE_EXACT=1, which fails it; a table missing on either side
 * fails; without a source the target's count is evidence only. Returns `{ ok, message?, evidence }`; never throws.
 */
export function judgeRowCount(
  table: TableRef,
  src: Count | undefined,
  dst: Count,
  opts: { maxDiff: number; requireExact: boolean },
): RowCountVerdict {
  const name = displayTable(table);
  const evidence = [describeCount('source', src), describeCount('target', dst)];
  if (dst.kind === 'missing')
    return { ok: false, evidence, message: `table ${name}: expected it in the target, it is missing` };
  if (src?.kind === 'missing')
    return {
      ok: false,
      evidence,
      message: `table ${name}: expected it in the source, it is missing (nothing to compare with)`,
    };
  const estimated = [src?.kind === 'estimate' && 'source', dst.kind === 'estimate' && 'target'].filter(
    Boolean,
  ) as string[];
  if (estimated.length) {
    if (opts.requireExact) {
      const what =
        estimated.length > 1
          ? 'source and target counts timed out and are only estimates'
          : `${estimated[0]} count timed out and is only an estimate`;
      return {
        ok: false,
        evidence,
        message: `table ${name}: ROWCOUNT_REQUIRE_EXACT=1 expects exact counts, but the ${what}`,
      };
    }
    evidence.push(src ? 'estimate, not compared' : 'estimate (no source configured)');
    return { ok: true, evidence };
  }
  if (!src) {
    evidence.push('no source configured: target count reported, not compared');
    return { ok: true, evidence };
  }
  const s = src as Extract<Count, { kind: 'exact' }>;
  const d = dst as Extract<Count, { kind: 'exact' }>;
  const diff = Math.abs(s.n - d.n);
  if (diff > opts.maxDiff) {
    return {
      ok: false,
      evidence,
      message: `table ${name}: expected the target to have ${s.n} rows like the source (ROWCOUNT_MAX_DIFF ${opts.maxDiff}), it has ${d.n} (difference ${d.n - s.n})`,
    };
  }
  evidence.push(diff === 0 ? 'exact match' : `difference ${d.n - s.n} within ROWCOUNT_MAX_DIFF ${opts.maxDiff}`);
  return { ok: true, evidence };
}
