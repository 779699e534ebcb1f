/**
 * COPY_ENGINE=pgcopydb against real clusters (lib/phases/engines/pgcopydb.ts): the sandbox fixture cloned into an empty
 * target matches the source table by table (row count and an md5 of every row); no process of the copy ever carries
 * the password on its command line (every /proc/<pid>/cmdline read while the copy runs); an interrupted copy leaves
 * no process behind; a source wired to another server is refused under ISOLATION=detach before anything runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { closePools, getPool } from '../../lib/core/db.ts';
import { parseDsn } from '../../lib/core/dsn.ts';
import { PhaseError } from '../../lib/core/errors.ts';
import { withClient } from '../../lib/sandbox/clusters.ts';
import { FIXTURE_TABLES, loadFixture } from '../../lib/sandbox/fixture.ts';
import {
  PGCOPYDB_NOT_ATOMIC,
  pgcopydbFilterPlan,
  pgcopydbPlan,
  pgcopydbRefusal,
  probePgcopydb,
  readFilterFacts,
  runPgcopydb,
  startPgcopydb,
} from '../../lib/phases/engines/pgcopydb.ts';
import { sessionMembers } from '../../lib/phases/engines/process-group.ts';
import { freshDb, type TestDb } from '../helpers/sandbox.ts';

afterAll(() => closePools());

function workDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'engines-pgcopydb-'));
}

function configFor(src: TestDb, dst: TestDb, copyJobs = 2) {
  return { src: parseDsn(src.url), dst: parseDsn(dst.url), copyJobs, copySplitTablesMb: 0, connectTimeoutMs: 10_000 };
}

/** Every process's command line, as the kernel shows it to anyone on the machine. */
function allCmdlines(): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      out.push(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Per table: row count and md5 over every row's text, in a stable order. */
async function tableDigest(db: TestDb, table: string): Promise<string> {
  const r = await db.query(
    `SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') AS d FROM public.${table} t`,
  );
  return r.rows[0].d as string;
}

test('the fixture cloned by pgcopydb into an empty target matches the source table by table, and no cmdline ever holds the password', async () => {
  const src = await freshDb('source');
  const dst = await freshDb('target');
  await withClient(src.cluster, src.name, (c) => loadFixture(c, { users: 300 }));
  const config = configFor(src, dst);
  const plan = pgcopydbPlan(config, workDir(), { sessionSettings: [['maintenance_work_mem', '128MB']] });
  const said: string[] = [];
  const seen = new Set<string>();
  const password = config.src.password!;
  expect(password.length).toBeGreaterThan(5);
  let leaked: string | undefined;
  const spy = setInterval(() => {
    for (const line of allCmdlines()) {
      if (/pgcopydb|pg_dump|pg_restore/.test(line)) seen.add(line.split(' ')[0]);
      if (line.includes(password) || line.includes(encodeURIComponent(password))) leaked = line;
    }
  }, 25);
  try {
    const r = await runPgcopydb(plan, [config.src, config.dst], { say: (l) => said.push(l) });
    expect(r.code).toBe(0);
  } finally {
    clearInterval(spy);
  }
  expect(leaked, 'a process command line carried the password').toBeUndefined();
  expect(
    [...seen].some((s) => /pgcopydb|setpriv/.test(s)),
    `processes seen: ${[...seen].join(', ')}`,
  ).toBe(true);
  expect(said[0]).toBe(PGCOPYDB_NOT_ATOMIC);
  expect(said.some((l) => /^progress: step \d+\/10/.test(l))).toBe(true);
  expect(said.at(-1)).toMatch(/^done: step 10\/10/);
  expect(fs.existsSync(plan.passfile), 'the passfile is removed after the run').toBe(false);
  for (const t of FIXTURE_TABLES) expect(await tableDigest(dst, t), t).toBe(await tableDigest(src, t));
  // A seeded difference is seen by the same comparison (the check can be red).
  await dst.query("UPDATE public.users SET email = email || 'x' WHERE id = (SELECT min(id) FROM public.users)");
  expect(await tableDigest(dst, 'users')).not.toBe(await tableDigest(src, 'users'));
});

test('an interrupted pgcopydb copy leaves no process of it behind', async () => {
  const src = await freshDb('source');
  const dst = await freshDb('target');
  await src.query(`CREATE TABLE big (id bigint PRIMARY KEY, v text);
    INSERT INTO big SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 400000) g;
    CREATE INDEX ON big (v);`);
  const config = configFor(src, dst, 1);
  const plan = pgcopydbPlan(config, workDir());
  let copying!: () => void;
  const copyStarted = new Promise<void>((r) => (copying = r));
  const run = startPgcopydb(plan, [config.src, config.dst], {
    onProgress: (p) => {
      if (p.copiesStarted > 0) copying();
    },
  });
  await copyStarted;
  const during = sessionMembers(run.pid);
  expect(during.length, 'pgcopydb and its workers run in the session').toBeGreaterThan(1);
  await run.stop();
  const r = await run.result;
  expect(r.stopped).toBe(true);
  expect(r.code).not.toBe(0);
  expect(sessionMembers(run.pid)).toEqual([]);
  for (const pid of during)
    expect(
      fs.existsSync(`/proc/${pid}/cmdline`) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(plan.dir),
      `pid ${pid}`,
    ).toBe(false);
  // The target's sessions of the copy are gone too (no COPY keeps writing).
  const pool = getPool(parseDsn(dst.url), { max: 1 });
  const left = await pool.query(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name LIKE 'pgcopydb%'",
    [dst.name],
  );
  expect(left.rows[0].n).toBe(0);
});

test('a source wired to another server is refused under ISOLATION=detach, before anything is written', async () => {
  const src = await freshDb('source');
  const dst = await freshDb('target');
  await src.query(`CREATE FOREIGN DATA WRAPPER rehearsal_fdw;
    CREATE SERVER prod_link FOREIGN DATA WRAPPER rehearsal_fdw OPTIONS (host 'prod.invalid', dbname 'app');
    CREATE USER MAPPING FOR CURRENT_USER SERVER prod_link OPTIONS (user 'app', password 'not-a-real-one');`);
  const facts = await readFilterFacts(
    (sql) => src.query(sql),
    (sql) => dst.query(sql),
  );
  expect(facts.outward.map((o) => o.kind).sort()).toEqual(['foreign server', 'user mapping']);
  const plan = pgcopydbFilterPlan(facts, { isolation: 'detach' });
  expect(plan.refusal).toMatch(
    /foreign server prod_link, user mapping .* SERVER prod_link; pgcopydb cannot leave these out/,
  );
  expect(pgcopydbFilterPlan(facts, { isolation: 'keep' }).refusal).toBeUndefined();
  // The error the caller raises is exit 2 (nothing touched): the target is still empty.
  const err = new PhaseError('restore', plan.refusal!, 2);
  expect(err.exitCode).toBe(2);
  const tables = await dst.query("SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace");
  expect(tables.rows[0].n).toBe(0);
});

test('the installed pgcopydb is probed: version, the server majors it knows, its options; a newer major is refused', () => {
  const probe = probePgcopydb();
  expect(probe, 'pgcopydb is installed (scripts/bootstrap.sh)').toBeDefined();
  expect(probe!.version.serverMajors).toContain(15);
  expect(probe!.features).toEqual({ split: true, filters: true, skipExtensions: true });
  expect(pgcopydbRefusal(probe!.version, 15, 15)).toBeUndefined();
  const beyond = Math.max(...probe!.version.serverMajors) + 1;
  expect(pgcopydbRefusal(probe!.version, 15, beyond)).toMatch(
    new RegExp(`target is ${beyond}; use COPY_ENGINE=pg_dump`),
  );
  expect(probePgcopydb('/nonexistent/pgcopydb')).toBeUndefined();
});
