/**
 * The scale engines through the real CLI (issue 28): COPY_ENGINE=pgcopydb and ASSETS_ENGINE=fpsync run the rehearsal's
 * own pipeline (lib/phases/pipeline.ts → lib/phases/engines/steps.ts). A whole rehearsal of the demo world is green
 * with the same check names (`phase dump` skipped with the engine's reason, `phase restore` the copy), a repeat with
 * DST_DROP_SCHEMA=1 is green (the marker the copy left lets the drop remove it), a real-world case is green (its copy
 * by both engines and every check family in-process: test/helpers/pipeline.ts, test/helpers/family.ts), and a source
 * pgcopydb cannot copy safely (a foreign server under ISOLATION=detach) is refused with exit 2 before anything is
 * written. No process of a run ever carries the password on its command line (every /proc/<pid>/cmdline polled).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { FAMILIES } from '../../lib/checks/registry.ts';
import { describe, failedNames, runFamilies } from '../helpers/family.ts';
import { copyInProcess, statuses } from '../helpers/pipeline.ts';
import { caseScenario, loadCaseSql } from '../helpers/real-world-case.ts';
import {
  expectNoSecret,
  expectOutcome,
  junitCases,
  latestJunit,
  rehearse,
  scenario,
  stateOf,
  type CliResult,
} from '../helpers/scenario.ts';

const ENGINES = { COPY_ENGINE: 'pgcopydb', COPY_JOBS: '2', ASSETS_ENGINE: 'fpsync', ASSETS_JOBS: '2' };

/** Every process's command line right now (the engine test's way: /proc/<pid>/cmdline). */
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

/** Run `fn` while polling every command line for `password`; returns fn's result and the engines seen running. */
async function watchingArgv<T>(password: string, fn: () => Promise<T>): Promise<{ r: T; seen: Set<string> }> {
  const seen = new Set<string>();
  let leaked: string | undefined;
  const spy = setInterval(() => {
    for (const line of allCmdlines()) {
      // fpsync is a shell script: its argv[0] is the shell, its path the first argument.
      for (const m of line
        .split(' ')
        .slice(0, 2)
        .join(' ')
        .matchAll(/(?:^|\/)(pgcopydb|fpsync|fpart)(?= |$)/g))
        seen.add(m[1]);
      if (line.includes(password) || line.includes(encodeURIComponent(password))) leaked = line;
    }
  }, 25);
  try {
    const r = await fn();
    expect(leaked, 'a command line held the password').toBeUndefined();
    return { r, seen };
  } finally {
    clearInterval(spy);
  }
}

function expectEngineRun(r: CliResult, phases: Record<string, string> | undefined) {
  expect(r.output).toContain('this copy is NOT atomic');
  expect(phases).toEqual({ preflight: 'ok', dump: 'skipped', restore: 'ok', mirror: 'ok' });
}

