/**
 * The audit trail of real runs (issue 5): JUnit shape, the manifest and its report hashes, history and `latest`,
 * the WORK_DIR copy, the summary, the served HTML report, and no secret in any file.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import { validateJunit } from '../../lib/audit/junit.ts';
import { TOOL_KEYS, listFiles, type Manifest } from '../../lib/audit/manifest.ts';
import type { ChecksFile } from '../../lib/audit/reporter.ts';
import { freePort } from '../../lib/sandbox/clusters.ts';
import { filesContaining, migrateByHand, rehearse, ROOT, scenario } from '../helpers/scenario.ts';

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function runIds(reportsDir: string): string[] {
  return fs.readdirSync(path.join(reportsDir, 'runs')).sort();
}

/** Every report hash in the manifest matches its file, and every file (but the manifest) is listed. */
function expectHashesMatch(runDir: string, m: Manifest) {
  const files = listFiles(runDir).filter((f) => f !== 'manifest.json');
  expect(Object.keys(m.reports).sort()).toEqual(files);
  for (const f of files) expect(m.reports[f].sha256, f).toBe(sha256(path.join(runDir, f)));
}

test('a run leaves a complete, redacted audit trail; a second run is added to the history without touching the first', async () => {
  const s = await scenario();
  await migrateByHand(s);
  s.health.setStatus(500);
  // A health path carrying the database password (a token reused as a password): it lands in a test name, so in
  // every reporter's output, and must be redacted from all of them.
  const env = { ...s.env, STAGING_HEALTH_PATH: `/health?token=${encodeURIComponent(s.password)}` };

  const r1 = await rehearse(['--verify-only'], env);
  expect(r1.code, r1.output).toBe(1);
  const [id1] = runIds(s.reportsDir);
  const run1 = path.join(s.reportsDir, 'runs', id1);

  // JUnit: the common shape, and every check is a test case (same name, file = spec file, classname = family).
  const junitXml = fs.readFileSync(path.join(run1, 'junit.xml'), 'utf8');
  const junit = validateJunit(junitXml);
  expect(junit.problems).toEqual([]);
  const checks = readJson<ChecksFile>(path.join(run1, 'checks.json'));
  expect(checks.checks.length).toBeGreaterThan(100);
  expect(junit.cases.map((c) => `${c.file} › ${c.name}`).sort()).toEqual(
    checks.checks.map((c) => `${c.file} › ${c.name}`).sort(),
  );
  const health = junit.cases.find((c) => c.name.startsWith('health GET'))!;
  expect(health.name).toBe('health GET /health?token=***');
  expect(health.status).toBe('failed');
  expect(health.classname).toBe('health');
  expect(health.properties.map((p) => p.name)).toContain('evidence.1');

  // The manifest.
  const m1 = readJson<Manifest>(path.join(run1, 'manifest.json'));
  expect(m1).toMatchObject({ manifestVersion: 1, runId: id1, mode: 'verify-only', exitCode: 1 });
  expect(Date.parse(m1.finishedAt)).toBeGreaterThan(Date.parse(m1.startedAt));
  for (const k of TOOL_KEYS) expect(m1.tools[k], k).toBeTruthy();
  expect(m1.tools['target server']).toMatch(/^\d+\.\d+$/);
  expect(m1.tools['target vector']).toMatch(/^\d+\.\d+\.\d+$/);
  expect(m1.tools['source vector']).toBe(m1.tools['target vector']);
  expect(m1.config.DST_DATABASE_URL).toMatch(/^postgresql:\/\/rehearsal:\*\*\*@127\.0\.0\.1:\d+\/dst_/);
  expect(m1.config.STAGING_HEALTH_PATH).toBe('/health?token=***');
  expect(m1.phases.map((p) => `${p.name} ${p.status}`)).toEqual([
    'preflight ok', // the read-only preflight runs in every mode
    'dump skipped',
    'restore skipped',
    'mirror skipped',
  ]);
  const plan = readJson<{ assetSample: { seed: string; items: unknown[] } }>(path.join(run1, 'plan.json'));
  expect(m1.assetSampleSeed).toBe(plan.assetSample.seed);
  expect(m1.plan?.assetSample.items).toBe(plan.assetSample.items.length);
  const count = (st: string) => checks.checks.filter((c) => c.state === st).length;
  expect(m1.totals).toEqual({
    passed: count('passed'),
    failed: 1,
    consequences: 0,
    skipped: count('skipped') + count('pending'),
    notSelected: 0,
    warnings: checks.checks.filter((c) => c.warning).length,
  });
  expect(m1.failures).toEqual([
    expect.objectContaining({ file: 'specs/health.spec.ts', name: 'health GET /health?token=***' }),
  ]);
  expect(m1.auditProblems).toEqual([]);
  // Which tool made this trail, where and for whom; the source named (redacted) beside the target.
  expect(m1.provenance).toMatchObject({
    tool: expect.stringMatching(/^migration-rehearsal \d/),
    commit: expect.stringMatching(/^([0-9a-f]{40}(\+dirty)?|not a git checkout)$/),
    vitest: expect.stringMatching(/^\d+\.\d+/),
    node: process.versions.node,
  });
  expect(m1.provenance?.operator).toBeTruthy();
  expect(m1.source?.database).toBeTruthy();
  expect(junitXml).toMatch(/<property name="tool-commit" value="[^"]+"\/>/);
  expectHashesMatch(run1, m1);
  expect(
    ['junit.xml', 'results.json', 'checks.json', 'plan.json', 'html/index.html', 'html/html.meta.json.gz'].filter(
      (f) => !m1.reports[f],
    ),
  ).toEqual([]);
  // The WORK_DIR copy.
  expect(readJson(path.join(s.workDir, 'manifest.json'))).toEqual(m1);

  // History pointers and the CI copy.
  expect(fs.readlinkSync(path.join(s.reportsDir, 'latest'))).toBe(`runs/${id1}`);
  expect(readJson(path.join(s.reportsDir, 'latest.json'))).toMatchObject({
    runId: id1,
    dir: `runs/${id1}`,
    exitCode: 1,
  });
  expect(fs.readFileSync(path.join(s.reportsDir, 'junit.xml'), 'utf8')).toBe(junitXml);

  // The summary.
  const lines = r1.stdout.trimEnd().split('\n');
  expect(r1.stdout).toContain(`rehearsal ${id1}: verify-only`);
  expect(r1.stdout).toMatch(new RegExp(`checks: +${m1.totals.passed} passed, 1 failed, ${m1.totals.skipped} skipped`));
  expect(r1.stdout).toMatch(
    /✗ health GET \/health\?token=\*\*\* {2}\(specs\/health\.spec\.ts\) — health GET .*expected a 2xx status, got HTTP 500/,
  );
  expect(r1.stdout).toContain(`reports:  ${run1}`);
  expect(r1.stdout).toContain(`view:     npx vite preview --outDir ${path.join(run1, 'html')}`);
  expect(lines[lines.length - 1]).toBe(`${m1.totals.passed} passed, 1 failed, ${m1.totals.skipped} skipped`);

  // Second run: the API is healthy again (the family that failed; every family ran in the first run).
  s.health.setStatus(200);
  const r2 = await rehearse(['--verify-only', '--select', 'health'], env);
  expect(r2.code, r2.output).toBe(0);
  const ids = runIds(s.reportsDir);
  expect(ids).toHaveLength(2);
  const id2 = ids.find((i) => i !== id1)!;
  const run2 = path.join(s.reportsDir, 'runs', id2);
  expect(fs.readlinkSync(path.join(s.reportsDir, 'latest'))).toBe(`runs/${id2}`);
  expect(readJson<Manifest>(path.join(s.workDir, 'manifest.json')).runId).toBe(id2);
  const m2 = readJson<Manifest>(path.join(run2, 'manifest.json'));
  expect(m2.totals.failed).toBe(0);
  expectHashesMatch(run2, m2);
  // The first run is untouched.
  expect(readJson(path.join(run1, 'manifest.json'))).toEqual(m1);
  expectHashesMatch(run1, m1);

  // No secret anywhere: every file of both runs (gzip decompressed), the pointers, WORK_DIR, and the console.
  expect(filesContaining([s.reportsDir, s.workDir], s.password)).toEqual([]);
  expect(r1.output + r2.output).not.toContain(s.password);
});

