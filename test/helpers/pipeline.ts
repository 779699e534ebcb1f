/**
 * The copy pipeline in-process (lib/phases/pipeline.ts), for tests that judge what a copy step does without a whole
 * CLI rehearsal: the preflight gate alone (a refusal is `failed` with rehearseExitCode 2, as `rehearse` exits), or
 * preflight → dump → restore → mirror with the typed facts of each step handed to the next, each step recorded by
 * `runPhase` exactly as the rehearsal's global setup records it (status, reason, exit codes, details). No vitest child,
 * no checks, no report: seconds instead of a rehearsal's fixed cost. Whole CLI runs stay for what only a whole run
 * shows (phase order, exit codes, signals, reports).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { onTestFinished } from './concurrent.ts';
import type { Outcome } from '../../lib/checks/family.ts';
import { parseConfig, registerSecrets, type Config } from '../../lib/core/config.ts';
import { closePools } from '../../lib/core/db.ts';
import { lockTarget } from '../../lib/core/run-lock.ts';
import type { RunState } from '../../lib/core/state.ts';
import { applyToolPaths } from '../../lib/core/tools.ts';
import { detailsOf, runPhase, type PhaseCtx } from '../../lib/phases/phase.ts';
import { phaseSchedule } from '../../lib/phases/phase-schedule.ts';
import type { PhaseName, PhaseResult } from '../../lib/phases/phase-types.ts';
import { copySteps } from '../../lib/phases/pipeline.ts';
import { FAMILIES } from '../../lib/checks/registry.ts';
import { preflightGate } from '../../lib/phases/preflight-gate.ts';
import { runFamilies, type InProcessOptions } from './family.ts';
import { cleanEnv, filesContaining, type Scenario } from './scenario.ts';

/**
 * The configuration a `rehearse` run would parse from exactly `env` (the developer's shell scrubbed), secrets
 * registered; the connection pools it opens are closed when the test finishes.
 */
export function configOf(env: Record<string, string | undefined>, mode: RunState['mode'] = 'full'): Config {
  onTestFinished(() => closePools());
  const config = parseConfig(cleanEnv(env), { mode: mode === 'rerun' ? 'verify-only' : mode });
  registerSecrets(config);
  return config;
}

function workDirOf(env: Record<string, string | undefined>): string {
  if (!env.WORK_DIR) throw new Error('an in-process copy needs WORK_DIR in its environment (the scenario sets it)');
  return env.WORK_DIR;
}

/**
 * The preflight gate of a `rehearse` run with `env` (lib/phases/preflight-gate.ts, what `rehearse` runs before vitest),
 * in-process: read-only. Returns the phase result (`failed` with rehearseExitCode 2 for a refusal).
 * `holdTargetLock`: first take the run's target lock as `rehearse` does before its gate (lib/core/run-lock.ts
 * lockTarget: one session on the target database, held through the gate, released after), for a gate whose verdict
 * counts that session (the free connection slots).
 */
export async function preflightOnly(
  env: Record<string, string | undefined>,
  mode: RunState['mode'] = 'full',
  o: { holdTargetLock?: boolean } = {},
): Promise<PhaseResult> {
  const config = configOf(env, mode);
  const runId = `in-process-${randomUUID()}`;
  const lock = o.holdTargetLock
    ? await lockTarget(config.dst, runId, { connectTimeoutMs: config.connectTimeoutMs })
    : undefined;
  if (lock && !lock.ok) throw new Error(lock.message);
  try {
    const { record } = await preflightGate(config, { runId, workDir: workDirOf(env), mode });
    return record.result;
  } finally {
    if (lock?.ok) await lock.release();
  }
}

/**
 * The copy phases of a full rehearsal with `env`, in-process: preflight → dump → restore → mirror (the phases the
 * schedule wants: lib/phases/phase-schedule.ts), the first failure stopping the rest, as the rehearsal's global setup
 * runs them. Returns every phase's result, in order.
 */
export async function copyInProcess(env: Record<string, string | undefined>): Promise<PhaseResult[]> {
  return (await copyWithState(env)).results;
}

/**
 * `copyInProcess`, also returning the run state the steps filled as a rehearsal's global setup has it before it writes
 * state.json: `dump` (path, format, provided, sha256 and what it is of, TOC), `tools`, `phases`.
 */
