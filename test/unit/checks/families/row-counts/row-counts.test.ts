/**
 * The row-count rules (judgeRowCount), without a database.
 */
import { describe, expect, test } from 'vitest';
import { judgeRowCount, type Count } from '../../../../../lib/checks/families/row-counts/row-counts.ts';

const t = { schema: 'public', name: 'users' };
const exact = (n: number): Count => ({ kind: 'exact', n, ms: 3 });
const FRESH = { modsSinceAnalyze: 0, neverAnalyzed: 0, noStats: 0, analyzedAt: '2026-01-01 00:00:00+00' };
const estimate = (n: number): Count => ({ kind: 'estimate', n, ms: 5, freshness: FRESH });
const missing: Count = { kind: 'missing', ms: 1 };
const rules = { maxDiff: 0, requireExact: false };

describe('judgeRowCount', () => {
  test('exact/exact: pass iff |src - dst| <= ROWCOUNT_MAX_DIFF, the message naming both counts', () => {
    expect(judgeRowCount(t, exact(30), exact(30), rules)).toMatchObject({
      ok: true,
      evidence: ['source: 30 rows, exact (3 ms)', 'target: 30 rows, exact (3 ms)', 'exact match'],
    });
    expect(judgeRowCount(t, exact(30), exact(29), rules)).toMatchObject({
      ok: false,
      message:
        'table public.users: expected the target to have 30 rows like the source (ROWCOUNT_MAX_DIFF 0), it has 29 (difference -1)',
    });
    expect(judgeRowCount(t, exact(30), exact(31), { ...rules, maxDiff: 1 })).toMatchObject({
      ok: true,
      evidence: expect.arrayContaining(['difference 1 within ROWCOUNT_MAX_DIFF 1']),
    });
    expect(judgeRowCount(t, exact(30), exact(28), { ...rules, maxDiff: 1 }).ok).toBe(false);
  });

  test('estimates are compared within ROWCOUNT_ESTIMATE_TOLERANCE and pass only with a warning', () => {
    const v = judgeRowCount(t, exact(1000), estimate(950), rules);
    expect(v.ok).toBe(true);
    expect(v.evidence).toEqual([
      'source: 1000 rows, exact (3 ms)',
      'target: ~950 rows, estimate — count(*) exceeded ROWCOUNT_TIMEOUT_MS (5 ms); analyzed after its last change',
      'estimates compared: source 1000 exact, target ~950 estimated, 5.0% apart, within ROWCOUNT_ESTIMATE_TOLERANCE 10%',
    ]);
    expect(v.warnings).toEqual([expect.stringMatching(/passed on estimates only .* not an exact count/)]);
    // 2M against 1M estimated: red, whatever the side.
    expect(judgeRowCount(t, estimate(2_000_000), estimate(1_000_000), rules)).toMatchObject({
      ok: false,
      message:
        'table public.users: only estimates could be compared (source ~2000000 estimated, target ~1000000 estimated): they differ by 50.0%, more than ROWCOUNT_ESTIMATE_TOLERANCE 10%',
    });
    expect(judgeRowCount(t, exact(30), estimate(1000), rules).ok).toBe(false);
    expect(judgeRowCount(t, exact(1000), estimate(950), { ...rules, tolerancePct: 1 }).ok).toBe(false);
    expect(judgeRowCount(t, estimate(5), estimate(5), { ...rules, requireExact: true })).toMatchObject({
      ok: false,
      message:
        'table public.users: ROWCOUNT_REQUIRE_EXACT=1 expects exact counts, but the source and target counts timed out and are only estimates',
    });
  });

  test('an unknown estimate (never analyzed) is no evidence: not checked, never a pass', () => {
    const v = judgeRowCount(t, estimate(-1), estimate(1_000_000), rules);
    expect(v.ok).toBe(false);
    expect(v.evidence[0]).toBe(
      'source: unknown (never analyzed), estimate — count(*) exceeded ROWCOUNT_TIMEOUT_MS (5 ms)',
    );
    expect(v.message).toMatch(
      /^not checked: table public\.users: the source count\(\*\) did not finish .* estimate is unknown \(never analyzed\): no evidence/,
    );
    expect(judgeRowCount(t, exact(3), estimate(-1), rules).message).toMatch(/the target estimate is unknown/);
    expect(judgeRowCount(t, undefined, estimate(-1), rules).ok).toBe(false);
  });

  test('a count that waited for a lock is an estimate like any other', () => {
    const locked: Count = { kind: 'estimate', n: 500, ms: 9, cause: 'lock', freshness: FRESH };
    expect(judgeRowCount(t, exact(1000), locked, rules)).toMatchObject({
      ok: false,
      evidence: expect.arrayContaining([
        'target: ~500 rows, estimate — count(*) waited for a lock longer than ROWCOUNT_TIMEOUT_MS (9 ms); analyzed after its last change',
      ]),
    });
  });

  test('a table missing in the target fails; missing in the source fails (nothing to compare)', () => {
    expect(judgeRowCount(t, exact(3), missing, rules)).toMatchObject({
      ok: false,
      message: 'table public.users: expected it in the target, it is missing',
    });
    expect(judgeRowCount(t, missing, exact(3), rules)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/expected it in the source, it is missing/),
    });
  });

  test('no source configured: the target count is reported, and only a missing table fails', () => {
    expect(judgeRowCount(t, undefined, exact(3), rules)).toMatchObject({
      ok: true,
      evidence: [
        'source: not configured',
        'target: 3 rows, exact (3 ms)',
        'no source configured: target count reported, not compared',
      ],
    });
    expect(judgeRowCount(t, undefined, estimate(3), rules)).toMatchObject({
      ok: true,
      evidence: expect.arrayContaining(['estimate (no source configured)']),
      warnings: [expect.stringMatching(/only an estimate/)],
    });
    expect(judgeRowCount(t, undefined, missing, rules).ok).toBe(false);
    expect(judgeRowCount(t, undefined, estimate(3), { ...rules, requireExact: true }).ok).toBe(false);
  });

  test('a stale estimate (rows changed since the last ANALYZE, never analyzed, no statistics) is not verified, never a pass', () => {
    const stale: Count = {
      kind: 'estimate',
      n: 1_500_000,
      ms: 5,
      freshness: { ...FRESH, modsSinceAnalyze: 600_000 },
    };
    const v = judgeRowCount(t, estimate(1_500_000), stale, rules);
    expect(v.ok).toBe(false);
    expect(v.message).toMatch(
      /^not checked: table public\.users: row count not verified: .*the target estimate \(~1500000\) is stale: 600000 rows changed since its last ANALYZE \(2026-01-01 00:00:00\+00\)/,
    );
    expect(v.evidence[1]).toMatch(/not evidence: 600000 rows changed since its last ANALYZE/);
    // both sides are judged: a stale source is no evidence either
    const never: Count = {
      kind: 'estimate',
      n: 10,
      ms: 5,
      freshness: { ...FRESH, neverAnalyzed: 1, analyzedAt: null },
    };
    expect(judgeRowCount(t, never, exact(10), rules).message).toMatch(
      /the source estimate \(~10\) is stale: it was never analyzed/,
    );
    const noStats: Count = { kind: 'estimate', n: 10, ms: 5, freshness: { ...FRESH, noStats: 1 } };
    expect(judgeRowCount(t, exact(10), noStats, rules).message).toMatch(/the server has no statistics for it/);
    // an estimate without freshness (unknown) is no evidence
    expect(judgeRowCount(t, exact(10), { kind: 'estimate', n: 10, ms: 5 }, rules).ok).toBe(false);
    // analyzed after its last change on every estimated side: compared as before
    expect(judgeRowCount(t, estimate(100), estimate(100), rules).ok).toBe(true);
  });
});
