/**
 * rw06 (../shared/cases): 2,000,000 rows, ROWCOUNT_TIMEOUT_MS=20 (every count(*) of `big` falls back to the planner's
 * estimate), CHECKSUM=off; after the copy half the rows are deleted on the target and analyzed. Expected: the row
 * count of `big` is not a pass — estimates of ~2M against ~1M differ by more than ROWCOUNT_ESTIMATE_TOLERANCE, and an
 * unknown (never analyzed) source estimate is no evidence at all.
 */
import { expect, test } from 'vitest';
import {
  annotations,
  caseNamed,
  caseScenario,
  failedNames,
  failureText,
  loadCaseSql,
  rehearseCase,
} from '../../helpers/real-world-case.ts';
import { phaseStatuses } from '../../helpers/scenario.ts';

const BIG = 'row count public.big';
const ENV = { ROWCOUNT_TIMEOUT_MS: '20', CHECKSUM: 'off' };

test('rw06: a row count that only has estimates (2M against 1M, or an unknown source estimate) is not a pass', async () => {
  const s = await caseScenario();
  await loadCaseSql(s, 'rw06-estimate.sql');
  // No autoanalyze on the source from here on: the estimates below are exactly the ones each step sets up.
  await s.src.query('ALTER TABLE big SET (autovacuum_enabled = off)');
  const first = await rehearseCase(s, [], ENV);
  expect(phaseStatuses(s), first.output).toMatchObject({ dump: 'ok', restore: 'ok' });

  await s.dst.query('DELETE FROM big WHERE id > 1000000');
  await s.dst.query('VACUUM ANALYZE big');

  // The case as written: the source's estimate is unknown (never analyzed), or ~2M if autovacuum got to it first.
  const asIs = await rehearseCase(s, ['--verify-only'], ENV);
  expect(asIs.code, asIs.output).toBe(1);
  expect(failedNames(asIs.cases)).toEqual([BIG]);
  expect(failureText(caseNamed(asIs.cases, BIG))).toMatch(
    /estimate is unknown \(never analyzed\): no evidence|only estimates could be compared .* more than ROWCOUNT_ESTIMATE_TOLERANCE 10%/,
  );

  // Both branches, deterministically. Never analyzed (what a fresh restore or a bulk load leaves): not checked.
  await s.src.query(`UPDATE pg_class SET reltuples = -1 WHERE oid = 'big'::regclass`);
  const unknown = await rehearseCase(s, ['--verify-only'], ENV);
  expect(unknown.code, unknown.output).toBe(1);
  const c1 = caseNamed(unknown.cases, BIG);
  expect(c1.failed).toBe(true);
  expect(annotations(c1)).toContainEqual(
    expect.stringMatching(/^evidence: source: unknown \(never analyzed\), estimate/),
  );
  expect(failureText(c1)).toMatch(
    /not checked: table public\.big: the source count\(\*\) did not finish .* unknown \(never analyzed\): no evidence/,
  );

  // Analyzed: ~2,000,000 against ~1,000,000, 50% apart: red, naming both estimates and the tolerance.
  await s.src.query('ANALYZE big');
  const known = await rehearseCase(s, ['--verify-only'], ENV);
  expect(known.code, known.output).toBe(1);
  const c2 = caseNamed(known.cases, BIG);
  expect(c2.failed).toBe(true);
  expect(failureText(c2)).toMatch(
    /table public\.big: only estimates could be compared \(source ~\d+ estimated, target ~\d+ estimated\): they differ by (4\d|5\d)\.\d%, more than ROWCOUNT_ESTIMATE_TOLERANCE 10%/,
  );

  // Within the tolerance, a pass on estimates is a pass with a warning, never a silent one.
  const loose = await rehearseCase(s, ['--verify-only'], { ...ENV, ROWCOUNT_ESTIMATE_TOLERANCE: '60' });
  const c3 = caseNamed(loose.cases, BIG);
  expect(c3.failed, failureText(c3)).toBe(false);
  expect(annotations(c3)).toContainEqual(
    expect.stringMatching(/^warning: row count public\.big: passed on estimates only/),
  );
});