test('demo world: a full rehearsal with COPY_ENGINE=pgcopydb and ASSETS_ENGINE=fpsync is green under the same check names, and a repeat with DST_DROP_SCHEMA=1 too', async () => {
  const s = await scenario();
  const { r, seen } = await watchingArgv(s.password, () => rehearse([], { ...s.env, ...ENGINES }));
  expect(r.code, r.output.slice(-6000)).toBe(0);
  expectEngineRun(r, Object.fromEntries(stateOf(s)!.phases.map((p) => [p.name, p.status])));
  // pgcopydb and fpsync run for seconds and are seen by the 25 ms poll; fpart crawls the small demo tree in less than
  // one poll (a run missed it), so its evidence is fpsync's own log of its partitions, in the mirror's phase log.
  expect([...seen].sort()).toEqual(expect.arrayContaining(['fpsync', 'pgcopydb']));
  expect(fs.readFileSync(path.join(s.workDir, 'logs', 'mirror.log'), 'utf8')).toMatch(
    /\[FPART\] Partition \d+ written[\s\S]*Fpart crawling finished/,
  );
  // No archive under pgcopydb: the TOC-based `schema coverage` has nothing to read (said in README, Scale engines).
  const NO_ARCHIVE = { skipped: [/^schema coverage/] };
  const cases = expectOutcome(junitCases(latestJunit(s)), {}, NO_ARCHIVE);
  const dump = cases.find((c) => c.name === 'phase dump')!;
  expect(dump.skipped).toBe(true);
  expect(dump.body).toContain('COPY_ENGINE=pgcopydb copies table by table');
  expect(cases.find((c) => c.name === 'phase restore')!.skipped).toBe(false);
  const restore = stateOf(s)!.phases.find((p) => p.name === 'restore')!;
  expect(restore.reason).toMatch(/copied by pgcopydb .*NOT atomic.*marked as a rehearsal copy/);
  expect((restore.details as { commands: string[] }).commands.join('\n')).toMatch(/pgcopydb clone/);
  await expectNoSecret(s, r);

  // The repeat: the target holds the previous copy (marked); DST_DROP_SCHEMA=1 drops what it created, then copies.
  // Judged by the families that see a copy go wrong (rows, schema, assets); the first run showed every check name.
  const again = await rehearse(['--select', 'row-counts,schema-parity,assets'], {
    ...s.env,
    ...ENGINES,
    DST_DROP_SCHEMA: '1',
  });
  expect(again.code, again.output.slice(-6000)).toBe(0);
  expectEngineRun(again, Object.fromEntries(stateOf(s)!.phases.map((p) => [p.name, p.status])));
  expect(again.output).toMatch(/DST_DROP_SCHEMA: .* \(a separate step before pgcopydb/);
  const repeated = expectOutcome(
    junitCases(latestJunit(s)),
    {},
    {
      ...NO_ARCHIVE,
      files: /^specs\/(phases|row-counts|schema-parity|assets)\.spec\.ts$/,
    },
  );
  expect(new Set(repeated.map((c) => c.classname)).size).toBe(4);
  await expectNoSecret(s, again);
}, 400_000);

test('real-world case rw01-enum through both engines: green', async () => {
  const s = await caseScenario();
  await loadCaseSql(s, 'rw01-enum.sql');
  // The copy phases in-process (the demo world above is the whole run: its exit code, console and check names).
  const phases = await copyInProcess({ ...s.env, ...ENGINES });
  // No dump phase under pgcopydb (phase-schedule: the restore is the copy).
  expect(statuses(phases), JSON.stringify(phases, null, 1).slice(-6000)).toEqual({
    preflight: 'ok',
    restore: 'ok',
    mirror: 'ok',
  });
  // The engines really ran: pgcopydb's clone made the restore, fpsync (its fpart crawl in the phase log) the mirror.
  const restore = phases.find((p) => p.name === 'restore')!;
  expect(restore.reason).toMatch(/copied by pgcopydb .*NOT atomic/);
  expect(restore.details).toMatchObject({ engine: 'pgcopydb' });
  expect((restore.details as { commands: string[] }).commands.join('\n')).toMatch(/pgcopydb clone/);
  const mirror = phases.find((p) => p.name === 'mirror')!;
  expect(mirror.reason).toMatch(/ by fpsync \(2 workers\)/);
  expect(mirror.details).toMatchObject({ engine: 'fpsync' });
  expect(fs.readFileSync(mirror.logFile!, 'utf8')).toMatch(
    /\[FPART\] Partition \d+ written[\s\S]*Fpart crawling finished/,
  );
  // Every family on the copy: green.
  const outcomes = await runFamilies(
    s,
    FAMILIES.map((f) => f.id),
    { env: ENGINES },
  );
  expect(failedNames(outcomes), describe(outcomes)).toEqual([]);
  expect(outcomes.some((o) => o.name === 'row count public.people' && o.verdict?.status === 'pass')).toBe(true);
}, 300_000);

test('COPY_ENGINE=pgcopydb on a source wired to another server (ISOLATION=detach): exit 2 before any write', async () => {
  const s = await scenario({ assets: false });
  await s.src.query(
    `CREATE EXTENSION IF NOT EXISTS postgres_fdw; CREATE SERVER billing FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'billing.invalid', dbname 'x')`,
  );
  const r = await rehearse([], { ...s.env, ...ENGINES, HEALTH_CHECK: '0' });
  expect(r.code, r.output.slice(-4000)).toBe(2);
  expect(r.output).toMatch(/COPY_ENGINE=pgcopydb refused: .*foreign server billing.*use COPY_ENGINE=pg_dump/s);
  const tables = await s.dst.query(
    `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname !~ '^pg_toast' AND c.relkind IN ('r','p','S','v')`,
  );
  expect(tables.rows[0].n, 'the target was written').toBe(0);
  expect(fs.readdirSync(s.dstAssets)).toEqual([]);
}, 200_000);

test('--dry-run shows the pgcopydb and fpsync commands, redacted, and the not-atomic line', async () => {
  const s = await scenario();
  const r = await rehearse(['--dry-run'], { ...s.env, ...ENGINES });
  expect(r.code, r.output.slice(-4000)).toBe(0);
  expect(r.stdout).toMatch(/dump:\n\s+# skipped: COPY_ENGINE=pgcopydb copies table by table/);
  expect(r.stdout).toMatch(/PGCOPYDB_TARGET_PGURI='postgresql:\/\/[^']*' .*pgcopydb clone --dir=/);
  expect(r.stdout).toContain('this copy is NOT atomic');
  expect(r.stdout).toMatch(/fpsync -v -v -n 2 /);
  await expectNoSecret(s, r);
}, 120_000);
