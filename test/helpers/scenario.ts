/**
 * A complete migration scenario on the sandbox, for end-to-end tests: a source database loaded with the fixture,
 * an empty target database, source and target asset trees, a health endpoint, a WORK_DIR and a REPORTS_DIR;
 * and a way to run the real CLI (`tsx scripts/rehearse.ts`) against it as a child process.
 * Everything is removed when the test finishes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect, inject } from 'vitest';
import { writeAssetTree } from '../../lib/sandbox/fixture.ts';
import { startHealthServer, type HealthServer } from '../../lib/sandbox/health-server.ts';
import { withClient } from '../../lib/sandbox/clusters.ts';
import { cliCommand } from '../../lib/core/project.ts';
import { freshDb, sandbox, type TestDb } from './sandbox.ts';
import { onTestFinished } from './concurrent.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface Scenario {
  src: TestDb;
  dst: TestDb;
  srcAssets: string;
  dstAssets: string;
  workDir: string;
  reportsDir: string;
  /** A scratch directory removed with the scenario. */
  tmp: string;
  health: HealthServer;
  /** The environment a user would export for this scenario (contract variables only). */
  env: Record<string, string>;
  password: string;
}

export interface ScenarioOptions {
  /** Load the fixture into the source (default true); false leaves it empty. */
  fixture?: boolean;
  /** Write the asset tree into the source assets dir (default true). */
  assets?: boolean;
}

/** Make a temp dir removed when the current test finishes. */
export function tempDir(prefix = 'rehearsal-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  onTestFinished(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

export async function scenario(opts: ScenarioOptions = {}): Promise<Scenario> {
  const src = await freshDb('source', opts.fixture === false ? {} : { template: inject('fixtureTemplate') });
  const dst = await freshDb('target');
  const tmp = tempDir();
  const srcAssets = path.join(tmp, 'src-data');
  const dstAssets = path.join(tmp, 'dst-data');
  fs.mkdirSync(srcAssets);
  fs.mkdirSync(dstAssets);
  if (opts.fixture !== false && opts.assets !== false) {
    await withClient(src.cluster, src.name, (c) => writeAssetTree(c, srcAssets));
  }
  const health = await startHealthServer();
  onTestFinished(() => health.close());
  const workDir = path.join(tmp, 'work');
  const reportsDir = path.join(tmp, 'reports');
  return {
    src,
    dst,
    srcAssets,
    dstAssets,
    workDir,
    reportsDir,
    tmp,
    health,
    password: sandbox().password,
    env: {
      SRC_DATABASE_URL: src.url,
      DST_DATABASE_URL: dst.url,
      SRC_ASSETS_DIR: srcAssets,
      DST_ASSETS_DIR: dstAssets,
      STAGING_API_BASE_URL: health.url,
      WORK_DIR: workDir,
      REPORTS_DIR: reportsDir,
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout + stderr. */
  output: string;
}

/** Variables of the contract and libpq that must not leak in from the developer's shell. */
const SCRUB =
  /^(SRC_|DST_|PG|CUTOVER_|BENCH_|VALIDATE_|ROWCOUNT_|ASSETS?_|DUMP_|RESTORE_|ORPHAN_|CHECKSUM|STAGING_|HEALTH_|WORK_DIR|REPORTS_DIR|REHEARSAL_|CHECK_CONCURRENCY|CONNECT_TIMEOUT|VITEST)/;

export function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!SCRUB.test(k)) env[k] = v;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  env.FORCE_COLOR = '0';
  env.NO_COLOR = '1';
  return env;
}

/**
 * With SELF_CLI_LOG set (npm run test:self sets it), one JSON line per whole CLI run is appended to that file:
 * `{ file, test, script, args, ms, code }` (ms = wall time of the child). test:self sums them per file and script, so
 * the closing lines say how much of the suite's time whole runs take (issue 23: judge in-process, run whole for what
 * only a whole run shows).
 */
function logCliRun(script: string, args: string[], ms: number, code: number): void {
  const file = process.env.SELF_CLI_LOG;
  if (!file) return;
  let testPath = '';
  let test = '';
  try {
    const state = expect.getState();
    testPath = path.relative(ROOT, state.testPath ?? '');
    test = state.currentTestName ?? '';
  } catch {
    /* outside a test (a hook): file and test stay empty */
  }
  const line = JSON.stringify({ file: testPath, test, script, args: args.slice(0, 4), ms: Math.round(ms), code });
  try {
    fs.appendFileSync(file, line + '\n');
  } catch {
    /* the profile is an aid: never a test failure */
  }
}

/** Run one of the project's CLIs (scripts/<name>.ts) as a user would, with exactly `env` (plus PATH etc.). */
export function runCli(
  script: string,
  args: string[],
  env: Record<string, string | undefined>,
  opts: { timeoutMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [file, argv] = cliCommand(script, args);
    const started = performance.now();
    const child = spawn(file, argv, { cwd: opts.cwd ?? ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      output += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      output += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 170_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      logCliRun(script, args, performance.now() - started, code ?? (signal ? 128 : 1));
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, output });
    });
  });
}

