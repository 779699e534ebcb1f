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
 *
 * "Has" means "may reach by SET ROLE", not only "holds or inherits" (issue 26, attacks N1/N2 of the re-run): a login
 * that is a member of a NOLOGIN superuser role, or of a CREATEROLE role, even without INHERIT, lets restored code
 * `SET ROLE` to it. So every role the login is a MEMBER of (pg_has_role: "the right to do SET ROLE") counts with its
 * attributes; and the restore role itself may reach none of these powers (superuser, the server-access roles,
 * CREATEROLE): restored code runs as that role, so such a power would be used directly.
 */
import type pg from 'pg';

/** The predefined roles whose members reach the server's files or programs (PostgreSQL "Predefined Roles"). */
export const SERVER_ACCESS_ROLES = ['pg_execute_server_program', 'pg_write_server_files', 'pg_read_server_files'];

/** What the rule reads from the target: the login (session user) and the restore role. */
export interface RestoreRoleFacts {
  /** The session user (the login of DST_DATABASE_URL). */
  login: string;
  loginSuperuser: boolean;
  /**
   * Powers (superuser, CREATEROLE, BYPASSRLS, `membership in <server-access role>`) the login holds or may SET ROLE
   * to and the restore role cannot reach, each naming the role it is reached through (`superuser (through SET ROLE
   * dba)`) when not the login's own.
   */
  loginExtra: string[];
  /** The restore role; undefined fields when it does not exist. */
  role: string;
  roleExists: boolean;
  roleSuperuser: boolean;
  /**
   * Powers the restore role itself holds or may SET ROLE to (superuser, CREATEROLE, server-access memberships): code
   * in the archive runs as it and would use them directly. Empty when it does not exist.
   */
  rolePowers?: string[];
  /** The login is a member of the role (or a superuser): it may SET ROLE to it. */
  canSetRole: boolean;
}

/**
 * The facts for RESTORE_ROLE=`role`, read on the target with catalog names schema-qualified. `p` lists each role's
 * powers; a role reaches a power when it is a MEMBER (pg_has_role: direct or through other roles, with or without
 * INHERIT — the right to SET ROLE; a superuser is a member of every role) of a role that holds it.
 * Parameters: $1 the restore role, $2 SERVER_ACCESS_ROLES.
 */
export const RESTORE_ROLE_FACTS_SQL = `
WITH s AS (SELECT oid, rolname, rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user),
     r AS (SELECT oid, rolname, rolsuper FROM pg_catalog.pg_roles WHERE rolname = $1),
     p AS (SELECT g.oid, g.rolname, x.power
           FROM pg_catalog.pg_roles g,
                LATERAL (VALUES ('superuser', g.rolsuper), ('CREATEROLE', g.rolcreaterole),
                                ('BYPASSRLS', g.rolbypassrls),
                                ('membership in ' || g.rolname, g.rolname = ANY($2::text[]))) AS x(power, has)
           WHERE x.has)
SELECT s.rolname AS login, s.rolsuper AS login_super,
       r.oid IS NOT NULL AS role_exists, coalesce(r.rolsuper, false) AS role_super,
       coalesce(pg_catalog.pg_has_role(s.oid, r.oid, 'MEMBER'), false) AS can_set,
       ARRAY(SELECT DISTINCT CASE WHEN p.oid = s.oid OR p.power LIKE 'membership in %' THEN p.power
                                  ELSE p.power || ' (through SET ROLE ' || p.rolname || ')' END
             FROM p WHERE pg_catalog.pg_has_role(s.oid, p.oid, 'MEMBER')
               AND NOT EXISTS (SELECT 1 FROM p q, r WHERE q.power = p.power
                                 AND pg_catalog.pg_has_role(r.oid, q.oid, 'MEMBER'))
             ORDER BY 1) AS login_extra,
       ARRAY(SELECT DISTINCT CASE WHEN p.oid = r.oid OR p.power LIKE 'membership in %' THEN p.power
                                  ELSE p.power || ' (through SET ROLE ' || p.rolname || ')' END
             FROM p, r WHERE p.power <> 'BYPASSRLS' AND pg_catalog.pg_has_role(r.oid, p.oid, 'MEMBER')
             ORDER BY 1) AS role_powers
FROM s LEFT JOIN r ON true`;

/** Read RestoreRoleFacts for `role` on the connected target. */
export async function restoreRoleFacts(c: pg.Client, role: string): Promise<RestoreRoleFacts> {
  const r = (await c.query(RESTORE_ROLE_FACTS_SQL, [role, SERVER_ACCESS_ROLES])).rows[0];
  return {
    login: r.login,
    loginSuperuser: r.login_super,
    loginExtra: r.login_extra,
    role,
    roleExists: r.role_exists,
    roleSuperuser: r.role_super,
    rolePowers: r.role_powers,
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
  if (f.rolePowers?.length)
    return `${name}: ${f.role} itself has ${f.rolePowers.join(', ')}, and code in the archive that runs during the restore runs as ${f.role}: it could use ${f.rolePowers.length > 1 ? 'them' : 'it'} (COPY … TO PROGRAM, server files, granting itself more); name a restore role without those powers (REVOKE them from ${f.role}), or unset RESTORE_ROLE`;
  if (!f.canSetRole)
    return `${name}: the target login ${f.login} is not a member of ${f.role}, so the restore cannot SET ROLE to it; GRANT ${f.role} TO ${f.login}, or log in as ${f.role} in DST_DATABASE_URL`;
  // A superuser has every other power too: saying `superuser` says it all.
  const powers = f.loginSuperuser ? ['superuser'] : f.loginExtra;
  if (powers.length === 0) return undefined;
  return `${name} does not contain the restore: the target login ${f.login} has ${powers.join(', ')}, which ${f.role} lacks, and code in the archive that runs during the restore (an index expression, a CHECK constraint, a default calling a function) can RESET ROLE or SET ROLE ${f.login}, or to any role ${f.login} is a member of — SET ROLE is no boundary against the session's login — and then use ${f.loginSuperuser ? 'superuser powers (COPY … TO PROGRAM runs programs as the server' + "'s OS user)" : 'them'}; log in as ${f.role} in DST_DATABASE_URL (a login without those powers), or unset RESTORE_ROLE and accept the superuser warning`;
}
