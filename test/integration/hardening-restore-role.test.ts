/**
 * Issue 26, attack E1: RESTORE_ROLE escaped by restored code. The source holds the attacker's shape: a CHECK
 * constraint calling a volatile plpgsql function that runs `SET ROLE <the target's superuser login>` (allowed: SET
 * ROLE is no boundary against the session user) and then `COPY … TO PROGRAM` writing a file. With RESTORE_ROLE set
 * and a target login that could be regained (a superuser, or a member of pg_execute_server_program), preflight
 * refuses (exit 2) before any write: no dump, no restore, the program never runs. A valid set-up — a non-superuser
 * login that is a member of the restore role — restores green, and the program does not run either. Real clusters,
 * in-process pipeline (lib/phases/pipeline.ts through test/helpers/pipeline.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import { clusterUrl, withClient } from '../../lib/sandbox/clusters.ts';
import type { RunState } from '../../lib/core/state.ts';
import { applyToolPaths, PhaseLog } from '../../lib/core/tools.ts';
import { dumpStep, preflightStep, restoreStep } from '../../lib/phases/pipeline.ts';
import { configOf, copyInProcess, preflightOnly } from '../helpers/pipeline.ts';
import { cluster, uniqueName } from '../helpers/sandbox.ts';
import { scenario } from '../helpers/scenario.ts';

/** SQL on the target cluster's maintenance database (roles are cluster-wide). */
function onTarget(sql: string) {
  const t = cluster('target');
  return withClient(t, t.database, (c) => c.query(sql));
}

/** A role of the target cluster, dropped (after the test's databases) when the test finishes. */
async function role(attrs: string): Promise<string> {
  const name = uniqueName('rr');
  await onTarget(`CREATE ROLE ${name} ${attrs}`);
  onTestFinished(async () => {
    await onTarget(`DROP ROLE IF EXISTS ${name}`).catch(() => {});
  });
  return name;
}

/**
 * The attacker's source (attack kit E1), a restore role owning the target database, and the file the program would
 * write. `superLogin`: the superuser login of the target DSN, whom the function tries to become.
 */
async function attack() {
  const s = await scenario({ fixture: false, assets: false });
  const superLogin = new URL(s.dst.url).username;
  const pwned = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pwned-e1-')), 'ran');
  onTestFinished(() => fs.rmSync(path.dirname(pwned), { recursive: true, force: true }));
  fs.chmodSync(path.dirname(pwned), 0o777); // the server's OS user must be able to write it if the program runs
  await s.src.query(`CREATE FUNCTION public.fe1(int) RETURNS int LANGUAGE plpgsql VOLATILE AS $f$
    BEGIN
      BEGIN EXECUTE 'SET ROLE ${superLogin}'; EXCEPTION WHEN others THEN NULL; END;
      IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        COPY (SELECT current_user, session_user) TO PROGRAM 'cat > ${pwned}';
      END IF;
      RETURN $1;
    END $f$;
    CREATE TABLE public.te1 (a int CHECK (public.fe1(a) > 0));
    INSERT INTO public.te1 VALUES (1), (2);`);
  // The INSERT above ran the program on the source (its role is a superuser): the attack kit removes the file too.
  expect(fs.existsSync(pwned)).toBe(true);
  fs.rmSync(pwned);
  const restorer = await role('NOLOGIN NOSUPERUSER');
  onTestFinished(async () => {
    await onTarget(`DROP DATABASE IF EXISTS ${s.dst.name} WITH (FORCE)`).catch(() => {});
  });
  await s.dst.query(`ALTER DATABASE ${s.dst.name} OWNER TO ${restorer}`);
  return { s, superLogin, pwned, restorer };
}

/** DST_DATABASE_URL logging in as `login` (the sandbox's password). */
function loginUrl(s: Awaited<ReturnType<typeof attack>>['s'], login: string): string {
  return clusterUrl({ ...cluster('target'), user: login, password: s.password }, s.dst.name);
}