/** `npm run rehearse -- <args>` equivalent. */
export function rehearse(
  args: string[],
  env: Record<string, string | undefined>,
  opts?: { timeoutMs?: number },
): Promise<CliResult> {
  return runCli('rehearse', args, env, opts);
}

/** Every file under `dirs` whose bytes contain `secret` (raw or in a common encoding). */
export function filesContaining(dirs: string[], secret: string): string[] {
  const needles = [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)].map((s) => Buffer.from(s));
  const hits: string[] = [];
  const walk = (p: string) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    } else if (st.isFile()) {
      let buf = fs.readFileSync(p);
      if (p.endsWith('.gz')) {
        try {
          buf = gunzipSync(buf);
        } catch {
          /* not gzip */
        }
      }
      if (needles.some((n) => buf.includes(n))) hits.push(p);
    }
  };
  for (const d of dirs) walk(d);
  return hits;
}

/** The testcases of a junit.xml: name, classname, and whether each failed or was skipped. */
export function junitCases(
  xml: string,
): Array<{ name: string; classname: string; family: string; failed: boolean; skipped: boolean; body: string }> {
  const cases: Array<{
    name: string;
    classname: string;
    family: string;
    failed: boolean;
    skipped: boolean;
    body: string;
  }> = [];
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  const attr = (a: string, n: string) => {
    const m = new RegExp(`\\b${n}="([^"]*)"`).exec(a);
    return m ? unescapeXml(m[1]) : '';
  };
  for (let m; (m = re.exec(xml));) {
    const body = m[3] ?? '';
    cases.push({
      name: attr(m[1], 'name'),
      // The spec file: JUnit's `file` attribute (classname is the check family since the report names families).
      classname: attr(m[1], 'file') || attr(m[1], 'classname'),
      family: attr(m[1], 'classname'),
      failed: /<failure\b|<error\b/.test(body),
      skipped: /<skipped\b/.test(body),
      body,
    });
  }
  return cases;
}

export function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)))
    .replace(/&amp;/g, '&');
}

/**
 * Copy the scenario's source into its target by hand (raw pg_dump | pg_restore, and a plain file copy of the assets),
 * independently of the suite's own copy phases: for testing the checks with `--verify-only`.
 */
export async function migrateByHand(s: Scenario): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  const { libpqEnv, parseDsn } = await import('../../lib/core/dsn.ts');
  const dump = path.join(s.tmp, 'by-hand.dump');
  const base = { PATH: process.env.PATH ?? '' };
  execFileSync('pg_dump', ['--format=custom', '--no-owner', '--no-acl', `--file=${dump}`], {
    env: { ...base, ...libpqEnv(parseDsn(s.src.url)) },
  });
  execFileSync(
    'pg_restore',
    ['--no-owner', '--no-acl', '--single-transaction', '--exit-on-error', `--dbname=${s.dst.name}`, dump],
    {
      env: { ...base, ...libpqEnv(parseDsn(s.dst.url)) },
    },
  );
  await s.dst.query('ANALYZE');
  fs.cpSync(s.srcAssets, s.dstAssets, { recursive: true });
}

/** The junit.xml of the scenario's most recent rehearse run (REPORTS_DIR/runs/<run-id>/junit.xml). */
export function latestJunit(s: Pick<Scenario, 'reportsDir'>): string {
  const runs = path.join(s.reportsDir, 'runs');
  const dirs = fs.existsSync(runs)
    ? fs
        .readdirSync(runs)
        .filter((d) => fs.existsSync(path.join(runs, d, 'junit.xml')))
        .sort((a, b) => fs.statSync(path.join(runs, a)).mtimeMs - fs.statSync(path.join(runs, b)).mtimeMs)
    : [];
  if (!dirs.length) throw new Error(`no junit.xml under ${runs}`);
  return fs.readFileSync(path.join(runs, dirs[dirs.length - 1], 'junit.xml'), 'utf8');
}

/** The scenario's WORK_DIR/state.json (what global setup recorded), or undefined. */
export function stateOf(s: Pick<Scenario, 'workDir'>): import('../../lib/core/state.ts').RunState | undefined {
  const f = path.join(s.workDir, 'state.json');
  return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : undefined;
}

/**
 * A deterministic picture of a database for "exactly as before" comparisons: every schema, relation (with kind),
 * function, type, extension (with version) and the exact row count of every table outside the system schemas.
 */
