/**
 * rw01: an enum column. A perfect copy must be green: the checksum hashes an enum by label, never by its pg_enum OID
 * (which the restore reassigns).
 */
import { expect, test } from 'vitest';
import { loadCase } from '../../helpers/cases.ts';
import { junitCases, latestJunit, rehearse, scenario } from '../../helpers/scenario.ts';

test('rw01 enum column: full rehearsal is green, checksum public.people included', async () => {
  const s = await scenario({ fixture: false });
  await loadCase(s.src, 'rw01-enum.sql');
  const r = await rehearse([], { ...s.env, HEALTH_CHECK: '0' });
  const cases = junitCases(latestJunit(s));
  expect(
    cases.filter((c) => c.failed).map((c) => c.name),
    r.output,
  ).toEqual([]);
  expect(r.code, r.output).toBe(0);
  const checksum = cases.find((c) => c.name === 'checksum public.people');
  expect(checksum && !checksum.skipped && !checksum.failed, 'checksum public.people ran and passed').toBe(true);
});