async function userTables(s: Awaited<ReturnType<typeof attack>>['s']): Promise<string[]> {
  const r = await s.dst.query(`SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public'`);
  return r.rows.map((x) => x.tablename);
}

test('E1: RESTORE_ROLE with a superuser target login is refused (exit 2) before any write; the program never runs', async () => {
  const { s, superLogin, pwned, restorer } = await attack();
  await onTarget(`GRANT ${restorer} TO ${superLogin}`);
  const env = { ...s.env, RESTORE_ROLE: restorer };
  const pre = await preflightOnly(env);
  expect(pre.status).toBe('failed');
  expect(pre.rehearseExitCode).toBe(2);
  expect(pre.reason).toMatch(
    new RegExp(
      `RESTORE_ROLE=${restorer} does not contain the restore: the target login ${superLogin} has superuser, which ${restorer} lacks.*RESET ROLE or SET ROLE ${superLogin}, or to any role ${superLogin} is a member of.*log in as ${restorer} in DST_DATABASE_URL.*or unset RESTORE_ROLE and accept the superuser warning`,
    ),
  );
  // The whole copy: stops at the preflight, nothing dumped or restored, the program never ran.
  const phases = await copyInProcess(env);
  expect(phases.map((p) => `${p.name}:${p.status}`)).toEqual(['preflight:failed']);
  expect(fs.existsSync(path.join(s.workDir, 'source.dump'))).toBe(false);
  expect(await userTables(s)).toEqual([]);
  expect(fs.existsSync(pwned)).toBe(false);
});

test('E1: a non-superuser login that is a member of pg_execute_server_program is refused too, naming the membership', async () => {
  const { s, pwned, restorer } = await attack();
  const login = await role(`LOGIN NOSUPERUSER PASSWORD '${s.password.replace(/'/g, "''")}'`);
  await onTarget(`GRANT ${restorer} TO ${login}; GRANT pg_execute_server_program TO ${login}`);
  const pre = await preflightOnly({ ...s.env, DST_DATABASE_URL: loginUrl(s, login), RESTORE_ROLE: restorer });
  expect(pre.rehearseExitCode).toBe(2);
  expect(pre.reason).toMatch(
    new RegExp(`the target login ${login} has membership in pg_execute_server_program, which ${restorer} lacks`),
  );
  expect(fs.existsSync(pwned)).toBe(false);
});

