/**
 * rw09: values that trip validators (float -0/NaN/Infinity, numeric scale, jsonb numbers, xml with a declaration,
 * timestamptz, interval, money, ranges, composite, domain...), with a target database whose TimeZone, DateStyle and
 * extra_float_digits are odd. Every data check must be green: the checksum hashes xml as pg_dump writes it (without a
 * plain `<?xml …?>` declaration) and every text form under the pinned session settings. The odd settings themselves
 * differ from the source's and change what the application sees (issue 25: settings are behaviour): the settings
 * check, and only it, is red, naming each.
 */
import { expect, test } from 'vitest';
import { loadCase } from '../../helpers/cases.ts';
import { junitCases, latestJunit, rehearse, scenario } from '../../helpers/scenario.ts';

test('rw09 type zoo under odd target settings: every data check green, checksum public.zoo included; the settings named', async () => {
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
  ).toEqual(['isolation database and role settings (pg_db_role_setting)']);
  const settings = cases.find((c) => c.failed)!.body;
  for (const name of ['datestyle', 'extra_float_digits', 'timezone'])
    expect(settings).toMatch(new RegExp(`database: ${name} source`));
  expect(r.code, r.output).toBe(1);
  const checksum = cases.find((c) => c.name === 'checksum public.zoo');
  expect(checksum && !checksum.skipped && !checksum.failed, 'checksum public.zoo ran and passed').toBe(true);
});
