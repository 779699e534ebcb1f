/**
 * Issue 26, "a numeric password (`2026`) breaks the audit trail": a real full run (CLI, private source and target
 * clusters whose role's password is `2026`, both servers logging every statement and connection) is green, writes a
 * valid checks.json and a junit.xml, and the password appears nowhere as a secret.
 *
 * How the digits of a date are told from the password: `2026` is also the year in every run id, timestamp and server
 * log line, and the source holds a table `y2026` of exactly 2026 rows. A literal grep for `2026` therefore proves
 * nothing. Instead (1) every place a secret is written — URL userinfo (`:2026@`), `password=…`, `PGPASSWORD=…`, a
 * `"…password": …` JSON key, SQL `PASSWORD '…'` — is searched for the password in the console, WORK_DIR (dump
 * included), REPORTS_DIR and both server logs, and must not be there; and (2) the numbers that merely read like the
 * password are asserted unchanged: the run id's year, the table name `y2026` and its row count 2026 in the evidence
 * (the redaction masks a number-like secret only where secrets go, never as a literal: lib/core/redact.ts numberLike).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, onTestFinished } from 'vitest';
import { loadFixture, writeAssetTree } from '../../lib/sandbox/fixture.ts';
import { startHealthServer } from '../../lib/sandbox/health-server.ts';
import { clusterUrl, createDatabase, startSandbox, stopSandbox, withClient } from '../../lib/sandbox/clusters.ts';
import { caseEvidence, junitCases, rehearse, tempDir } from '../helpers/scenario.ts';

const PASSWORD = '2026';

/** Where a secret goes, holding this password (case-insensitive; not when more digits follow or precede it). */
const SECRET_CONTEXTS: RegExp[] = [
  /:\/\/[^\s:@/]*:2026@/i, // URL userinfo
  /:2026@/,
  /(?:ssl)?password\s*=\s*['"]?2026(?!\d)/i, // keyword DSN, URL query, PGPASSWORD=
  /PGPASSWORD\s*[=:]\s*['"]?2026(?!\d)/i,
  /password\\?["']?\s*:\s*\\?["']?2026(?!\d)/i, // "password": "2026" (also JSON inside a string)
  /PASSWORD\s+'2026'/i, // SQL ALTER/CREATE ROLE … PASSWORD '…'
];

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  }
  return out;
}

/** `file: the matching context` for every secret-shaped occurrence of the password in `texts`. */
function secretHits(texts: Array<[string, string]>): string[] {
  const hits: string[] = [];
  for (const [name, text] of texts)
    for (const re of SECRET_CONTEXTS) {
      const m = re.exec(text);
      if (m) hits.push(`${name}: …${text.slice(Math.max(0, m.index - 40), m.index + m[0].length + 20)}…`);
    }
  return hits;
}

test('a role whose password is 2026 (digits only, also the year in every run id and log line): a full run is green, checks.json is valid, junit.xml is written, and the password is nowhere as a secret while every number stays as it was', async () => {
  const state = await startSandbox({ password: PASSWORD });
  onTestFinished(() => stopSandbox(state));
  const src = state.clusters.source!;
  const dst = state.clusters.target!;
  for (const c of [src, dst])
    await withClient(c, c.database, async (cl) => {
      await cl.query(`ALTER SYSTEM SET log_statement = 'all'`);
      await cl.query(`ALTER SYSTEM SET log_connections = 'on'`);
      await cl.query(`ALTER SYSTEM SET log_min_error_statement = 'error'`);
      await cl.query('SELECT pg_catalog.pg_reload_conf()');
    });
  await createDatabase(src, 'app');
  await createDatabase(dst, 'app');
  const tmp = tempDir('rehearsal-numeric-');
  const srcAssets = path.join(tmp, 'src-data');
  const dstAssets = path.join(tmp, 'dst-data');
  fs.mkdirSync(srcAssets);
  fs.mkdirSync(dstAssets);
  await withClient(src, 'app', async (c) => {
    await loadFixture(c, { users: 30 });
    // A table whose name and row count read like the password: both must reach the evidence unchanged.
    await c.query('CREATE TABLE public.y2026 (id int PRIMARY KEY)');
    await c.query('INSERT INTO public.y2026 SELECT g FROM generate_series(1, 2026) g');
    await writeAssetTree(c, srcAssets);
  });
  const health = await startHealthServer();
  onTestFinished(() => health.close());
  const workDir = path.join(tmp, 'work');
  const reportsDir = path.join(tmp, 'reports');
  const srcUrl = clusterUrl(src, 'app');
  expect(srcUrl, 'the DSN carries the password as URL userinfo').toContain(`:${PASSWORD}@`);

  const r = await rehearse([], {
    SRC_DATABASE_URL: srcUrl,
    DST_DATABASE_URL: clusterUrl(dst, 'app'),
    SRC_ASSETS_DIR: srcAssets,
    DST_ASSETS_DIR: dstAssets,
    STAGING_API_BASE_URL: health.url,
    WORK_DIR: workDir,
    REPORTS_DIR: reportsDir,
  });
  expect(r.code, r.output.slice(-4000)).toBe(0);
  // The console's verdict counts (it said "0 passed" when the redaction rewrote numbers).
  const verdict = /(\d+) passed, (\d+) failed/.exec(r.output);
  expect(verdict, r.output.slice(-2000)).not.toBeNull();
  expect(Number(verdict![1])).toBeGreaterThan(50);
  expect(Number(verdict![2])).toBe(0);

  const runs = path.join(reportsDir, 'runs');
  const [runId] = fs.readdirSync(runs);
  // Numbers that read like the password are evidence, never rewritten: the run id keeps its year.
  expect(runId).toMatch(/^2026\d{4}T\d{6}Z-/);
  expect(r.output).toContain(runId);
  const runDir = path.join(runs, runId);
  const checksJson = JSON.parse(fs.readFileSync(path.join(runDir, 'checks.json'), 'utf8'));
  expect(checksJson).toBeTruthy();
  const junit = fs.readFileSync(path.join(runDir, 'junit.xml'), 'utf8');
  const cases = junitCases(junit);
  expect(cases.filter((c) => c.failed).map((c) => c.name)).toEqual([]);
  const y = cases.find((c) => c.name === 'row count public.y2026');
  expect(y, `no testcase "row count public.y2026" in ${cases.length}`).toBeDefined();
  expect(caseEvidence(cases, 'row count public.y2026').join('\n')).toMatch(/\b2026\b/);
  expect(JSON.stringify(checksJson)).toContain('y2026');

  // (1) The password is nowhere a secret goes: console, WORK_DIR (the dump too), REPORTS_DIR, both server logs.
  const files = [...filesUnder(workDir), ...filesUnder(reportsDir), src.logFile, dst.logFile];
  const texts: Array<[string, string]> = [
    ['console', r.output],
    ...files.map((f): [string, string] => [f, fs.readFileSync(f, 'latin1')]),
  ];
  // The detector itself finds each shape (so an empty result means something) and leaves dates and counts alone.
  for (const shape of [
    `postgresql://rehearsal:${PASSWORD}@127.0.0.1:5432/app`,
    `host=h password=${PASSWORD} user=u`,
    `PGPASSWORD=${PASSWORD}`,
    '{"password": "2026"}',
    "ALTER ROLE r PASSWORD '2026'",
  ])
    expect(secretHits([['probe', shape]]).length, shape).toBeGreaterThan(0);
  expect(secretHits([['probe', `run ${runId}, 2026 rows in y2026, 2026-12-07 10:00:00 UTC`]])).toEqual([]);
  expect(secretHits(texts)).toEqual([]);
  // The server logs really logged the run's statements and connections (so their silence means something).
  const dstLog = fs.readFileSync(dst.logFile, 'utf8');
  expect(dstLog).toMatch(/statement: /);
  expect(dstLog).toMatch(/connection authorized: user=rehearsal database=app/);
  // DSNs in the output are masked, not dropped.
  expect(r.output).toMatch(/:\*\*\*@127\.0\.0\.1:\d+\/app/);
  // (2) No number was masked: no mask glued to a digit anywhere in the console or the text reports.
  const textReports = filesUnder(runDir).filter((f) => /\.(json|xml|md|txt|log)$/.test(f));
  for (const [name, text] of [
    ['console', r.output] as const,
    ...textReports.map((f) => [f, fs.readFileSync(f, 'utf8')] as const),
  ])
    expect(/\d\*\*\*|\*\*\*\d/.test(text), `${name}: a mask glued to a digit (a number rewritten)`).toBe(false);
}, 400_000);
