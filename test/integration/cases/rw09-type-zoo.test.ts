/**
 * rw09: values that trip validators (float -0/NaN/Infinity, numeric scale, jsonb numbers, xml with a declaration,
 * timestamptz, interval, money, ranges, composite, domain...), with a target database whose TimeZone, DateStyle and
 * extra_float_digits are odd. A full rehearsal must be green: the checksum hashes xml as pg_dump writes it (without a
 * plain `<?xml …?>` declaration) and every text form under the pinned session settings.
 */
import { expect, test } from 'vitest';
import { loadCase } from '../../helpers/cases.ts';
import { junitCases, latestJunit, rehearse, scenario } from '../../helpers/scenario.ts';

test('rw09 type zoo under odd target settings: full rehearsal is green, checksum public.zoo included', async () => {
  const s = await scenario({ fixture: false });
  await loadCase(s.src, 'rw09-type-zoo.sql');
  for (const set of [`timezone TO 'Asia/Kathmandu'`, `datestyle TO 'SQL, DMY'`, `extra_float_digits TO -3`]) {
    await s.dst.query(`ALTER DATABASE "${s.dst.name}" SET ${set}`);
  }
  const r = await rehearse([], { ...s.env, HEALTH_CHECK: '0' });
  const cases = junitCases(latestJunit(s));
  expect(
    cases.filter((c) => c.failed).map((c) => c.name),
    r.output,
  ).toEqual([]);
  expect(r.code, r.output).toBe(0);
  const checksum = cases.find((c) => c.name === 'checksum public.zoo');
  expect(checksum && !checksum.skipped && !checksum.failed, 'checksum public.zoo ran and passed').toBe(true);
});