export async function catalogSnapshot(db: Pick<TestDb, 'query'>): Promise<Record<string, unknown>> {
  const sys = `n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'`;
  const q = async (sql: string) => (await db.query(sql)).rows.map((r) => Object.values(r).join(' '));
  const tables = (
    await db.query(
      `SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND ${sys} ORDER BY 1`,
    )
  ).rows.map((r) => r.t as string);
  const counts: Record<string, number> = {};
  for (const t of tables) counts[t] = Number((await db.query(`SELECT count(*)::int AS n FROM ${t}`)).rows[0].n);
  return {
    schemas: await q(`SELECT n.nspname FROM pg_namespace n WHERE ${sys} ORDER BY 1`),
    relations: await q(
      `SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${sys} ORDER BY 1, 2`,
    ),
    functions: await q(
      `SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${sys} ORDER BY 1, 2, 3`,
    ),
    types: await q(
      `SELECT n.nspname, t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${sys} ORDER BY 1, 2`,
    ),
    extensions: await q(
      `SELECT e.extname, e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1`,
    ),
    counts,
  };
}

/** Every file and directory under `dir` (relative path → size, or "dir"), for "unchanged" comparisons. */
export function treeListing(dir: string): Record<string, number | 'dir'> {
  const out: Record<string, number | 'dir'> = {};
  if (!fs.existsSync(dir)) return out;
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out[r] = 'dir';
        walk(r);
      } else out[r] = fs.lstatSync(path.join(dir, r)).size;
    }
  };
  walk('');
  return out;
}

export type JunitCase = ReturnType<typeof junitCases>[number];

/**
 * Assert the per-check outcome of a run: exactly the testcases named in `failures` failed, each with a failure message
 * matching its pattern; every other testcase passed or (only if listed in `skipped`, or a phase in --verify-only)
 * was skipped. `files` limits the judgement to testcases whose classname (spec file) matches, so other check
 * families reacting to the same seeded fault do not blur the assertion. Returns the cases in scope.
 */
export function expectOutcome(
  all: JunitCase[],
  failures: Record<string, RegExp>,
  opts: { skipped?: Array<string | RegExp>; files?: RegExp } = {},
): JunitCase[] {
  const cases = opts.files ? all.filter((c) => opts.files!.test(c.classname)) : all;
  expect(cases.length, 'testcases in scope').toBeGreaterThan(0);
  const failed = cases
    .filter((c) => c.failed)
    .map((c) => c.name)
    .sort();
  expect(failed, 'the failed testcases').toEqual(Object.keys(failures).sort());
  for (const [name, re] of Object.entries(failures)) {
    const c = cases.find((x) => x.name === name)!;
    expect(unescapeXml(c.body), `failure message of "${name}"`).toMatch(re);
  }
  const allowed = [/^phase (preflight|dump|restore|mirror)$/, ...(opts.skipped ?? [])];
  const unexpected = cases.filter(
    (c) => c.skipped && !allowed.some((a) => (typeof a === 'string' ? a === c.name : a.test(c.name))),
  );
  expect(
    unexpected.map((c) => c.name),
    'unexpectedly skipped testcases',
  ).toEqual([]);
  return cases;
}

/** The evidence annotations of one testcase (JUnit <property> values). */
export function caseEvidence(cases: JunitCase[], name: string): string[] {
  const c = cases.find((x) => x.name === name);
  if (!c)
    throw new Error(
      `no testcase named "${name}"; have: ${cases
        .map((x) => x.name)
        .slice(0, 50)
        .join(' | ')}`,
    );
  return [...c.body.matchAll(/<property name="[^"]*" value="([^"]*)"/g)].map((m) => unescapeXml(m[1]));
}

/** The awkward password is in no CLI output and no file under WORK_DIR or REPORTS_DIR (raw or encoded). */
export async function expectNoSecret(
  s: Pick<Scenario, 'password' | 'workDir' | 'reportsDir'>,
  r: CliResult,
): Promise<void> {
  const { expect } = await import('vitest');
  for (const form of [s.password, encodeURIComponent(s.password), JSON.stringify(s.password).slice(1, -1)]) {
    expect(r.output.includes(form), 'the password (or an encoding of it) appears in the CLI output').toBe(false);
  }
  expect(filesContaining([s.workDir, s.reportsDir], s.password), 'files containing the password').toEqual([]);
}

/** `{ preflight: 'ok', dump: 'failed', ... }` from the scenario's state.json. */
export function phaseStatuses(s: Pick<Scenario, 'workDir'>): Record<string, string> | undefined {
  const st = stateOf(s);
  return st && Object.fromEntries(st.phases.map((p) => [p.name, p.status]));
}

/** The spec files of the core checks (issue 4) and the phases: the scope of expectOutcome in the check tests. */
export const CORE_CHECK_FILES = /^specs\/(row-counts|orphans|assets|path-prefix|health|phases)\.spec\.ts$/;
