/**
 * The context `rehearse --list` names the checks in: what a full run would give the families, made without writing
 * anything: no copy phase runs (each is shown as it would run, or skipped with the same reason as in a real run), no
 * WORK_DIR, no state.json; discovery is read-only (catalog reads only). The copy phases' names and schedule come in as
 * data from the caller (lib/cli/list.ts reads them from lib/phases; checks import only lib/core).
 */
import type { Config } from '../../core/config.ts';
import type { ScheduledStep } from '../../core/state.ts';
import { redact } from '../../core/redact.ts';
import { checkContext, type CheckContext, type RehearsalContext } from './context.ts';
import { discoverPlan } from './discovery.ts';

/** What the listing is made from. */
export interface ListingInput {
  /** The copy phases in run order (lib/phases/phase-types.ts PHASES). */
  phaseNames: readonly string[];
  /**
   * The configuration parsed in full mode (its secrets registered) with its copy-phase schedule
   * (lib/phases/phase-schedule.ts), or why it does not parse (redacted).
   */
  parsed: { config: Config; schedule: readonly ScheduledStep[] } | { error: string };
}

/** The listing context of `input`. Never throws: a configuration error blocks every family. */
export async function listingContext(input: ListingInput): Promise<CheckContext> {
  const run: RehearsalContext = {
    runId: 'list',
    mode: 'full',
    workDir: '(none: --list writes nothing)',
    phaseNames: input.phaseNames,
    phases: [],
  };
  if ('error' in input.parsed) {
    run.blockedBy = `phase preflight failed: ${input.parsed.error}`;
    return { run, blocked: run.blockedBy };
  }
  const { config, schedule } = input.parsed;
  // A full run has an archive TOC when it dumps or is given a dump; the checks that read it only need to know that.
  if (schedule.find((p) => p.name === 'dump')?.wanted) run.toc = {};
  run.phases = schedule.map((p) =>
    p.wanted
      ? { name: p.name, status: 'ok', reason: 'would run' }
      : { name: p.name, status: 'skipped', reason: p.whyNot },
  );
  try {
    run.plan = await discoverPlan(config, { seed: config.assetsSampleSeed ?? '(the run id)' });
  } catch (e) {
    run.planError = redact((e as Error).message);
  }
  return checkContext(run, process.env, config);
}
