/**
 * rw17: a postgres_fdw server, a user mapping with a password and a foreign table, all pointing at the SOURCE cluster.
 * Expected: the run names the foreign server and where it points, and neutralises it by default (the user mapping is
 * left out, the server pointed at a host that never resolves), loudly; an INSERT through the foreign table on staging
 * no longer reaches the source. A copy made without the tool (verify-only) is red until the operator chooses;
 * ISOLATION=keep restores the wiring and says so.
 */
import { expect, onTestFinished, test } from 'vitest';
import { dropDatabase, withClient } from '../../../lib/sandbox/clusters.ts';
import {
  filesContaining,
  junitCases,
  latestJunit,
  migrateByHand,
  rehearse,
  scenario,
  stateOf,
  type Scenario,
} from '../../helpers/scenario.ts';
import { verifyInProcess } from '../../helpers/cases.ts';
import { expectFailures } from '../../helpers/family.ts';
import { cluster } from '../../helpers/sandbox.ts';
import { loadCaseSql, warningsOf } from '../../helpers/case-files.ts';

const SERVERS = 'isolation foreign servers and user mappings';
const FDW_PASSWORD = 'fdw-example-pw';

/** The remote side the case's comment asks for, on the source cluster: database fdw_remote and login role fdw_user. */
async function remoteSide(): Promise<void> {
  const c = cluster('source');
  await withClient(c, 'postgres', async (cl) => {
    const role = await cl.query(`SELECT 1 FROM pg_roles WHERE rolname = 'fdw_user'`);
    if (!role.rowCount) await cl.query(`CREATE ROLE fdw_user LOGIN PASSWORD '${FDW_PASSWORD}'`);
    await cl.query('DROP DATABASE IF EXISTS fdw_remote');
    await cl.query('CREATE DATABASE fdw_remote');
  });
  onTestFinished(() => dropDatabase(c, 'fdw_remote').catch(() => {}));
  await withClient(c, 'fdw_remote', (cl) =>
    cl.query('CREATE TABLE customers(id int PRIMARY KEY, name text); GRANT ALL ON customers TO fdw_user'),
  );
}

const remoteRows = () =>
  withClient(cluster('source'), 'fdw_remote', async (cl) =>
    Number((await cl.query('SELECT count(*) AS n FROM customers')).rows[0].n),
  );

async function setup(): Promise<Scenario> {
  await remoteSide();
  const s = await scenario({ fixture: false });
  loadCaseSql(s.src, 'rw17-fdw.sql', { source_port: s.src.cluster.port });
  return s;
}

const env = (s: Scenario, extra: Record<string, string> = {}) => ({
  ...s.env,
  HEALTH_CHECK: '0',
  ASSET_COLUMNS: '',
  ...extra,
});

test('rw17: the foreign server pointing at the source is detached by default, loudly; staging writes no longer reach the source', async () => {
  const s = await setup();
  const r = await rehearse([], env(s));
  expect(r.code, r.output).toBe(0);
  const port = s.src.cluster.port;
  expect(r.output).toContain(
    `ISOLATION: foreign server legacy_srv (postgres_fdw) → 127.0.0.1:${port}/fdw_remote, the SOURCE: restored, then pointed at rehearsal-isolated.invalid (detached)`,
  );
  expect(r.output).toMatch(
    /left out of the restore: USER MAPPING USER MAPPING rehearsal SERVER legacy_srv \(isolation-user-mapping: the credentials of foreign server legacy_srv, which points at the SOURCE/,
  );
  // the console summary (the restore phase's one line, also in the manifest and the phase test)
  expect(r.output).toMatch(
    /ISOLATION: 2 object\(s\) pointing away from the target neutralised \(foreign server legacy_srv, user mapping rehearsal SERVER legacy_srv\)/,
  );
  // phase evidence
  const restore = stateOf(s)!.phases.find((p) => p.name === 'restore')!;
  expect((restore.details!.isolation as string[]).join('\n')).toMatch(
    /legacy_srv .*the SOURCE: restored, then pointed at/,
  );
  // the target: no mapping, the server points nowhere, an INSERT through the foreign table does not reach the source
  expect(
    (await s.dst.query(`SELECT count(*)::int AS n FROM pg_user_mappings WHERE srvname = 'legacy_srv'`)).rows[0].n,
  ).toBe(0);
  expect(
    (await s.dst.query(`SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'legacy_srv'`)).rows[0].srvoptions,
  ).toContain('host=rehearsal-isolated.invalid');
  await expect(s.dst.query(`INSERT INTO legacy_customers VALUES (1, 'from staging')`)).rejects.toThrow();
  expect(await remoteRows()).toBe(0);
  // the check: a warning naming the server, not silence
  const c = junitCases(latestJunit(s)).find((x) => x.name === SERVERS)!;
  expect(c.failed).toBe(false);
  expect(warningsOf(c.body).join('\n')).toMatch(
    /foreign server legacy_srv \(postgres_fdw, 0 user mappings\) detached by the restore/,
  );
  // the user mapping's password reaches no log, report or console line (the dump itself holds the source's data)
  expect(r.output).not.toContain(FDW_PASSWORD);
  expect(filesContaining([s.workDir, s.reportsDir], FDW_PASSWORD).filter((f) => !f.endsWith('source.dump'))).toEqual(
    [],
  );
}, 400_000);

test('rw17 (copied by hand, as today): staging writes land in the source; verify-only is red naming the server', async () => {
  const s = await setup();
  await migrateByHand(s);
  await s.dst.query(`INSERT INTO legacy_customers VALUES (1, 'from staging')`);
  expect(await remoteRows()).toBe(1);
  // every check family, in-process, as `--verify-only` runs them (no copy of the tool's to prove here)
  expectFailures(await verifyInProcess(s, { ASSET_COLUMNS: '' }), {
    [SERVERS]: new RegExp(
      `foreign server legacy_srv \\(postgres_fdw, 1 user mapping\\) → 127\\.0\\.0\\.1:${s.src.cluster.port}/fdw_remote, the SOURCE; queries through it on staging reach that server`,
    ),
  });
}, 400_000);

test('rw17 with ISOLATION=keep: restored as is, said loudly, a warning instead of a failure', async () => {
  const s = await setup();
  const r = await rehearse([], env(s, { ISOLATION: 'keep' }));
  expect(r.code, r.output).toBe(0);
  expect(r.output).toMatch(/ISOLATION: foreign server legacy_srv .* the SOURCE: RESTORED AS IS \(ISOLATION=keep\)/);
  expect(
    (await s.dst.query(`SELECT count(*)::int AS n FROM pg_user_mappings WHERE srvname = 'legacy_srv'`)).rows[0].n,
  ).toBe(1);
  const c = junitCases(latestJunit(s)).find((x) => x.name === SERVERS)!;
  expect(c.failed).toBe(false);
  expect(warningsOf(c.body).join('\n')).toMatch(/legacy_srv .*the SOURCE \(kept: ISOLATION=keep\)/);
}, 400_000);