test('re-run N2: a login that may SET ROLE to a NOLOGIN superuser or CREATEROLE role (even NOINHERIT) is refused, naming the role it reaches', async () => {
  const { s, pwned, restorer } = await attack();
  const pw = s.password.replace(/'/g, "''");
  const dba = await role('NOLOGIN SUPERUSER');
  const creator = await role('NOLOGIN CREATEROLE');
  // Through a superuser role: the attacker's function would `SET ROLE <dba>` and run COPY … TO PROGRAM.
  const viaSuper = await role(`LOGIN NOSUPERUSER NOINHERIT PASSWORD '${pw}'`);
  await onTarget(`GRANT ${restorer} TO ${viaSuper}; GRANT ${dba} TO ${viaSuper}`);
  const a = await preflightOnly({ ...s.env, DST_DATABASE_URL: loginUrl(s, viaSuper), RESTORE_ROLE: restorer });
  expect(a.rehearseExitCode, a.reason).toBe(2);
  expect(a.reason).toMatch(
    new RegExp(
      `the target login ${viaSuper} has superuser \\(through SET ROLE ${dba}\\)[^;]*, which ${restorer} lacks`,
    ),
  );
  // Through a CREATEROLE role: `SET ROLE <creator>; GRANT pg_execute_server_program TO <creator>`.
  const viaCreator = await role(`LOGIN NOSUPERUSER PASSWORD '${pw}'`);
  await onTarget(`GRANT ${restorer} TO ${viaCreator}; GRANT ${creator} TO ${viaCreator}`);
  const b = await preflightOnly({ ...s.env, DST_DATABASE_URL: loginUrl(s, viaCreator), RESTORE_ROLE: restorer });
  expect(b.rehearseExitCode, b.reason).toBe(2);
  expect(b.reason).toMatch(new RegExp(`has CREATEROLE \\(through SET ROLE ${creator}\\), which ${restorer} lacks`));
  expect(fs.existsSync(pwned)).toBe(false);
});

test('re-run N1: a restore role that may itself run programs (a member of pg_execute_server_program) is refused', async () => {
  const { s, pwned, restorer } = await attack();
  const login = await role(`LOGIN NOSUPERUSER PASSWORD '${s.password.replace(/'/g, "''")}'`);
  await onTarget(`GRANT ${restorer} TO ${login}; GRANT pg_execute_server_program TO ${restorer}`);
  const pre = await preflightOnly({ ...s.env, DST_DATABASE_URL: loginUrl(s, login), RESTORE_ROLE: restorer });
  expect(pre.rehearseExitCode, pre.reason).toBe(2);
  expect(pre.reason).toMatch(
    new RegExp(`RESTORE_ROLE=${restorer}: ${restorer} itself has membership in pg_execute_server_program`),
  );
  expect(fs.existsSync(pwned)).toBe(false);
});

test('E1: a valid RESTORE_ROLE set-up (a plain login, a member of the restore role) restores green; the program does not run', async () => {
  const { s, pwned, restorer } = await attack();
  const login = await role(`LOGIN NOSUPERUSER PASSWORD '${s.password.replace(/'/g, "''")}'`);
  await onTarget(`GRANT ${restorer} TO ${login}`);
  const phases = await copyInProcess({ ...s.env, DST_DATABASE_URL: loginUrl(s, login), RESTORE_ROLE: restorer });
  expect(
    phases.map((p) => `${p.name}:${p.status}`),
    phases.map((p) => p.reason).join('\n'),
  ).toEqual(['preflight:ok', 'dump:ok', 'restore:ok', 'mirror:ok']);
  expect(await userTables(s)).toEqual(['te1']);
  // Restored as the restore role (SET ROLE), never as the login.
  const owner = await s.dst.query(
    `SELECT pg_catalog.pg_get_userbyid(relowner) AS o FROM pg_catalog.pg_class WHERE oid = 'public.te1'::regclass`,
  );
  expect(owner.rows[0].o).toBe(restorer);
  expect(fs.existsSync(pwned)).toBe(false);
});

test('E1, the fault is real: without the preflight rule, the restore as RESTORE_ROLE under a superuser login runs the program', async () => {
  const { s, superLogin, pwned, restorer } = await attack();
  await onTarget(`GRANT ${restorer} TO ${superLogin}`);
  // The preflight of the same run without RESTORE_ROLE (passes), then dump and restore WITH it: what ran before the rule.
  fs.mkdirSync(s.workDir, { recursive: true, mode: 0o700 });
  const log = new PhaseLog(path.join(s.workDir, 'logs', 'test.log'));
  const io = { log, say: (l: string) => log.line(l) };
  const { outcome, facts } = await preflightStep(configOf({ ...s.env, WORK_DIR: s.workDir }), io);
  applyToolPaths(outcome.details?.tools ?? {});
  const config = configOf({ ...s.env, WORK_DIR: s.workDir, RESTORE_ROLE: restorer });
  const state: RunState = { runId: 'e1-fault', mode: 'full', startedAt: '', workDir: s.workDir, phases: [], tools: {} };
  const ctx = { config, state, workDir: s.workDir, ...io };
  const { archive } = await dumpStep(ctx, facts);
  await restoreStep(ctx, archive, facts);
  expect(fs.readFileSync(pwned, 'utf8')).toBe(`${superLogin}\t${superLogin}\n`);
});
