/**
 * What the operator sees, end to end on real clusters: warnings as a third state everywhere, full lists beside the
 * report, one effective verdict over a run and its reruns, --select/--exclude, and the seed's entry points.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { validateJunit } from '../../lib/audit/junit.ts';
import type { EffectiveView } from '../../lib/audit/effective.ts';
import type { Manifest } from '../../lib/audit/manifest.ts';
import type { ChecksFile } from '../../lib/audit/reporter.ts';
import { cleanEnv, migrateByHand, rehearse, ROOT, runCli, scenario, type Scenario } from '../helpers/scenario.ts';

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
function latestDir(s: Scenario): string {
  return path.join(s.reportsDir, readJson<{ dir: string }>(path.join(s.reportsDir, 'latest.json')).dir);
}

test('warnings are a third state: console, manifest totals, checks.json, JUnit and report.html', async () => {
  const s = await scenario();
  await migrateByHand(s);
  // In both trees (else the every-file census also warns that the source deleted it): one cause, one warning.
  for (const root of [s.srcAssets, s.dstAssets])
    fs.writeFileSync(path.join(root, 'stray-upload.bin'), 'nobody references me');
  const r = await rehearse(['--verify-only', '--select', 'asset-census'], { ...s.env, HEALTH_CHECK: '0' });
  expect(r.code, r.output).toBe(0);
  expect(r.stdout).toMatch(/checks: +\d+ passed, 0 failed, \d+ skipped, 1 warning/);
  expect(r.stdout.trimEnd().split('\n').pop()).toMatch(/^\d+ passed, 0 failed, \d+ skipped, 1 warning$/);
  const dir = latestDir(s);
  const m = readJson<Manifest>(path.join(dir, 'manifest.json'));
  expect(m.totals.warnings).toBe(1);
  expect(m.warnings?.[0].message).toMatch(/stray-upload\.bin/);
  expect(readJson<ChecksFile>(path.join(dir, 'checks.json')).totals?.warnings).toBe(1);
  const xml = fs.readFileSync(path.join(dir, 'junit.xml'), 'utf8');
  expect(validateJunit(xml).problems).toEqual([]);
  expect(xml).toMatch(/<property name="warnings" value="1"\/>/);
  expect(xml).toMatch(/<system-out>[^<]*WARNING: 1 of \d+ files/);
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  expect(html).toMatch(/Warnings and pre-existing source defects \(1\)/);
  expect(html).toMatch(/stray-upload\.bin/);
  expect(fs.readFileSync(path.join(dir, 'summary.md'), 'utf8')).toMatch(/1 warning/);
});

test('full lists: every dangling path in failures/<check>.txt (rclone style), capped by FULL_LIST_MAX with a count', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const rows = await s.dst.query<{ p: string }>('SELECT storage_path AS p FROM ugc_assets ORDER BY id LIMIT 7');
  const gone = rows.rows.map((x) => x.p);
  for (const p of gone) fs.rmSync(path.join(s.dstAssets, p.replace(/^\/app\/\.data\//, '')));
  const env = { ...s.env, HEALTH_CHECK: '0' };
  const r = await rehearse(['--verify-only', '--select', 'asset-census'], env);
  expect(r.code, r.output).toBe(1);
  const file = path.join(latestDir(s), 'failures', 'asset-census-ugc_assets.storage_path.txt');
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  expect(lines.filter((l) => !l.startsWith('#')).sort()).toEqual(gone.map((p) => `missing-on-target ${p}`).sort());
  expect(r.stdout).toMatch(/full-list: failures\/asset-census-ugc_assets\.storage_path\.txt: 7 item\(s\)/);
  expect(readJson<Manifest>(path.join(latestDir(s), 'manifest.json')).fullLists).toMatchObject({
    'asset census ugc_assets.storage_path': 'failures/asset-census-ugc_assets.storage_path.txt',
  });

  const capped = await rehearse(['--verify-only', '--select', 'asset-census'], { ...env, FULL_LIST_MAX: '3' });
  expect(capped.code).toBe(1);
  const text = fs.readFileSync(path.join(latestDir(s), 'failures', 'asset-census-ugc_assets.storage_path.txt'), 'utf8');
  expect(text.split('\n').filter((l) => l.startsWith('missing-on-target'))).toHaveLength(3);
  expect(text).toMatch(/# … 4 more left out \(FULL_LIST_MAX=3\)/);
});

test('reruns keep one verdict: effective.json and junit.xml give every check its latest result', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const env = { ...s.env, CHECKSUM: 'off' };
  s.health.setStatus(500);
  // The file-reading families left out (not what a rerun's verdict is about): fewer checks, the same proof.
  const r1 = await rehearse(['--verify-only', '--exclude', 'asset-census,assets,pgvector'], env);
  expect(r1.code, r1.output).toBe(1);
  const run1 = latestDir(s);
  const all1 = readJson<ChecksFile>(path.join(run1, 'checks.json')).checks;

  s.health.setStatus(200);
  const r2 = await rehearse(['--rerun-failed'], env);
  expect(r2.code, r2.output).toBe(0);
  const run2 = latestDir(s);
  const eff = readJson<EffectiveView>(path.join(run2, 'effective.json'));
  expect(eff.runs).toEqual([path.basename(run1), path.basename(run2)]);
  expect(eff.checks).toHaveLength(all1.length);
  expect(eff.totals.failed).toBe(0);
  const health = eff.checks.find((c) => c.name.startsWith('health GET'))!;
  expect(health).toMatchObject({ state: 'passed', fromRun: path.basename(run2) });
  // The CI file is the effective view: every check present, none skipped for not being selected by the rerun.
  const junit = validateJunit(fs.readFileSync(path.join(s.reportsDir, 'junit.xml'), 'utf8'));
  expect(junit.problems).toEqual([]);
  expect(junit.cases).toHaveLength(all1.length);
  expect(junit.cases.filter((c) => c.status === 'failed')).toEqual([]);
  expect(fs.readFileSync(path.join(s.reportsDir, 'junit.xml'), 'utf8')).not.toMatch(/not selected by the rerun/);
  expect(fs.readFileSync(path.join(s.reportsDir, 'junit.xml'), 'utf8')).toMatch(
    new RegExp(`<property name="rerun-of" value="${path.basename(run1)}"/>`),
  );
  const m2 = readJson<Manifest>(path.join(run2, 'manifest.json'));
  expect(m2.rerunOf).toBe(path.basename(run1));
  expect(m2.effective?.totals.failed).toBe(0);
  expect(fs.readFileSync(path.join(run2, 'report.html'), 'utf8')).toMatch(
    /Effective view: latest result of every check over 2 runs/,
  );
});

test('--select / --exclude run only those families, recorded in the manifest and JUnit; an unknown id is exit 2', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const env = { ...s.env, HEALTH_CHECK: '0' };
  const r = await rehearse(['--verify-only', '--select', 'orphans,row-counts'], env);
  expect(r.code, r.output).toBe(0);
  const dir = latestDir(s);
  const families = new Set(readJson<ChecksFile>(path.join(dir, 'checks.json')).checks.map((c) => c.family));
  expect([...families].sort()).toEqual(['orphans', 'phases', 'row-counts']);
  expect(readJson<Manifest>(path.join(dir, 'manifest.json')).selection).toEqual({
    select: ['orphans', 'row-counts'],
    exclude: [],
  });
  const xml = fs.readFileSync(path.join(dir, 'junit.xml'), 'utf8');
  expect(xml).toMatch(/<property name="select" value="orphans,row-counts"\/>/);
  expect(validateJunit(xml).cases.every((c) => ['phases', 'orphans', 'row-counts'].includes(c.classname))).toBe(true);

  const ex = await rehearse(['--verify-only', '--exclude=asset-census,assets,checksums,pgvector,schema-parity'], env);
  expect(ex.code, ex.output).toBe(0);
  const fam2 = new Set(readJson<ChecksFile>(path.join(latestDir(s), 'checks.json')).checks.map((c) => c.family));
  for (const f of ['asset-census', 'assets', 'checksums', 'pgvector', 'schema-parity']) expect(fam2.has(f)).toBe(false);
  expect(fam2.has('orphans')).toBe(true);

  const bad = await rehearse(['--verify-only', '--select', 'orphan'], env);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/unknown check family "orphan".*known: phases, row-counts, orphans/);
});

test("the seed's entry points: dry_run.sh --help / --dry-run / (full run), cutover.sh, the compose file, npm run report", async () => {
  const s = await scenario();
  const sh = (args: string[], env: Record<string, string>) =>
    spawnSync('bash', [path.join(ROOT, 'deploy/prod/migration/dry_run.sh'), ...args], {
      cwd: s.tmp,
      env: cleanEnv(env),
      encoding: 'utf8',
      timeout: 170_000,
    });
  const help = sh(['--help'], {});
  expect(help.status, help.stderr).toBe(0);
  expect(help.stdout).toMatch(/--dry-run/);
  expect(help.stdout).toMatch(/DST_ASSETS_DIR/);
  const plan = sh(['--dry-run'], s.env);
  expect(plan.status, plan.stderr).toBe(0);
  expect(plan.stdout).toMatch(/pg_dump/);
  expect(fs.existsSync(s.reportsDir)).toBe(false); // plan mode writes nothing
  const full = sh([], { ...s.env, HEALTH_CHECK: '0' });
  expect(full.status, full.stdout + full.stderr).toBe(0);
  expect(full.stdout).toMatch(/rehearsal \S+ \(full\)/);
  // Byte-level progress: the dump against the source tables' size, the mirror with rate, elapsed and ETA; the checks
  // counter's total is the plan's from its first line.
  expect(full.stdout).toMatch(/\[dump\] progress: \S+ \S+ of \S+ \S+ source table data \(\d+%\), \S+ \S+\/s, elapsed /);
  expect(full.stdout).toMatch(/\[mirror\] progress: .* transferred, .*\/s, elapsed .*, (ETA|done)/);
  expect(full.stdout).toMatch(/\[restore\] progress: .* of .* source table data \(\d+%\), .*elapsed .*tables restored/);
  const totals = [...full.stdout.matchAll(/\[checks\] progress: \d+\/(\d+) checks done/g)].map((m) => m[1]);
  expect(totals.length).toBeGreaterThan(0);
  expect(new Set(totals).size, `checks counter totals: ${totals.join(', ')}`).toBe(1);
  expect(fs.existsSync(path.join(latestDir(s), 'report.html'))).toBe(true);

  const cut = spawnSync('bash', [path.join(ROOT, 'deploy/prod/migration/cutover.sh'), '--help'], {
    env: cleanEnv({}),
    encoding: 'utf8',
  });
  expect(cut.status, cut.stderr).toBe(0);
  expect(cut.stdout).toMatch(/--plan/);
  expect(fs.existsSync(path.join(ROOT, 'deploy/prod/migration/PROD_CUTOVER_RUNBOOK.md'))).toBe(true);

  // Debian's docker-compose 1.29 parses the file (no top-level name:), when installed.
  const dc = spawnSync(
    'docker-compose',
    ['-f', path.join(ROOT, 'deploy/prod/docker-compose.dryrun.yml'), 'config', '-q'],
    {
      encoding: 'utf8',
    },
  );
  if (!dc.error) expect(dc.status, dc.stderr).toBe(0);

  const rep = await runCli('report', ['--print'], { REPORTS_DIR: s.reportsDir });
  expect(rep.code, rep.output).toBe(0);
  expect(rep.stdout).toMatch(/report: +\S+report\.html/);
  const none = await runCli('report', ['--print'], { REPORTS_DIR: path.join(s.tmp, 'empty') });
  expect(none.code).toBe(2);
  expect(none.stderr).toMatch(/no rehearsal run found.*run one first/);
  void execFileSync;
});

test('cutover --plan runs the read-only target checks and says what the window will need', async () => {
  const s = await scenario();
  await migrateByHand(s); // the new target is not empty
  const env = { ...s.env, WORK_DIR: path.join(s.tmp, 'cutover') };
  const plan = await runCli('cutover', ['--plan'], env);
  expect(plan.code, plan.output).toBe(0);
  expect(plan.stdout).toMatch(/Target readiness \(read-only checks, run now\): 1 thing\(s\) the window will need/);
  const db = new URL(s.env.DST_DATABASE_URL).pathname.slice(1);
  expect(plan.stdout).toContain(`restore phase needs DST_DROP_SCHEMA=${db} in the cutover environment`);
  expect(plan.stdout).not.toMatch(/STAGING ONLY/);
  const ready = await runCli('cutover', ['--plan'], { ...env, DST_DROP_SCHEMA: db });
  expect(ready.code, ready.output).toBe(0);
  expect(ready.stdout).toMatch(/Target readiness \(read-only checks, run now\): nothing to prepare before the window/);
});
