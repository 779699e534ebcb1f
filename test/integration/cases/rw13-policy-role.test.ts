/**
 * rw13: a policy `TO app_reader`, a role the target cluster lacks: preflight refuses (exit 2) before the dump,
 * listing the roles the dump needs and the statement a DBA runs; the same from an existing dump (SRC_DB_DUMP_PATH),
 * where the roles are read from the archive's SQL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { catalogSnapshot, phaseStatuses, rehearse, stateOf } from '../../helpers/scenario.ts';
import { caseRun } from '../../helpers/non-superuser.ts';
import { cluster, freshDb } from '../../helpers/sandbox.ts';
import { withClient } from '../../../lib/sandbox/clusters.ts';

test('rw13 policy TO a role the target lacks: exit 2 from preflight, before the dump, listing the missing role', async () => {
  // The role exists on the source cluster only (the case creates it there); make sure the target has none.
  await withClient(cluster('target'), 'postgres', (c) => c.query('DROP ROLE IF EXISTS app_reader'));
  const dst = await freshDb('target');
  const s = await caseRun('rw13-policy-role.sql', dst);
  const r = await rehearse([], s.env);
  expect(r.code, r.output).toBe(2);
  const expected =
    /the dump names role\(s\) the target cluster lacks: app_reader \(policy reader_sees_all on public\.notes\); a DBA runs: CREATE ROLE app_reader NOLOGIN;/;
  expect(stateOf(s)!.phases[0].reason).toMatch(expected);
  expect(phaseStatuses(s)).toMatchObject({ preflight: 'failed', dump: 'skipped' });
  expect(fs.existsSync(path.join(s.workDir, 'source.dump'))).toBe(false);
  expect((await catalogSnapshot(dst)).relations).toEqual([]);

  // An existing dump of the same source: the role is read from the archive's SQL.
  const dump = path.join(s.workDir, '..', 'rw13.dump');
  const { execFileSync } = await import('node:child_process');
  const c = cluster('source');
  execFileSync('pg_dump', ['--format=custom', '--no-owner', '--no-acl', `--file=${dump}`, s.src.name], {
    env: { ...process.env, PGHOST: c.host, PGPORT: String(c.port), PGUSER: c.user, PGPASSWORD: c.password },
  });
  const r2 = await rehearse([], { ...s.env, SRC_DATABASE_URL: undefined, SRC_DB_DUMP_PATH: dump });
  expect(r2.code, r2.output).toBe(2);
  expect(stateOf(s)!.phases[0].reason).toMatch(
    /the dump names role\(s\) the target cluster lacks: app_reader \(policy reader_sees_all on public\.notes\); a DBA runs: CREATE ROLE app_reader NOLOGIN;/,
  );
});
