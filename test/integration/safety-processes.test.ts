/**
 * Nothing outlives the tool and nothing waits forever: a tool's parent killed with SIGKILL takes the tool with it, two
 * runs cannot share a WORK_DIR or a target, a locked table fails its check naming the holder instead of hanging or
 * "passing" as an estimate.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { expect, onTestFinished, test } from 'vitest';
import { getPool } from '../../lib/core/db.ts';
import { parseDsn } from '../../lib/core/dsn.ts';
import { countRows } from '../../lib/checks/families/row-counts/row-counts.ts';
import { TARGET_LOCK_KEY } from '../../lib/core/run-lock.ts';
import { connect } from '../../lib/sandbox/clusters.ts';
import { eventually, processesReferencing, startRehearse } from '../helpers/hardening.ts';
import { ROOT, cleanEnv, rehearse, scenario } from '../helpers/scenario.ts';

test('SIGKILL of the process running a tool: the tool dies with it (parent-death signal); its query does not go on', async () => {
  const s = await scenario({ fixture: false, assets: false });
  const tag = `orphan_probe_${process.pid}`;
  const script = path.join(s.tmp, 'run-tool.mts');
  fs.writeFileSync(
    script,
    `import { runCommand, pgEnv } from ${JSON.stringify(path.join(ROOT, 'lib/core/tools.ts'))};
     import { parseDsn } from ${JSON.stringify(path.join(ROOT, 'lib/core/dsn.ts'))};
     const d = parseDsn(process.env.T_DSN);
     console.log('started');
     await runCommand({ tool: 'psql', args: ['--no-psqlrc', '--command=SELECT pg_sleep(120) /* ${tag} */', '--dbname=' + d.database], env: pgEnv(d, { connectTimeoutMs: 10000 }) }, { phase: 'restore' });`,
  );
  const child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), [script], {
    cwd: ROOT,
    env: cleanEnv({ T_DSN: s.dst.url }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  const running = () =>
    s.dst.query(`SELECT pid FROM pg_stat_activity WHERE query LIKE '%${tag}%' AND pid <> pg_backend_pid()`);
  // eventually() polls while the value is truthy: here, while the query has not started yet.
  await eventually(async () => (await running()).rowCount === 0, 60_000);
  // tsx runs the script in a child node process: kill that one (the tool's parent) with SIGKILL.
  const nodePid = Number(
    fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .find((d) => {
        try {
          return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(script) && d !== String(child.pid);
        } catch {
          return false;
        }
      }),
  );
  expect(nodePid).toBeGreaterThan(0);
  process.kill(nodePid, 'SIGKILL');
  // psql got SIGKILL from the kernel with its parent: no process carries the query any more. (The server backend
  // finishes its current statement, then finds the client gone and rolls back: nothing can COMMIT for a dead tool.)
  const left = await eventually(() => processesReferencing([tag]), 15_000);
  expect(left).toEqual([]);
});

