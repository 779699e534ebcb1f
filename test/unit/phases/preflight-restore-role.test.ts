/**
 * The RESTORE_ROLE rule (lib/phases/preflight-restore-role.ts, issue 26 E1): a login whose powers restored code could
 * regain by RESET ROLE is refused, naming the powers and the fix; a plain login that may SET ROLE to a non-superuser
 * restore role passes.
 */
import { expect, test } from 'vitest';
import { restoreRoleProblem, type RestoreRoleFacts } from '../../../lib/phases/preflight-restore-role.ts';

const plain: RestoreRoleFacts = {
  login: 'deployer',
  loginSuperuser: false,
  loginExtra: [],
  role: 'app_owner',
  roleExists: true,
  roleSuperuser: false,
  canSetRole: true,
};

test('a plain login that is a member of a non-superuser restore role passes', () => {
  expect(restoreRoleProblem(plain)).toBeUndefined();
});

test('a superuser login is refused with both fixes', () => {
  const why = restoreRoleProblem({ ...plain, login: 'postgres', loginSuperuser: true, loginExtra: ['CREATEROLE'] });
  expect(why).toMatch(
    /^RESTORE_ROLE=app_owner does not contain the restore: the target login postgres has superuser, which app_owner lacks/,
  );
  expect(why).toMatch(/RESET ROLE or SET ROLE postgres, or to any role postgres is a member of/);
  expect(why).toMatch(/COPY … TO PROGRAM/);
  expect(why).toMatch(
    /log in as app_owner in DST_DATABASE_URL .*, or unset RESTORE_ROLE and accept the superuser warning$/,
  );
});

test('server-file role memberships, CREATEROLE and BYPASSRLS the restore role lacks are named', () => {
  const why = restoreRoleProblem({
    ...plain,
    loginExtra: [
      'CREATEROLE',
      'BYPASSRLS',
      'membership in pg_execute_server_program',
      'membership in pg_read_server_files',
    ],
  });
  expect(why).toMatch(
    /the target login deployer has CREATEROLE, BYPASSRLS, membership in pg_execute_server_program, membership in pg_read_server_files, which app_owner lacks/,
  );
});

test('a missing, superuser or unreachable restore role is refused with the fix', () => {
  expect(restoreRoleProblem({ ...plain, roleExists: false, canSetRole: false })).toMatch(
    /no role app_owner on the target; create it .* GRANT app_owner TO deployer/,
  );
  expect(restoreRoleProblem({ ...plain, roleSuperuser: true })).toMatch(/app_owner is a superuser/);
  expect(restoreRoleProblem({ ...plain, canSetRole: false })).toMatch(
    /deployer is not a member of app_owner.*GRANT app_owner TO deployer, or log in as app_owner/,
  );
});

test('powers reached by SET ROLE are named with the role they come through; a restore role with such powers is refused', () => {
  expect(restoreRoleProblem({ ...plain, loginExtra: ['superuser (through SET ROLE dba)'] })).toMatch(
    /the target login deployer has superuser \(through SET ROLE dba\), which app_owner lacks/,
  );
  expect(
    restoreRoleProblem({ ...plain, rolePowers: ['CREATEROLE', 'membership in pg_execute_server_program'] }),
  ).toMatch(
    /^RESTORE_ROLE=app_owner: app_owner itself has CREATEROLE, membership in pg_execute_server_program, and code in the archive .* runs as app_owner: it could use them .*REVOKE them from app_owner/,
  );
  expect(restoreRoleProblem({ ...plain, rolePowers: [] })).toBeUndefined();
});
