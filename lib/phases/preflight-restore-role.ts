/**
 * Preflight's RESTORE_ROLE rule (issue 26, attack E1). RESTORE_ROLE makes the restore session `SET ROLE` to a
 * non-superuser (PGOPTIONS `-c role=`, lib/phases/restore.ts), so code in the archive that runs during the restore
 * (index expressions, CHECK constraints, generated columns, defaults calling a volatile function) runs as that role.
 * But SET ROLE is not a security boundary against the SESSION user: PostgreSQL lets any session `RESET ROLE`, or
 * `SET ROLE` to any role the session user is a member of — to any role at all when the session user is a superuser
 * (PostgreSQL documentation, SET ROLE: "The specified role_name must be a role that the current session user is a
 * member of. (If the session user is a superuser, any role can be selected.)"; SET SESSION AUTHORIZATION: only a
 * superuser session may). So restored code regains every power of the LOGIN role: a superuser login let the attacker's
 * function `SET ROLE <login>` and `COPY … TO PROGRAM` (the class of CVE-2024-7348).
 *
 * Rule: with RESTORE_ROLE set, the login of DST_DATABASE_URL must hold no power that restored code could use to reach
 * the server's files or programs, or to grant itself more, that the restore role lacks: superuser; membership (direct
 * or inherited) in pg_execute_server_program, pg_write_server_files or pg_read_server_files (COPY TO/FROM PROGRAM and
 * server files, PostgreSQL documentation "Predefined Roles"); CREATEROLE (before PostgreSQL 16 it may grant itself
 * any non-superuser role, those three included); BYPASSRLS (reads every row past row-level security). Otherwise
 * preflight refuses (exit 2, before any write) naming the powers and the fix: log in as the restore role, or unset
 * RESTORE_ROLE and accept the superuser warning. The restore role itself must exist, be no superuser, and be one the
 * login may SET ROLE to.
 */
import type pg from 'pg';

/** The predefined roles whose members reach the server's files or programs (PostgreSQL "Predefined Roles"). */
export const SERVER_ACCESS_ROLES = ['pg_execute_server_program', 'pg_write_server_files', 'pg_read_server_files'];

/** What the rule reads from the target: the login (session user) and the restore role. */
export interface RestoreRoleFacts {
  /** The session user (the login of DST_DATABASE_URL). */
  login: string;
  loginSuperuser: boolean;
  /** Attributes and SERVER_ACCESS_ROLES memberships the login has and the restore role lacks. */
  loginExtra: string[];
  /** The restore role; undefined fields when it does not exist. */
  role: string;
  roleExists: boolean;
  roleSuperuser: boolean;
  /** The login is a member of the role (or a superuser): it may SET ROLE to it. */
  canSetRole: boolean;
}

/**
 * The facts for RESTORE_ROLE=`role`, read on the target with catalog names schema-qualified. Membership is
 * pg_has_role(…, 'MEMBER'): direct or inherited (a superuser is a member of every role).
 */
export const RESTORE_ROLE_FACTS_SQL = `
SELECT s.rolname AS login, s.rolsuper AS login_super,
       r.rolname IS NOT NULL AS role_exists, coalesce(r.rolsuper, false) AS role_super,
       coalesce(pg_catalog.pg_has_role(s.oid, r.oid, 'MEMBER'), false) AS can_set,
       ARRAY(SELECT a.attr::text FROM (VALUES ('CREATEROLE', s.rolcreaterole, coalesce(r.rolcreaterole, false)),
                                         ('BYPASSRLS', s.rolbypassrls, coalesce(r.rolbypassrls, false))) AS a(attr, l, x)
             WHERE a.l AND NOT a.x) AS extra_attrs,
       ARRAY(SELECT g.rolname::text FROM pg_catalog.pg_roles g
             WHERE g.rolname = ANY($2::text[]) AND pg_catalog.pg_has_role(s.oid, g.oid, 'MEMBER')
               AND NOT coalesce(pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER'), false)
             ORDER BY g.rolname) AS extra_roles
FROM pg_catalog.pg_roles s LEFT JOIN pg_catalog.pg_roles r ON r.rolname = $1
WHERE s.rolname = session_user`;

/** Read RestoreRoleFacts for `role` on the connected target. */
export async function restoreRoleFacts(c: pg.Client, role: string): Promise<RestoreRoleFacts> {
  const r = (await c.query(RESTORE_ROLE_FACTS_SQL, [role, SERVER_ACCESS_ROLES])).rows[0];
  return {
    login: r.login,
    loginSuperuser: r.login_super,
    loginExtra: [...r.extra_attrs, ...r.extra_roles.map((g: string) => `membership in ${g}`)],
    role,
    roleExists: r.role_exists,
    roleSuperuser: r.role_super,
    canSetRole: r.can_set,
  };
}

/**
 * Why RESTORE_ROLE cannot keep restored code from the login's powers (the rule above), or undefined. Pure.
 * Each refusal says what is wrong and how to fix it.
 */
export function restoreRoleProblem(f: RestoreRoleFacts): string | undefined {
  const name = `RESTORE_ROLE=${f.role}`;
  if (!f.roleExists)
    return `${name}: no role ${f.role} on the target; create it (a non-superuser owning the target database) and GRANT ${f.role} TO ${f.login}, or unset RESTORE_ROLE`;
  if (f.roleSuperuser)
    return `${name}: ${f.role} is a superuser, so the restore's code would run with superuser powers anyway; name a non-superuser role, or unset RESTORE_ROLE`;
  if (!f.canSetRole)
    return `${name}: the target login ${f.login} is not a member of ${f.role}, so the restore cannot SET ROLE to it; GRANT ${f.role} TO ${f.login}, or log in as ${f.role} in DST_DATABASE_URL`;
  // A superuser has every other power too: saying `superuser` says it all.
  const powers = f.loginSuperuser ? ['superuser'] : f.loginExtra;
  if (powers.length === 0) return undefined;
  return `${name} does not contain the restore: the target login ${f.login} has ${powers.join(', ')}, which ${f.role} lacks, and code in the archive that runs during the restore (an index expression, a CHECK constraint, a default calling a function) can RESET ROLE or SET ROLE ${f.login} — SET ROLE is no boundary against the session's login — and then use ${f.loginSuperuser ? 'superuser powers (COPY … TO PROGRAM runs programs as the server' + "'s OS user)" : 'them'}; log in as ${f.role} in DST_DATABASE_URL (a login without those powers), or unset RESTORE_ROLE and accept the superuser warning`;
}