test('a check process killed mid-query: the server cancels the query within seconds (client_connection_check_interval)', async () => {
  const s = await scenario({ fixture: false, assets: false });
  const tag = `check_probe_${process.pid}`;
  const script = path.join(s.tmp, 'run-check.mts');
  fs.writeFileSync(
    script,
    `import { getPool } from ${JSON.stringify(path.join(ROOT, 'lib/core/db.ts'))};
     import { parseDsn } from ${JSON.stringify(path.join(ROOT, 'lib/core/dsn.ts'))};
     await getPool(parseDsn(process.env.T_DSN)).query('SELECT pg_sleep(300) /* ${tag} */');`,
  );
  const child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), [script], {
    cwd: ROOT,
    env: cleanEnv({ T_DSN: s.dst.url }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  const running = () =>
    s.dst.query(`SELECT pid FROM pg_stat_activity WHERE query LIKE '%${tag}%' AND pid <> pg_backend_pid()`);
  await eventually(async () => (await running()).rowCount === 0, 60_000);
  for (const p of processesReferencing([script])) process.kill(p.pid, 'SIGKILL');
  const stillThere = await eventually(async () => ((await running()).rowCount ?? 0) > 0, 20_000);
  expect(stillThere).toBe(false);
});

test('vitest SIGKILLed during the DST_DROP_SCHEMA pipeline: exit 3 (not "a check failed"), psql dies with it, nothing commits', async () => {
  const s = await scenario({ assets: false });
  await s.dst.query('CREATE TABLE public.old_data (id int)');
  const lock = await connect(s.dst.cluster, s.dst.name);
  onTestFinished(() => lock.end().catch(() => {}));
  await lock.query('BEGIN');
  // psql's DROP SCHEMA public CASCADE waits for this lock, so the kill always lands inside the pipeline.
  await lock.query('LOCK TABLE public.old_data IN ACCESS EXCLUSIVE MODE');
  const run = startRehearse([], { ...s.env, SRC_ASSETS_DIR: undefined, DST_DROP_SCHEMA: s.dst.name });
  await run.waitFor(/\[restore\] DST_DROP_SCHEMA=\S+: drops schema\(s\) public/, 120_000);
  const psqlRunning = () =>
    // The restore's connections are named for the lock-wait watcher (lib/phases/lock-waits.ts).
    s.dst.query(
      `SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'migration-rehearsal restore %' AND datname = current_database()`,
    );
  await eventually(async () => (await psqlRunning()).rowCount === 0, 30_000);
  const vitest = processesReferencing([s.workDir]).filter((p) => /vitest/.test(p.cmdline) && / run /.test(p.cmdline));
  expect(vitest.length, JSON.stringify(processesReferencing([s.workDir]))).toBeGreaterThan(0);
  for (const p of vitest) process.kill(p.pid, 'SIGKILL');
  const r = await run.done;
  expect(r.code, r.output).toBe(3);
  expect(r.output).toMatch(/the check runner \(vitest\) was killed by SIGKILL; no verdict was reached/);
  // The tools died with vitest: no psql session is left to send a COMMIT once the lock is gone.
  expect(await eventually(() => processesReferencing([`--dbname=${s.dst.name}`]), 15_000)).toEqual([]);
  await lock.query('COMMIT');
  await new Promise((res) => setTimeout(res, 2000));
  expect((await s.dst.query(`SELECT to_regclass('public.old_data') IS NOT NULL AS kept`)).rows[0].kept).toBe(true);
});

test('SIGTERM to `npm run rehearse` (what a supervisor sends): npm exits at once, and the run still stops within seconds, recorded as SIGTERM', async () => {
  const s = await scenario({ assets: false });
  const lock = await connect(s.src.cluster, s.src.name);
  onTestFinished(() => lock.end().catch(() => {}));
  await lock.query('BEGIN');
  // pg_dump waits for this lock, so the run is inside its dump phase when npm is stopped.
  await lock.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
  const npm = spawn('npm', ['run', '--silent', 'rehearse'], {
    cwd: ROOT,
    env: cleanEnv({ ...s.env, SRC_ASSETS_DIR: undefined }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    npm.kill('SIGKILL');
  });
  let output = '';
  npm.stdout!.on('data', (d) => (output += d));
  npm.stderr!.on('data', (d) => (output += d));
  const waitDump = await eventually(() => !/\[dump\] pg_dump/.test(output), 120_000);
  expect(waitDump, output).toBe(false);
  npm.kill('SIGTERM');
  // Nothing of the run is left: the rehearsal noticed its launcher's exit and stopped as for SIGTERM.
  const left = await eventually(() => processesReferencing([s.workDir]), 30_000);
  expect(left, output).toEqual([]);
  const state = JSON.parse(fs.readFileSync(path.join(s.workDir, 'state.json'), 'utf8'));
  expect(state.interrupted?.signal, JSON.stringify(state)).toBe('SIGTERM');
});

test('two runs on one WORK_DIR: the second is refused with exit 2 naming the holder pid and run id', async () => {
  const s = await scenario({ fixture: false, assets: false });
  fs.mkdirSync(s.workDir, { recursive: true });
  // A live process (this test's own) holds the lock as another run would.
  fs.writeFileSync(
    path.join(s.workDir, 'rehearsal.lock'),
    JSON.stringify({ pid: process.pid, runId: '20261130T000000Z-beef', since: new Date().toISOString() }),
  );
  const r = await rehearse([], { ...s.env, SRC_ASSETS_DIR: undefined });
  expect(r.code, r.output).toBe(2);
  expect(r.output).toMatch(
    new RegExp(`WORK_DIR \\S+ is in use by another rehearsal \\(pid ${process.pid}, run 20261130T000000Z-beef`),
  );
  expect(fs.existsSync(path.join(s.workDir, 'state.json'))).toBe(false);
});

test('two runs on one target database: the second is refused with exit 2 naming the holder pid and run id', async () => {
  const s = await scenario({ fixture: false, assets: false });
  const holder = new pg.Client({
    host: s.dst.cluster.host,
    port: s.dst.cluster.port,
    user: s.dst.cluster.user,
    password: s.dst.cluster.password,
    database: s.dst.name,
    application_name: 'migration-rehearsal lock pid=4242 run=20261130T000000Z-cafe',
  });
  await holder.connect();
  onTestFinished(() => holder.end().catch(() => {}));
  await holder.query('SELECT pg_advisory_lock($1::bigint)', [String(TARGET_LOCK_KEY)]);
  const r = await rehearse([], { ...s.env, SRC_ASSETS_DIR: undefined, WORK_DIR: path.join(s.tmp, 'other-work') });
  expect(r.code, r.output).toBe(2);
  expect(r.output).toMatch(
    /target database is being written by another rehearsal \(pid 4242, run 20261130T000000Z-cafe\)/,
  );
});

test('a table locked by another session: the row count fails naming the blocking pid (no hang, no "estimate" pass)', async () => {
  const s = await scenario({ fixture: false, assets: false });
  await s.dst.query('CREATE TABLE public.busy (id int)');
  const lock = await connect(s.dst.cluster, s.dst.name);
  onTestFinished(() => lock.end().catch(() => {}));
  await lock.query('BEGIN');
  await lock.query('LOCK TABLE public.busy IN ACCESS EXCLUSIVE MODE');
  const holderPid = (await lock.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const pool = getPool(parseDsn(s.dst.url), { max: 2 });
  onTestFinished(() => pool.end().catch(() => {}));
  const started = Date.now();
  const err = await countRows(pool, { schema: 'public', name: 'busy' }, 3000).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err?.message).toMatch(
    new RegExp(`lock_timeout.*pid ${holderPid} \\(AccessExclusiveLock on (public\\.)?busy\\)`),
  );
  expect(Date.now() - started).toBeLessThan(60_000);
});