test('the documented command serves the latest HTML report (npm run report)', async () => {
  const s = await scenario();
  await migrateByHand(s);
  // One family is enough for an HTML report to serve (its row counts are read back below).
  const r = await rehearse(['--verify-only', '--select', 'row-counts'], { ...s.env, HEALTH_CHECK: '0' });
  expect(r.code, r.output).toBe(0);
  expect(r.stdout).toContain('npm run report');

  const port = await freePort();
  const child = spawn('npm', ['run', '--silent', 'report', '--', '--port', String(port), '--strictPort'], {
    cwd: ROOT,
    env: { ...process.env, REPORTS_DIR: s.reportsDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: npm → sh → vite, stopped together below
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  onTestFinished(() => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  });
  const base = `http://127.0.0.1:${port}`;
  let index: Response | undefined;
  for (const t0 = Date.now(); Date.now() - t0 < 20_000; await new Promise((ok) => setTimeout(ok, 200))) {
    index = await fetch(`${base}/`).catch(() => undefined);
    if (index) break;
  }
  expect(index?.status, log).toBe(200);
  const html = await index!.text();
  expect(html).toContain('html.meta.json.gz');
  const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
  expect((await fetch(`${base}/${script}`)).status).toBe(200);
  const meta = await fetch(`${base}/html.meta.json.gz`);
  expect(meta.status).toBe(200);
  // Served with Content-Encoding: gzip, which fetch (like a browser) undoes.
  expect(meta.headers.get('content-encoding')).toBe('gzip');
  expect(await meta.text()).toContain('row count public.users');
});

test('a full run records what was copied: phase timings, the dump hash and TOC, tool versions, in manifest and summary', async () => {
  const s = await scenario();
  // What was copied is the copy phases' record; one family keeps the checks short.
  const r = await rehearse(['--select', 'row-counts'], s.env);
  expect(r.code, r.output).toBe(0);
  const latest = readJson<{ runId: string }>(path.join(s.reportsDir, 'latest.json'));
  const runDir = path.join(s.reportsDir, 'runs', latest.runId);
  const m = readJson<Manifest>(path.join(runDir, 'manifest.json'));
  expect(m.mode).toBe('full');
  expect(m.phases.map((p) => `${p.name} ${p.status}`)).toEqual(['preflight ok', 'dump ok', 'restore ok', 'mirror ok']);
  for (const p of m.phases) expect(p.durationMs, p.name).toBeGreaterThanOrEqual(0);
  expect(m.dump?.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(Object.keys(m.dump?.toc ?? {})).toContain('TABLE DATA');
  for (const k of TOOL_KEYS) expect(m.tools[k], k).toMatch(/^\d+\.\d+(\.\d+)?$/);
  expectHashesMatch(runDir, m);
  expect(r.stdout).toMatch(/phases:\n {2}preflight +ok .*\n {2}dump +ok .*\n {2}restore +ok .*\n {2}mirror +ok /);
  expect(r.stdout).toMatch(/dump: +custom, [\d.]+ (KiB|MiB), sha256 [0-9a-f]{16}…; TOC: /);
  expect(filesContaining([s.reportsDir, s.workDir], s.password)).toEqual([]);
});
