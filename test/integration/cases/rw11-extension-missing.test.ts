/**
 * rw11: as rw10, but `vector` is not installed on the target and the role cannot create it: preflight refuses (exit 2)
 * BEFORE the dump, saying what the role cannot do and the statement a DBA runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { catalogSnapshot, phaseStatuses, rehearse, stateOf } from '../../helpers/scenario.ts';
import { caseRun, ownerTarget } from '../../helpers/non-superuser.ts';

test('rw11 non-superuser owner without vector on the target: exit 2 from preflight, before the dump, with the fix', async () => {
  const target = await ownerTarget({ vector: false });
  const s = await caseRun('rw10-non-superuser.sql', target);
  const r = await rehearse([], s.env);
  expect(r.code, r.output).toBe(2);
  expect(stateOf(s)!.phases[0].reason).toMatch(
    new RegExp(
      `role ${target.role} cannot create extension vector \\(not a superuser; vector is not a trusted extension\\); a DBA runs in database ${target.db.name}: CREATE EXTENSION vector VERSION '0\\.8\\.\\d+';`,
    ),
  );
  expect(phaseStatuses(s)).toMatchObject({ preflight: 'failed', dump: 'skipped', restore: 'skipped' });
  expect(fs.existsSync(path.join(s.workDir, 'source.dump'))).toBe(false);
  expect((await catalogSnapshot(target.db)).relations).toEqual([]);
});
