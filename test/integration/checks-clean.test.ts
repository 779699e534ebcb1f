/**
 * The checks end to end on a correct copy (made by hand, independently of the copy phases): everything green, the
 * stable test names, and the variants without a source, with a missing asset column and with the health check off.
 *
 * Whole CLI runs: the clean `--verify-only` run (its console, JUnit testcase names and evidence, the plan in
 * state.json) and the refused run (JUnit's one failing `phase preflight` and the families listed as not run: report
 * facts). The variant without a source is judged in-process (test/helpers/operator.ts gateResult, the preflight gate
 * `rehearse` runs first; test/helpers/family.ts, the check families on the context a `--verify-only` run builds): its
 * assertions are the gate's reasons and the checks' verdicts and evidence, which a whole run only relays.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { discoverPlan } from '../../lib/checks/shared/discovery.ts';
import { parseConfig } from '../../lib/core/config.ts';
import type { RunState } from '../../lib/core/state.ts';
import { evaluate, type Outcome } from '../../lib/checks/family.ts';
import { familyById } from '../../lib/checks/registry.ts';
import { describe, evidenceOf, failedNames, outcome, scenarioContext } from '../helpers/family.ts';
import { gateResult } from '../helpers/operator.ts';
import {
  CORE_CHECK_FILES,
  caseEvidence,
  cleanEnv,
  expectOutcome,
  junitCases,
  latestJunit,
  migrateByHand,
  rehearse,
  scenario,
} from '../helpers/scenario.ts';

/** The families of CORE_CHECK_FILES (specs/<id>.spec.ts), by registry id. */
const CORE_FAMILIES = ['phases', 'row-counts', 'orphans', 'assets', 'path-prefix', 'health'];

const readState = (workDir: string) =>
  JSON.parse(fs.readFileSync(path.join(workDir, 'state.json'), 'utf8')) as RunState;

test('a clean migration is fully green: every check its own passing testcase, with evidence', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const r = await rehearse(['--verify-only'], { ...s.env, NODE_OPTIONS: '--trace-deprecation' });
  expect(r.code, r.output).toBe(0);
  expect(r.output).toMatch(/rehearsal \S+ \(verify-only\)/);
  // No two queries at once on one pg client (node-postgres deprecates it: queued queries are not pipelined).
  expect(r.output).not.toMatch(/DeprecationWarning/);
  const cases = expectOutcome(junitCases(latestJunit(s)), {}, { files: CORE_CHECK_FILES });
  const names = cases.map((c) => c.name);
  expect(names.filter((n) => n.startsWith('row count ')).sort()).toEqual(
    [
      'galleries',
      'gallery_items',
      'knowledge_bases',
      'knowledge_materials',
      'material_embeddings',
      'ugc_assets',
      'users',
    ].map((t) => `row count public.${t}`),
  );
  expect(names.filter((n) => n.startsWith('orphans ')).sort()).toEqual([
    'orphans galleries(owner_id) -> users(id)',
    'orphans gallery_items(owner_id, gallery_slug) -> galleries(owner_id, slug)',
    'orphans knowledge_bases(owner_id) -> users(id)',
    'orphans knowledge_materials(kb_id) -> knowledge_bases(id)',
    'orphans material_embeddings(material_id) -> knowledge_materials(id)',
    'orphans ugc_assets(user_id) -> users(id)',
  ]);
  expect(names.filter((n) => n.startsWith('path prefix ')).sort()).toEqual([
    'path prefix gallery_items.storage_dir',
    'path prefix knowledge_materials.storage_path',
    'path prefix ugc_assets.storage_path',
  ]);
  expect(names).toContain('health GET /health');
  expect(names).toContain('check discovery');
  // ASSETS_SAMPLE_N defaults to 50 per column; each sampled path is one testcase.
  for (const col of [
    'knowledge_materials.storage_path /app/.data/knowledge/',
    'ugc_assets.storage_path /app/.data/ugc/',
    'gallery_items.storage_dir /app/.data/gallery/',
  ]) {
    expect(
      names.filter((n) => n.startsWith(`asset ${col}`)),
      col,
    ).toHaveLength(50);
  }
  expect(caseEvidence(cases, 'row count public.users')).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^source: 30 rows, exact/),
      expect.stringMatching(/^target: 30 rows, exact/),
      'exact match',
    ]),
  );
  expect(caseEvidence(cases, 'orphans ugc_assets(user_id) -> users(id)').join('\n')).toMatch(
    /^0 orphan row\(s\) in the target \(\d+ ms\)$/m,
  );
  const asset = cases.find((c) => c.name.startsWith('asset knowledge_materials.storage_path '))!;
  expect(caseEvidence(cases, asset.name).join('\n')).toMatch(
    /regular file, \d+ bytes, read the first \d+ bytes[\s\S]*source .*: \d+ bytes/,
  );

  // The seed and the sample are recorded in WORK_DIR (a rerun checks the same paths).
  const plan = readState(s.workDir).plan!;
  expect(plan.tablesFrom).toBe('source');
  expect(plan.assetSample.items).toHaveLength(150);
  expect(plan.assetSample.seed).toBe(readState(s.workDir).runId);
});

