/**
 * The isolation family's judgement of connection strings held in code: a function whose body connects to the SOURCE
 * (dblink-style) cannot be rewritten by the restore, so the run is red naming it (a warning with ISOLATION=keep).
 */
import { expect, test } from 'vitest';
import { junitCases, latestJunit, rehearse, scenario, unescapeXml } from '../helpers/scenario.ts';
import { warningsOf } from '../helpers/case-files.ts';

const CODE = 'isolation connection strings in functions and views';

test('a function holding a connection string to the source is red, naming it; ISOLATION=keep makes it a warning', async () => {
  const s = await scenario({ fixture: false });
  const port = s.src.cluster.port;
  await s.src.query(`CREATE TABLE t(id int PRIMARY KEY); INSERT INTO t VALUES (1);
CREATE FUNCTION push_to_legacy() RETURNS void LANGUAGE plpgsql AS $$
BEGIN PERFORM dblink_exec('host=127.0.0.1 port=${port} dbname=legacy user=app', 'INSERT INTO audit VALUES (1)'); END $$;`);
  const env = { ...s.env, HEALTH_CHECK: '0', ASSET_COLUMNS: '' };
  const r = await rehearse([], env);
  expect(r.code, r.output).toBe(1);
  const failed = junitCases(latestJunit(s)).filter((c) => c.failed);
  expect(failed.map((c) => c.name)).toEqual([CODE]);
  expect(unescapeXml(failed[0].body)).toMatch(
    new RegExp(
      `function public\\.push_to_legacy\\(\\) holds a connection string → 127\\.0\\.0\\.1:${port}/legacy, the SOURCE`,
    ),
  );
  const keep = await rehearse(['--verify-only'], { ...env, ISOLATION: 'keep' });
  expect(keep.code, keep.output).toBe(0);
  const c = junitCases(latestJunit(s)).find((x) => x.name === CODE)!;
  expect(warningsOf(c.body).join('\n')).toMatch(/push_to_legacy\(\) holds a connection string .*the SOURCE/);
}, 400_000);
