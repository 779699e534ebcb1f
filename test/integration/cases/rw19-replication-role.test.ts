/**
 * rw19: the target database was left with `session_replication_role = replica` (per-database setting): no foreign key
 * or trigger fires there. Expected: red, naming the setting; a target with only display settings (rw09's kind) stays
 * green with a warning.
 */
import { expect, test } from 'vitest';
import { junitCases, latestJunit, migrateByHand, rehearse, scenario, unescapeXml } from '../../helpers/scenario.ts';
import { loadCaseSql } from '../../helpers/case-files.ts';
import { verifyInProcess } from '../../helpers/cases.ts';
import { describe, failedNames, outcome } from '../../helpers/family.ts';

const SETTINGS = 'isolation database and role settings (pg_db_role_setting)';

test('rw19: ALTER DATABASE … SET session_replication_role = replica on the target is red, naming it', async () => {
  const s = await scenario({ fixture: false });
  loadCaseSql(s.src, 'rw19-replication-role.sql');
  await s.dst.query(`ALTER DATABASE ${s.dst.name} SET session_replication_role = replica`);
  const r = await rehearse([], { ...s.env, HEALTH_CHECK: '0', ASSET_COLUMNS: '' });
  expect(r.code, r.output).toBe(1);
  const cases = junitCases(latestJunit(s));
  expect(cases.filter((c) => c.failed).map((c) => c.name)).toEqual([SETTINGS]);
  const c = cases.find((x) => x.name === SETTINGS)!;
  expect(unescapeXml(c.body)).toMatch(
    /settings differ from the source's \(each can change query results or the application's behaviour\): database: session_replication_role source \(not set\), target replica \(no foreign key or ordinary trigger fires on the target\)/,
  );
}, 400_000);

test('rw19 (the other way): cosmetic settings that differ are a warning, not a failure; equal behaviour settings pass', async () => {
  const s = await scenario({ fixture: false });
  loadCaseSql(s.src, 'rw19-replication-role.sql');
  await s.src.query(`ALTER DATABASE ${s.src.name} SET search_path = public, pg_catalog`);
  await s.dst.query(`ALTER DATABASE ${s.dst.name} SET search_path = public, pg_catalog`);
  await s.dst.query(`ALTER DATABASE ${s.dst.name} SET application_name = 'staging'`);
  // The copy does not touch database settings (the red case above proves it through a whole rehearsal): a copy by
  // hand, then every check family in-process as `--verify-only` runs them.
  await migrateByHand(s);
  const r = await verifyInProcess(s, { ASSET_COLUMNS: '' });
  expect(failedNames(r), describe(r)).toEqual([]);
  expect(outcome(r, SETTINGS).warnings).toEqual([
    `setting differs (cosmetic, not judged): database: application_name source (not set), target staging (ALTER DATABASE ${s.dst.name} RESET application_name;)`,
  ]);
});
