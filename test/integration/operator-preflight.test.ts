/**
 * Preflight in every mode: a wrong password, a missing DST_ASSETS_DIR and an unreachable remote SRC_ASSETS_DIR each
 * refuse the run with exit 2, ONE failing test (`phase preflight`) naming the real cause, and every other family
 * listed as not run (skipped with the reason) — in a full run, --verify-only and --rerun-failed alike.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { validateJunit } from '../../lib/audit/junit.ts';
import { gateResult } from '../helpers/operator.ts';
import { rehearse, scenario, type Scenario } from '../helpers/scenario.ts';

function latestRunDir(s: Scenario): string {
  const p = JSON.parse(fs.readFileSync(path.join(s.reportsDir, 'latest.json'), 'utf8')) as { dir: string };
  return path.join(s.reportsDir, p.dir);
}

function expectOneRefusal(s: Scenario, r: { code: number; output: string }, cause: RegExp): void {
  expect(r.code, r.output).toBe(2);
  const junit = validateJunit(fs.readFileSync(path.join(latestRunDir(s), 'junit.xml'), 'utf8'));
  expect(junit.problems).toEqual([]);
  const failed = junit.cases.filter((c) => c.status === 'failed' || c.status === 'error');
  expect(failed.map((c) => c.name)).toEqual(['phase preflight']);
  expect(r.output).toMatch(cause);
  const skipped = junit.cases.filter((c) => c.status === 'skipped');
  // listed under its stable name; the reason (not run: the preflight refused the run) is the skip message
  expect(skipped.some((c) => c.name === 'row count')).toBe(true);
  expect(r.output).not.toMatch(/not reachable within CONNECT_TIMEOUT_MS/);
}

/** A previous run with a failed check, so that --rerun-failed has something to retry. */
async function previousRun(s: Scenario, extra: Record<string, string> = {}): Promise<void> {
  const r = await rehearse(['--verify-only', '--select', 'row-counts'], {
    ...s.env,
    CHECKSUM: 'off',
    HEALTH_CHECK: '0',
    ...extra,
  });
  expect(r.code, r.output).toBe(1);
}

// --rerun-failed first: it retries the latest run, which must be the one with a failed check (a refused run has none).
const MODES: Array<[string, string[]]> = [
  ['--rerun-failed', ['--rerun-failed']],
  ['full run', []],
  ['--verify-only', ['--verify-only']],
];

test('a wrong password is "authentication failed", exit 2 with one failing test, in every mode', async () => {
  const s = await scenario();
  await previousRun(s);
  const env = {
    ...s.env,
    HEALTH_CHECK: '0',
    DST_DATABASE_URL: s.env.DST_DATABASE_URL.replace(/:[^:@/]+@/, ':wrong-pass@'),
  };
  for (const [label, args] of MODES) {
    const r = await rehearse(args, env);
    expectOneRefusal(s, r, /the target .*authentication failed/);
    expect(r.output, label).toMatch(/check the user and password/);
  }
});

/**
 * The other modes of a refusal cause: the preflight gate `rehearse` calls in every mode (lib/phases/preflight-gate.ts),
 * in-process. How a gate refusal becomes exit 2 with one failing test in each mode is shown through the CLI above.
 */
async function expectGateRefusals(env: Record<string, string>, cause: RegExp): Promise<void> {
  const results = await Promise.all((['verify-only', 'rerun'] as const).map((mode) => gateResult(env, mode)));
  for (const g of results) {
    expect(g.status, g.reason).toBe('failed');
    expect(g.code).toBe(2);
    expect(g.reason).toMatch(cause);
  }
}

test('a missing DST_ASSETS_DIR (and a missing parent) is refused in every mode, never created', async () => {
  const s = await scenario({ assets: false });
  // The target tree was there before, then its mount went away (or the path was mistyped).
  const mount = path.join(s.tmp, 'mnt');
  const gone = path.join(mount, 'data');
  const env = { ...s.env, HEALTH_CHECK: '0', DST_ASSETS_DIR: gone };
  const cause = /DST_ASSETS_DIR=.*mnt\/data does not exist/;
  // A full run through the CLI; --verify-only and --rerun-failed by the same gate in-process.
  const r = await rehearse([], env);
  expectOneRefusal(s, r, cause);
  expect(fs.existsSync(mount)).toBe(false);
  await expectGateRefusals(env, cause);
  expect(fs.existsSync(mount)).toBe(false);
});

test('an unreachable remote SRC_ASSETS_DIR is refused before the dump, in every mode', async () => {
  const s = await scenario({ assets: false });
  const env = {
    ...s.env,
    HEALTH_CHECK: '0',
    SRC_ASSETS_DIR: 'nobody@host.invalid:/srv/data',
    CONNECT_TIMEOUT_MS: '3000',
  };
  const cause = /remote SRC_ASSETS_DIR nobody@host\.invalid:\/srv\/data does not answer/;
  // A full run through the CLI (the one mode with a dump to refuse before); the other modes by the same gate.
  const r = await rehearse([], env);
  expectOneRefusal(s, r, cause);
  expect(r.output).not.toMatch(/\[dump\]/);
  await expectGateRefusals(env, cause);
});
