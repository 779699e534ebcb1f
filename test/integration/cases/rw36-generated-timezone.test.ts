/**
 * rw36: a STORED generated column over a function wrongly declared IMMUTABLE that depends on TimeZone; the source
 * database sets timezone = America/New_York, the target does not. pg_dump does not carry generated values: the restore
 * recomputes them under the target session's TimeZone. The run is red, and the settings check names the cause
 * (timezone differs) and the column (public.bookings.day, recomputed by the restore).
 */
import { expect, test } from 'vitest';
import { caseNamed, loadCase, runCase } from '../../helpers/cases.ts';
import { scenario } from '../../helpers/scenario.ts';

const SETTINGS = 'isolation database and role settings (pg_db_role_setting)';

test('rw36: a generated column recomputed under another TimeZone is red, naming bookings.day and the timezone', async () => {
  const s = await scenario({ fixture: false });
  await loadCase(s.src, 'rw36-generated-timezone.sql');
  const r = await runCase(s, []);
  expect(r.code, r.output).toBe(1);
  expect(r.failed, r.output).toContain(SETTINGS);
  // the only other red may be the rows of bookings themselves (their `day` differs)
  expect(
    r.failed.filter((n) => n !== SETTINGS && !/public\.bookings/.test(n)),
    r.output,
  ).toEqual([]);
  const body = caseNamed(r, SETTINGS).body;
  expect(body).toMatch(/database: timezone source America\/New_York, target \(not set\)/);
  expect(body).toMatch(
    /recomputed by the restore under the target's settings and may hold other values: public\.bookings\.day/,
  );
}, 400_000);
