/**
 * The isolation family's judgement of connection strings held in code: a function whose body connects to the SOURCE
 * (dblink-style) cannot be rewritten by the restore, so the check is red naming it (a warning with ISOLATION=keep).
 * In-process (test/helpers/family.ts) on a copy made by hand: the restore leaves function bodies as they are, and what
 * a whole run adds (its exit code, the report) is shown by the CLI tests.
 */
import { expect, test } from 'vitest';
import { expectFailures, outcome, runFamilies } from '../helpers/family.ts';
import { migrateByHand, scenario } from '../helpers/scenario.ts';

const CODE = 'isolation connection strings in functions and views';

test('a function holding a connection string to the source is red, naming it; ISOLATION=keep makes it a warning', async () => {
  const s = await scenario({ fixture: false });
  const port = s.src.cluster.port;
  await s.src.query(`CREATE TABLE t(id int PRIMARY KEY); INSERT INTO t VALUES (1);
CREATE FUNCTION push_to_legacy() RETURNS void LANGUAGE plpgsql AS $$
BEGIN PERFORM dblink_exec('host=127.0.0.1 port=${port} dbname=legacy user=app', 'INSERT INTO audit VALUES (1)'); END $$;`);
  await migrateByHand(s);
  const env = { HEALTH_CHECK: '0', ASSET_COLUMNS: '' };
  expectFailures(await runFamilies(s, ['isolation'], { env }), {
    [CODE]: new RegExp(
      `function public\\.push_to_legacy\\(\\) holds a connection string → 127\\.0\\.0\\.1:${port}/legacy, the SOURCE`,
    ),
  });
  const keep = expectFailures(await runFamilies(s, ['isolation'], { env: { ...env, ISOLATION: 'keep' } }), {});
  expect(outcome(keep, CODE).warnings.join('\n')).toMatch(/push_to_legacy\(\) holds a connection string .*the SOURCE/);
});
