/**
 * rw16 (../shared/cases): a legacy source that already holds an orphan (ugc_assets.user_id = 999, no users row, no
 * FK declared; the relation comes from ORPHAN_RELATIONS). Expected: green, the orphan reported as already present in
 * the source (1 in source, 1 in target, 0 new) as a warning; PREEXISTING_DEFECTS_FAIL=1 makes it fail. A new orphan
 * made on the target fails whatever the setting.
 */
import { expect, test } from 'vitest';
import { notesOf, verifyInProcess } from '../../helpers/cases.ts';
import { describe, failedNames as failedChecks, failureOf } from '../../helpers/family.ts';
import {
  annotations,
  caseNamed,
  caseScenario,
  failedNames,
  failureText,
  loadCaseSql,
  rehearseCase,
} from '../../helpers/real-world-case.ts';

const ORPHANS = 'orphans ugc_assets(user_id) -> users(id)';

test('rw16: an orphan the source already has is a warning (in source 1, in target 1, new 0), not a failure', async () => {
  const s = await caseScenario();
  await loadCaseSql(s, 'rw16-preexisting-orphan.sql');
  const env = { ORPHAN_RELATIONS: 'ugc_assets.user_id->users.id' };

  const r = await rehearseCase(s, [], env);
  expect(r.code, r.output).toBe(0);
  expect(failedNames(r.cases)).toEqual([]);
  const notes = annotations(caseNamed(r.cases, ORPHANS));
  expect(notes).toContain('evidence: orphans: in source 1, in target 1, new 0');
  expect(notes).toContainEqual(
    expect.stringMatching(
      /^warning: orphans ugc_assets\(user_id\) -> users\(id\): 1 orphan row\(s\) already in the source, e\.g\. keys \(user_id\): \(999\): not a migration failure/,
    ),
  );

  // Operators who want pre-existing defects to block: PREEXISTING_DEFECTS_FAIL=1.
  const strict = await verifyInProcess(s, { ...env, PREEXISTING_DEFECTS_FAIL: '1' });
  expect(failedChecks(strict), describe(strict)).toEqual([ORPHANS]);
  expect(failureOf(strict, ORPHANS)).toMatch(
    /1 orphan row\(s\) already in the source, e\.g\. keys \(user_id\): \(999\); failing because PREEXISTING_DEFECTS_FAIL=1/,
  );

  // A misspelt relation is a configuration error that names the culprit, never a raw server error or a skip.
  // The preflight of the checks-only run refuses it (exit 2, one failing test) before any check runs.
  const typo = await rehearseCase(s, ['--verify-only'], { ORPHAN_RELATIONS: 'ugc_assets.user_id->user.id' });
  expect(typo.code, typo.output).toBe(2);
  expect(typo.output).toMatch(
    /ORPHAN_RELATIONS names public\.user\.id, but table public\.user does not exist in the target \(did you mean users\?\)/,
  );
  expect(failedNames(typo.cases)).toEqual(['phase preflight']);

  // A new orphan on the target fails by default, told apart from the old one.
  await s.dst.query('INSERT INTO ugc_assets VALUES (12, 777, NULL)');
  const fresh = await verifyInProcess(s, env);
  expect(failedChecks(fresh), describe(fresh)).toEqual(expect.arrayContaining([ORPHANS]));
  expect(failureOf(fresh, ORPHANS)).toMatch(
    /found 1 new \(besides 1 already in the source\); example keys \(user_id\): \(777\)/,
  );
  expect(notesOf(fresh, ORPHANS)).toContain('evidence: orphans: in source 1, in target 2, new 1');
});
