/**
 * rw02 (../shared/cases): one unconstrained `vector` column holding 3- and 4-dimensional vectors (two embedding
 * models). Expected: green, the pgvector check saying how it handled the mixed dimensions (nearest neighbours
 * compared per dimension group), never the raw server error "different vector dimensions". A seeded change in one
 * group turns it red, naming the group.
 */
import { expect, test } from 'vitest';
import { verifyInProcess } from '../../helpers/cases.ts';
import { describe, expectFailures } from '../../helpers/family.ts';
import {
  annotations,
  caseNamed,
  caseScenario,
  failedNames,
  loadCaseSql,
  rehearseCase,
} from '../../helpers/real-world-case.ts';

const PGV = 'pgvector public.chunks.embedding';

test('rw02: a column mixing 3- and 4-dimensional vectors is compared per dimension group, green', async () => {
  const s = await caseScenario();
  await loadCaseSql(s, 'rw02-mixed-dims.sql');
  const r = await rehearseCase(s, []);
  expect(r.code, r.output).toBe(0);
  expect(failedNames(r.cases)).toEqual([]);
  expect(r.output).not.toMatch(/different vector dimensions/);
  const notes = annotations(caseNamed(r.cases, PGV));
  expect(notes).toContainEqual(expect.stringMatching(/per dimension: 3×10, 4×10/));
  expect(notes).toContainEqual(
    expect.stringMatching(
      /^evidence: mixed dimensions in one column \(3×10, 4×10\): .* nearest neighbours were compared per dimension group \(all 2 groups\)/,
    ),
  );
  expect(notes).toContain('evidence: exact nearest neighbours (k=5) of 6 sampled vectors compared');

  // A 4-dimensional vector moved on the target: its group's nearest neighbours differ, red, and still no raw error.
  await s.dst.query(`UPDATE chunks SET embedding = '[1000,1,2,3]' WHERE id = 12`);
  const bad = await verifyInProcess(s, { CHECKSUM: 'off' });
  expectFailures(bad, {
    [PGV]: /nearest 5 neighbours of id=1\d \(among 4-dimensional vectors\): source \[.*\], target \[.*\]/,
  });
  expect(describe(bad)).not.toMatch(/different vector dimensions/);
});
