/**
 * `--rerun-failed` end to end (issue 5): exactly the failed checks, by name, against the same plan, no copy phases;
 * the new run points at the one it retried; refusals and "nothing matched" are errors, never a silent green.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { validateJunit, type JunitCase } from '../../lib/audit/junit.ts';
import type { Manifest } from '../../lib/audit/manifest.ts';
import type { ChecksFile } from '../../lib/audit/reporter.ts';
import { prepareRerun } from '../../lib/audit/run-record.ts';
import { configOf } from '../helpers/pipeline.ts';
import { filesContaining, migrateByHand, rehearse, scenario, type Scenario } from '../helpers/scenario.ts';
import { freshDb } from '../helpers/sandbox.ts';

/** `postgresql://rehearsal:***@` as a regular expression (the redacted userinfo of the sandbox DSNs). */
const MASKED_USERINFO = 'postgresql://rehearsal:***@'.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const runIds = (s: Scenario) =>
  fs.existsSync(path.join(s.reportsDir, 'runs')) ? fs.readdirSync(path.join(s.reportsDir, 'runs')).sort() : [];
const newRun = (s: Scenario, before: string[]) => {
  const ids = runIds(s).filter((i) => !before.includes(i));
  expect(ids).toHaveLength(1);
  return { id: ids[0], dir: path.join(s.reportsDir, 'runs', ids[0]) };
};

/**
 * The checks a run actually executed, from its checks.json (its junit.xml is the effective view after a rerun: every
 * check, with its latest result), after checking that junit.xml has the common shape.
 */
function executed(runDir: string): Array<Pick<JunitCase, 'name' | 'status' | 'classname'>> {
  const r = validateJunit(fs.readFileSync(path.join(runDir, 'junit.xml'), 'utf8'));
  expect(r.problems).toEqual([]);
  return readJson<ChecksFile>(path.join(runDir, 'checks.json'))
    .checks.filter((c) => (c.state === 'passed' || c.state === 'failed') && c.selected !== false)
    .map((c) => ({ name: c.name, status: c.state as JunitCase['status'], classname: c.file }));
}

const HEALTH = 'health GET /health';
const ROWS = 'row count public.users';

test('two faults → fix one → the rerun runs exactly those two checks (exit 1) → fix the other → the rerun passes (exit 0)', async () => {
  const s = await scenario();
  // A user nothing refers to, so removing it from the target breaks the row count and nothing else (no orphans, no
  // sequence behind, no asset).
  const lone = await s.src.query<{ id: string }>(
    "INSERT INTO users (email, display_name) VALUES ('lone@example.invalid', 'lone') RETURNING id",
  );
  const loneId = lone.rows[0].id;
  await migrateByHand(s);
  const env = { ...s.env, CHECKSUM: 'off' };
  // Fault 1: the API is unhealthy. Fault 2: a row is missing in the target.
  s.health.setStatus(500);
  await s.dst.query('DELETE FROM users WHERE id = $1', [loneId]);

  const r1 = await rehearse(['--verify-only'], env);
  expect(r1.code, r1.output).toBe(1);
  const run1 = newRun(s, []);
  const failed1 = readJson<ChecksFile>(path.join(run1.dir, 'checks.json'))
    .checks.filter((c) => c.state === 'failed')
    .map((c) => c.name);
  expect(failed1.sort()).toEqual([HEALTH, ROWS]);

  // Fix the API only.
  s.health.setStatus(200);
  const r2 = await rehearse(['--rerun-failed'], env);
  expect(r2.code, r2.output).toBe(1);
  const run2 = newRun(s, [run1.id]);
  const ran2 = executed(run2.dir);
  expect(ran2.map((c) => `${c.name}: ${c.status}`).sort()).toEqual([`${HEALTH}: passed`, `${ROWS}: failed`]);
  const m2 = readJson<Manifest>(path.join(run2.dir, 'manifest.json'));
  expect(m2).toMatchObject({
    mode: 'rerun',
    rerunOf: run1.id,
    exitCode: 1,
    totals: { passed: 1, failed: 1, skipped: 0 },
  });
  expect(m2.rerun).toEqual({
    of: run1.id,
    previouslyFailed: expect.arrayContaining([
      `specs/health.spec.ts › ${HEALTH}`,
      `specs/row-counts.spec.ts › ${ROWS}`,
    ]),
    nowPassing: [`specs/health.spec.ts › ${HEALTH}`],
    stillFailing: [`specs/row-counts.spec.ts › ${ROWS}`],
    notRun: [],
  });
  // No copy phase ran, and the same plan (same asset sample) was checked.
  // (The read-only preflight runs in every mode.)
  expect(m2.phases.filter((p) => p.name !== 'preflight').every((p) => p.status === 'skipped')).toBe(true);
  expect(m2.phases.find((p) => p.name === 'preflight')?.status).toBe('ok');
  expect(ran2.some((c) => c.classname === 'specs/phases.spec.ts')).toBe(false);
  expect(fs.readFileSync(path.join(run2.dir, 'plan.json'), 'utf8')).toBe(
    fs.readFileSync(path.join(run1.dir, 'plan.json'), 'utf8'),
  );
  expect(r2.stdout).toContain(`rerun of ${run1.id}`);
  expect(r2.stdout).toContain(`rerun:    1 of 2 previously failed check(s) now pass (run ${run1.id})`);
  expect(r2.stdout).toContain(`still failing: specs/row-counts.spec.ts › ${ROWS}`);
  expect(r2.stdout.trimEnd().split('\n').pop()).toBe('1 passed, 1 failed, 0 skipped');

  // Fix the row: the next rerun retries what still failed in the rerun.
  await s.dst.query("INSERT INTO users (id, email, display_name) VALUES ($1, 'lone@example.invalid', 'lone')", [
    loneId,
  ]);
  const r3 = await rehearse(['--rerun-failed'], env);
  expect(r3.code, r3.output).toBe(0);
  const run3 = newRun(s, [run1.id, run2.id]);
  expect(executed(run3.dir).map((c) => `${c.name}: ${c.status}`)).toEqual([`${ROWS}: passed`]);
  expect(readJson<Manifest>(path.join(run3.dir, 'manifest.json'))).toMatchObject({ rerunOf: run2.id, exitCode: 0 });
  expect(r3.stdout).toContain(`rerun:    1 of 1 previously failed check(s) now pass (run ${run2.id})`);

  // Nothing left to rerun: says so, exit 0, no new run.
  const r4 = await rehearse(['--rerun-failed'], env);
  expect(r4.code, r4.output).toBe(0);
  expect(r4.output).toContain(`--rerun-failed: the latest run ${run3.id} had no failed checks`);
  expect(runIds(s)).toEqual([run1.id, run2.id, run3.id].sort());
  expect(fs.readlinkSync(path.join(s.reportsDir, 'latest'))).toBe(`runs/${run3.id}`);

  expect(filesContaining([s.reportsDir, s.workDir], s.password)).toEqual([]);
});

