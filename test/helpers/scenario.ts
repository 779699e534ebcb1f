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
import { inject, onTestFinished } from 'vitest';
import { writeAssetTree } from '../../lib/fixture.ts';
import { startHealthServer, type HealthServer } from '../../lib/health-server.ts';
import { withClient } from '../../lib/sandbox.ts';
import { freshDb, sandbox, type TestDb } from './sandbox.ts';

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
    src, dst, srcAssets, dstAssets, workDir, reportsDir, tmp, health,
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
const SCRUB = /^(SRC_|DST_|PG|VALIDATE_|ROWCOUNT_|ASSETS?_|DUMP_|RESTORE_|ORPHAN_|CHECKSUM|STAGING_|HEALTH_|WORK_DIR|REPORTS_DIR|REHEARSAL_|CHECK_CONCURRENCY|CONNECT_TIMEOUT|VITEST)/;

export function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!SCRUB.test(k)) env[k] = v;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  env.FORCE_COLOR = '0';
  env.NO_COLOR = '1';
  return env;
}

/** Run one of the project's CLIs (scripts/<name>.ts) as a user would, with exactly `env` (plus PATH etc.). */
export function runCli(script: string, args: string[], env: Record<string, string | undefined>, opts: { timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'scripts', `${script}.ts`), ...args], {
      cwd: opts.cwd ?? ROOT,
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout.on('data', (d) => { stdout += d; output += d; });
    child.stderr.on('data', (d) => { stderr += d; output += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 170_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, output });
    });
  });
}

/** `npm run rehearse -- <args>` equivalent. */
export function rehearse(args: string[], env: Record<string, string | undefined>, opts?: { timeoutMs?: number }): Promise<CliResult> {
  return runCli('rehearse', args, env, opts);
}

/** Every file under `dirs` whose bytes contain `secret` (raw or in a common encoding). */
export function filesContaining(dirs: string[], secret: string): string[] {
  const needles = [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)].map((s) => Buffer.from(s));
  const hits: string[] = [];
  const walk = (p: string) => {
    let st: fs.Stats;
    try { st = fs.lstatSync(p); } catch { return; }
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    } else if (st.isFile()) {
      let buf = fs.readFileSync(p);
      if (p.endsWith('.gz')) {
        try { buf = gunzipSync(buf); } catch { /* not gzip */ }
      }
      if (needles.some((n) => buf.includes(n))) hits.push(p);
    }
  };
  for (const d of dirs) walk(d);
  return hits;
}

/** The testcases of a junit.xml: name, classname, and whether each failed or was skipped. */
export function junitCases(xml: string): Array<{ name: string; classname: string; failed: boolean; skipped: boolean; body: string }> {
  const cases: Array<{ name: string; classname: string; failed: boolean; skipped: boolean; body: string }> = [];
  const re = /<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  const attr = (a: string, n: string) => {
    const m = new RegExp(`\\b${n}="([^"]*)"`).exec(a);
    return m ? unescapeXml(m[1]) : '';
  };
  for (let m; (m = re.exec(xml)); ) {
    const body = m[3] ?? '';
    cases.push({ name: attr(m[1], 'name'), classname: attr(m[1], 'classname'), failed: /<failure\b|<error\b/.test(body), skipped: /<skipped\b/.test(body), body });
  }
  return cases;
}

export function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d))).replace(/&amp;/g, '&');
}

/**
 * Copy the scenario's source into its target by hand (raw pg_dump | pg_restore, and a plain file copy of the assets),
 * independently of the suite's own copy phases: for testing the checks with `--verify-only`.
 */
export async function migrateByHand(s: Scenario): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  const { libpqEnv, parseDsn } = await import('../../lib/dsn.ts');
  const dump = path.join(s.tmp, 'by-hand.dump');
  const base = { PATH: process.env.PATH ?? '' };
  execFileSync('pg_dump', ['--format=custom', '--no-owner', '--no-acl', `--file=${dump}`], { env: { ...base, ...libpqEnv(parseDsn(s.src.url)) } });
  execFileSync('pg_restore', ['--no-owner', '--no-acl', '--single-transaction', '--exit-on-error', `--dbname=${s.dst.name}`, dump], {
    env: { ...base, ...libpqEnv(parseDsn(s.dst.url)) },
  });
  await s.dst.query('ANALYZE');
  fs.cpSync(s.srcAssets, s.dstAssets, { recursive: true });
}
