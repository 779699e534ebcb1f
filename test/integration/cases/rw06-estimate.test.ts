/**
 * rw06 (../shared/cases): 2,000,000 rows, ROWCOUNT_TIMEOUT_MS=20 (every count(*) of `big` falls back to the planner's
 * estimate), CHECKSUM=off; after the copy half the rows are deleted on the target and analyzed. Expected: the row
 * count of `big` is not a pass — estimates of ~2M against ~1M differ by more than ROWCOUNT_ESTIMATE_TOLERANCE, and an
 * unknown (never analyzed) source estimate is no evidence at all.
 */
import { expect, test } from 'vitest';
import { notesOf, verifyInProcess } from '../../helpers/cases.ts';
import { describe, failedNames, failureOf, outcome } from '../../helpers/family.ts';
import { caseScenario, loadCaseSql, rehearseCase } from '../../helpers/real-world-case.ts';
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
  const asIs = await verifyInProcess(s, ENV);
  expect(failedNames(asIs), describe(asIs)).toEqual([BIG]);
  expect(failureOf(asIs, BIG)).toMatch(
    /estimate is unknown \(never analyzed\): no evidence|only estimates could be compared .* more than ROWCOUNT_ESTIMATE_TOLERANCE 10%/,
  );

  // Both branches, deterministically. Never analyzed (what a fresh restore or a bulk load leaves): not checked.
  await s.src.query(`UPDATE pg_class SET reltuples = -1 WHERE oid = 'big'::regclass`);
  const unknown = await verifyInProcess(s, ENV);
  expect(failedNames(unknown), describe(unknown)).toEqual([BIG]);
  expect(notesOf(unknown, BIG)).toContainEqual(
    expect.stringMatching(/^evidence: source: unknown \(never analyzed\), estimate/),
  );
  expect(failureOf(unknown, BIG)).toMatch(
    /not checked: table public\.big: the source count\(\*\) did not finish .* unknown \(never analyzed\): no evidence/,
  );

  // Analyzed: ~2,000,000 against ~1,000,000, 50% apart: red, naming both estimates and the tolerance.
  await s.src.query('ANALYZE big');
  const known = await verifyInProcess(s, ENV);
  expect(failedNames(known), describe(known)).toEqual([BIG]);
  expect(failureOf(known, BIG)).toMatch(
    /table public\.big: only estimates could be compared \(source ~\d+ estimated, target ~\d+ estimated\): they differ by (4\d|5\d)\.\d%, more than ROWCOUNT_ESTIMATE_TOLERANCE 10%/,
  );

  // Within the tolerance, a pass on estimates is a pass with a warning, never a silent one.
  const loose = await verifyInProcess(s, { ...ENV, ROWCOUNT_ESTIMATE_TOLERANCE: '60' });
  expect(outcome(loose, BIG).verdict?.status, describe(loose)).toBe('pass');
  expect(notesOf(loose, BIG)).toContainEqual(
    expect.stringMatching(/^warning: row count public\.big: passed on estimates only/),
  );
});