export async function copyWithState(
  env: Record<string, string | undefined>,
): Promise<{ results: PhaseResult[]; state: RunState }> {
  const config = configOf(env, 'full');
  const state: RunState = {
    runId: `in-process-${randomUUID()}`,
    mode: 'full',
    startedAt: new Date().toISOString(),
    workDir: workDirOf(env),
    phases: [],
    tools: {},
  };
  const base: Omit<PhaseCtx, 'log' | 'say'> = { config, state, workDir: state.workDir };
  const steps = copySteps(config);
  const results: PhaseResult[] = [];
  for (const p of phaseSchedule(config).filter((x) => x.wanted)) {
    const result = await runPhase(p.name, base, steps[p.name]);
    if (p.name === 'preflight') {
      // As global setup: the later steps run exactly the executables the preflight resolved.
      Object.assign(state.tools, detailsOf(result).tools ?? {});
      applyToolPaths(state.tools);
    }
    state.phases.push(result);
    results.push(result);
    if (result.status !== 'ok') break;
  }
  return { results, state };
}

/** A full rehearsal's copy phases, each ended ok: what `expectCopied` wants by default. */
export const ALL_COPIED: Readonly<Partial<Record<PhaseName, PhaseResult['status']>>> = {
  preflight: 'ok',
  dump: 'ok',
  restore: 'ok',
  mirror: 'ok',
};

/**
 * Assert the copy phases of `results` ended exactly as `want` (default ALL_COPIED: preflight, dump, restore and mirror
 * each ok; a copy without SRC_ASSETS_DIR or with COPY_ENGINE=pgcopydb lacks some), the results in the message when not.
 * Returns the results by phase name.
 */
export function expectCopied(
  results: PhaseResult[],
  want: Partial<Record<PhaseName, PhaseResult['status']>> = ALL_COPIED,
): Record<PhaseName, PhaseResult> {
  expect(statuses(results), JSON.stringify(results, null, 1).slice(-6000)).toEqual(want);
  return Object.fromEntries(results.map((p) => [p.name, p])) as Record<PhaseName, PhaseResult>;
}

/** `{ phase: status }` of `results` (what test/helpers/scenario.ts phaseStatuses reads from a run's state.json). */
export function statuses(results: PhaseResult[]): Record<string, string> {
  return Object.fromEntries(results.map((p) => [p.name, p.status]));
}

/**
 * Run check families in-process (test/helpers/family.ts runFamilies) against anything with a scenario's environment
 * and WORK_DIR (e.g. test/helpers/majors.ts CrossScenario: the context reads nothing else of the scenario).
 */
export function familiesOn(
  s: { env: Record<string, string>; workDir: string },
  ids: string[],
  o: InProcessOptions = {},
): Promise<Outcome[]> {
  return runFamilies(s as Scenario, ids, o);
}

/** No form of `s.password` in the results of an in-process copy, nor in any file it left under WORK_DIR. */
export function expectNoSecretIn(s: Pick<Scenario, 'password' | 'workDir'>, results: PhaseResult[]): void {
  const text = JSON.stringify(results);
  for (const form of [s.password, encodeURIComponent(s.password), JSON.stringify(s.password).slice(1, -1)]) {
    expect(text.includes(form), 'the password (or an encoding of it) appears in a phase result').toBe(false);
  }
  expect(filesContaining([s.workDir], s.password), 'files containing the password').toEqual([]);
}

/** What `copyThenEveryFamily` returns: the copy's phase results, the archive's TOC, every family's outcomes. */
export interface CopiedAndJudged {
  phases: PhaseResult[];
  toc: Record<string, number>;
  outcomes: Outcome[];
}

/**
 * A rehearsal in-process: the copy of `s` (with `env` added) through `copyInProcess`, every copy phase asserted `ok`
 * and no form of the password in its results or WORK_DIR, then every check family (lib/checks/registry.ts FAMILIES)
 * on the copy with the archive's TOC, as a rehearsal's global setup hands it to the checks (so `schema coverage` runs).
 * The outcomes are returned unjudged: the caller asserts which are green, red or skipped.
 */
export async function copyThenEveryFamily(
  s: { env: Record<string, string>; workDir: string; password: string },
  env: Record<string, string | undefined> = {},
): Promise<CopiedAndJudged> {
  const phases = await copyInProcess({ ...s.env, ...env });
  expectCopied(phases);
  expectNoSecretIn(s, phases);
  const toc = phases.find((p) => p.name === 'dump')!.details?.toc as Record<string, number>;
  const outcomes = await runFamilies(
    s as Scenario,
    FAMILIES.map((f) => f.id),
    { env, toc },
  );
  return { phases, toc, outcomes };
}
