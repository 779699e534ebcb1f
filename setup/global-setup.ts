/**
 * Global setup of the `checks` project: run the copy phases the configuration asks for, in order, then discover what
 * to check, record everything in WORK_DIR/state.json, and provide it to the specs.
 *
 * It never throws for an expected failure (a throwing global setup leaves an empty JUnit report): a failed phase is
 * recorded and surfaces as a failing test case in specs/phases.spec.ts, with the reason.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { parseConfig, registerSecrets, type Config } from '../lib/config.ts';
import type { RehearsalContext } from '../lib/context.ts';
import { closePools } from '../lib/db.ts';
import { discoverPlan } from '../lib/discovery.ts';
import { redact } from '../lib/redact.ts';
import { blockingPhase, writeState, type CheckPlan, type PhaseResult, type RunState } from '../lib/state.ts';

export default async function setup(project: TestProject) {
  const env = process.env;
  const mode = (env.REHEARSAL_MODE as RunState['mode']) || 'full';
  const runId = env.REHEARSAL_RUN_ID || new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  const state: RunState = {
    runId,
    mode,
    startedAt: new Date().toISOString(),
    workDir: env.REHEARSAL_WORK_DIR || env.WORK_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'rehearsal-work-')),
    runDir: env.REHEARSAL_RUN_DIR,
    phases: [],
    tools: {},
  };
  let config: Config | undefined;
  try {
    config = parseConfig(env, { mode: mode === 'full' ? 'full' : 'verify-only' });
    registerSecrets(config);
  } catch (e) {
    state.phases.push({ name: 'preflight', status: 'failed', reason: redact((e as Error).message), rehearseExitCode: 2 });
  }
  if (config) {
    // Copy phases: filled in by setup/preflight.ts, dump.ts, restore.ts, mirror-assets.ts.
    if (!blockingPhase(state)) {
      try {
        state.plan = await loadOrDiscoverPlan(config, state, env);
      } catch (e) {
        state.planError = redact((e as Error).message);
      }
    }
  }
  state.finishedAt = new Date().toISOString();
  writeState(state);
  const blocked = blockingPhase(state);
  const ctx: RehearsalContext = {
    runId: state.runId,
    mode: state.mode,
    workDir: state.workDir,
    runDir: state.runDir,
    phases: state.phases,
    blockedBy: blocked ? `phase ${blocked.name} ${blocked.status}: ${blocked.reason ?? ''}`.trim() : undefined,
    plan: state.plan,
    planError: state.planError,
  };
  project.provide('rehearsal', ctx);
  await closePools();
}

/** A rerun checks the same plan (same tables, same asset sample) as the run it retries. */
async function loadOrDiscoverPlan(config: Config, state: RunState, env: NodeJS.ProcessEnv): Promise<CheckPlan> {
  if (env.REHEARSAL_PLAN_FILE) return JSON.parse(fs.readFileSync(env.REHEARSAL_PLAN_FILE, 'utf8')) as CheckPlan;
  return discoverPlan(config, { seed: config.assetsSampleSeed ?? state.runId });
}

export type { PhaseResult };