test('--rerun-failed refuses without a previous run or for another target, and a filter that matches nothing is exit 2', async () => {
  const s = await scenario();
  await migrateByHand(s);

  const none = await rehearse(['--rerun-failed'], s.env);
  expect(none.code, none.output).toBe(2);
  expect(none.stderr).toContain('--rerun-failed: there is no previous run in REPORTS_DIR');
  expect(runIds(s)).toEqual([]);

  s.health.setStatus(500);
  // Only the health family: the refusals below are about which run and target a rerun follows, not about what failed.
  const r1 = await rehearse(['--verify-only', '--select', 'health'], s.env);
  expect(r1.code, r1.output).toBe(1);
  const run1 = newRun(s, []);

  const other = await freshDb('target');
  const elsewhere = await rehearse(['--rerun-failed'], { ...s.env, DST_DATABASE_URL: other.url });
  expect(elsewhere.code, elsewhere.output).toBe(2);
  expect(elsewhere.stderr).toMatch(
    new RegExp(
      `the latest run ${run1.id} checked a different target \\(DST_DATABASE_URL was ${MASKED_USERINFO}.*/${s.dst.name}, now ${MASKED_USERINFO}.*/${other.name}\\)`,
    ),
  );
  const otherAssets = path.join(s.tmp, 'other-data');
  fs.mkdirSync(otherAssets);
  // The same refusal for the other target key, judged in-process (lib/audit/run-record.ts prepareRerun, what the CLI
  // runs before anything and turns into exit 2: shown just above).
  expect(() => prepareRerun(configOf({ ...s.env, DST_ASSETS_DIR: otherAssets }, 'verify-only'))).toThrow(
    `DST_ASSETS_DIR was ${s.dstAssets}, now ${otherAssets}`,
  );
  expect(runIds(s)).toEqual([run1.id]);

  // The failed check no longer exists under its recorded name (as after a rename): vitest alone would exit 0.
  const checksFile = path.join(run1.dir, 'checks.json');
  const checks = readJson<ChecksFile>(checksFile);
  for (const c of checks.checks.filter((x) => x.state === 'failed')) {
    c.name = c.fullName = 'health GET /renamed';
    c.namePath = [c.name];
  }
  fs.writeFileSync(checksFile, JSON.stringify(checks));
  const nothing = await rehearse(['--rerun-failed'], s.env);
  expect(nothing.code, nothing.output).toBe(2);
  expect(nothing.stdout).toContain(
    `the rerun filter matched no check: none of the 1 check(s) that failed in run ${run1.id} exists under that name any more`,
  );
  const run2 = newRun(s, [run1.id]);
  expect(readJson<Manifest>(path.join(run2.dir, 'manifest.json'))).toMatchObject({
    exitCode: 2,
    rerunOf: run1.id,
    totals: { passed: 0, failed: 0 },
  });
  expect(filesContaining([s.reportsDir, s.workDir], s.password)).toEqual([]);
});
