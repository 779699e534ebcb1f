/**
 * Run a check family in-process against the real clusters of a scenario (test/helpers/scenario.ts): the family's
 * `subjects` and `check` (lib/checks/family.ts `evaluate`), with a check context built from the scenario's two
 * databases the way a `--verify-only` run builds it (configuration from the contract variables, the plan from the
 * read-only discovery), without a CLI child, vitest worker pool or report. Milliseconds to seconds per family instead of
 * a whole rehearsal; the whole CLI stays for what only a whole run shows (phases, signals, reports, exit codes).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { evaluate, failureText, type Outcome } from '../../lib/checks/family.ts';
import { familyById } from '../../lib/checks/registry.ts';
import { checkContext, type CheckContext, type RehearsalContext } from '../../lib/checks/shared/context.ts';
import { PHASES } from '../../lib/phases/phase-types.ts';
import { discoverPlan } from '../../lib/checks/shared/discovery.ts';
import { parseConfig } from '../../lib/core/config.ts';
import { onTestFinished } from './concurrent.ts';
import { closePools } from '../../lib/core/db.ts';
import { cleanEnv, type Scenario } from './scenario.ts';

/** Options of one in-process run: extra contract variables, and facts a run's global setup would add. */
export interface InProcessOptions {
  env?: Record<string, string | undefined>;
  /** The run's archive TOC by entry type (`schema coverage` reads it); absent: no archive in this run. */
  toc?: Record<string, number>;
  /** Set a copy phase's failure: every check (but the phases') is then `not checked`. */
  blockedBy?: string;
  /**
   * A check that throws (not a CheckFailure: e.g. a query ended by lock_timeout) fails its test with the error's
   * message, as the vitest runner of a rehearsal fails it, and the family's other tests still run. Default: the error
   * propagates and fails the calling test.
   */
  thrownFails?: boolean;
}

/** The check context of a `--verify-only` run of `s` (with `o.env`), discovery included; pools closed after the test. */
export async function scenarioContext(s: Scenario, o: InProcessOptions = {}): Promise<CheckContext> {
  const env = cleanEnv({ ...s.env, ...o.env });
  const config = parseConfig(env, { mode: 'verify-only' });
  const runId = `in-process-${randomUUID()}`;
  const run: RehearsalContext = {
    runId,
    mode: 'verify-only',
    workDir: s.workDir,
    phaseNames: PHASES,
    phases: [],
    toc: o.toc,
    blockedBy: o.blockedBy,
  };
  try {
    run.plan = await discoverPlan(config, { seed: config.assetsSampleSeed ?? runId });
  } catch (e) {
    run.planError = (e as Error).message;
  }
  onTestFinished(() => closePools());
  return checkContext(run, env, config);
}

/** Run the families `ids` (registry ids) in-process against `s`; every outcome, in family then test order. */
export async function runFamilies(s: Scenario, ids: string[], o: InProcessOptions = {}): Promise<Outcome[]> {
  const ctx = await scenarioContext(s, o);
  const out: Outcome[] = [];
  for (const id of ids) out.push(...(await evaluate(familyById(id), ctx, { thrownFails: o.thrownFails })));
  return out;
}

/** The names of the outcomes that failed (fail or not checked), sorted. */
export function failedNames(outcomes: Outcome[]): string[] {
  return outcomes
    .filter((o) => o.verdict && o.verdict.status !== 'pass')
    .map((o) => o.name)
    .sort();
}

/** The outcome named `name`; fails the test listing the names there are when there is none. */
export function outcome(outcomes: Outcome[], name: string): Outcome {
  const o = outcomes.find((x) => x.name === name);
  if (!o) throw new Error(`no check "${name}" in: ${outcomes.map((x) => x.name).join(' | ')}`);
  return o;
}

/** The failure text of `name` (what JUnit would show), '' when it passed; fails the test when it was skipped. */
export function failureOf(outcomes: Outcome[], name: string): string {
  const o = outcome(outcomes, name);
  expect(o.verdict, `${name} was skipped`).toBeDefined();
  return failureText(o.verdict!) ?? '';
}

/** What JUnit's testcase body would hold: the failure text (if any), then every note (evidence, warnings, lists). */
export function bodyOf(outcomes: Outcome[], name: string): string {
  const o = outcome(outcomes, name);
  return [o.verdict ? (failureText(o.verdict) ?? '') : '', ...o.notes.map((n) => n.message)].join('\n');
}

/** Evidence lines of `name`, in order. */
export function evidenceOf(outcomes: Outcome[], name: string): string[] {
  return outcome(outcomes, name)
    .notes.filter((n) => n.type === 'evidence')
    .map((n) => n.message);
}

/**
 * Assert exactly these checks failed, each with a message matching its pattern (the culprit named), and every other
 * outcome passed or was skipped. Returns the outcomes.
 */
export function expectFailures(outcomes: Outcome[], expected: Record<string, RegExp>): Outcome[] {
  expect(failedNames(outcomes), describe(outcomes)).toEqual(Object.keys(expected).sort());
  for (const [name, re] of Object.entries(expected)) expect(failureOf(outcomes, name)).toMatch(re);
  return outcomes;
}

/** A one-line-per-check description (for assertion messages). */
export function describe(outcomes: Outcome[]): string {
  return outcomes.map((o) => `${o.name}: ${o.verdict ? (failureText(o.verdict) ?? 'pass') : 'skipped'}`).join('\n');
}