test('without a source, with a missing asset column and HEALTH_CHECK=0: the preflight names the columns; then target counts reported, visible skips, all green', async () => {
  // In-process (the preflight gate, then the check families on the run's check context): every assertion is on what
  // the gate or a check decided; the whole --verify-only run's console and JUnit are the first test's.
  const s = await scenario();
  await migrateByHand(s);
  const env = {
    ...s.env,
    SRC_DATABASE_URL: undefined,
    SRC_ASSETS_DIR: undefined,
    HEALTH_CHECK: '0',
    ASSETS_SAMPLE_SEED: 'fixed-seed',
    ASSETS_SAMPLE_N: '3',
    ASSET_COLUMNS: 'knowledge_materials.storage_path:file,ugc_assets.nosuch:file,nosuch_table.path:dir',
  };
  // A configured column that does not exist checks nothing: the read-only preflight refuses, naming each one (the
  // gate `rehearse` runs first, in-process; a gate refusal through the whole CLI: the last test of this file).
  const refused = await gateResult(env, 'verify-only');
  expect(refused.code, refused.reason).toBe(2);
  expect(refused.reason).toMatch(/ASSET_COLUMNS names public\.ugc_assets\.nosuch, but column nosuch does not exist/);
  expect(refused.reason).toMatch(
    /ASSET_COLUMNS names public\.nosuch_table\.path, but table public\.nosuch_table does not exist/,
  );
  env.ASSET_COLUMNS = 'knowledge_materials.storage_path:file';
  // With the column fixed the same gate accepts; then the core families judged in-process as this `--verify-only`
  // run judges them, on the check context its global setup builds (discovery included). Judged per check family (a
  // whole run's exit code also reflects other families, which have their own no-source rules).
  const accepted = await gateResult(env, 'verify-only');
  expect(accepted.status, accepted.reason).toBe('ok');
  const ctx = await scenarioContext(s, { env });
  const outcomes: Outcome[] = [];
  for (const id of CORE_FAMILIES) outcomes.push(...(await evaluate(familyById(id), ctx)));
  expect(failedNames(outcomes), describe(outcomes)).toEqual([]);
  // Visible skips: the health check (HEALTH_CHECK=0), and the copy phases this run did not run (in-process: none).
  const skipped = outcomes.filter((o) => !o.verdict && !/^phase (preflight|dump|restore|mirror)$/.test(o.name));
  expect(
    skipped.map((o) => o.name),
    describe(outcomes),
  ).toEqual(['health GET /health']);
  expect(outcome(outcomes, 'check discovery').verdict?.status).toBe('pass');
  expect(evidenceOf(outcomes, 'row count public.users')).toEqual([
    'source: not configured',
    expect.stringMatching(/^target: 30 rows, exact/),
    'no source configured: target count reported, not compared',
  ]);
  const sampled = outcomes
    .filter((o) => o.name.startsWith('asset knowledge_materials.storage_path '))
    .map((o) => o.name);
  expect(sampled).toHaveLength(3);
  expect(evidenceOf(outcomes, sampled[0])).toContain('size not compared (SRC_ASSETS_DIR is not a local path)');
  const plan = ctx.run.plan!;
  expect(plan.tablesFrom).toBe('target');
  expect(plan.assetSample.seed).toBe('fixed-seed');

  // Same seed, same sample: a second discovery draws the same paths.
  const again = await discoverPlan(parseConfig(cleanEnv(env), { mode: 'verify-only' }), { seed: 'fixed-seed' });
  expect(again.assetSample.items).toEqual(plan.assetSample.items);
});

test('when the preflight refuses, one test fails (phase preflight) and every family is listed as not run, with the reason', async () => {
  const s = await scenario();
  // Full mode against a target nothing listens on: the preflight refuses, nothing is discovered or checked.
  const r = await rehearse([], {
    ...s.env,
    DST_DATABASE_URL: s.env.DST_DATABASE_URL.replace(/:(\d+)\//, ':1/'),
    CONNECT_TIMEOUT_MS: '1000',
  });
  expect(r.code, r.output).toBe(2);
  const cases = junitCases(latestJunit(s));
  expect(cases.filter((c) => c.failed).map((c) => c.name)).toEqual(['phase preflight']);
  for (const name of ['row count', 'orphans', 'asset', 'path prefix', 'health', 'check discovery']) {
    const c = cases.find((x) => x.name === name);
    expect(c?.skipped, name).toBe(true);
    expect(c?.body, name).toMatch(/<skipped message="not run: the preflight refused the run"/);
  }
});
