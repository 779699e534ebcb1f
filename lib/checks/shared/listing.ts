/**
 * The context `rehearse --list` names the checks in: what a full run would give the families, made without writing
 * anything: no copy phase runs (each is shown as it would run, or skipped with the same reason as in a real run), no
 * WORK_DIR, no state.json; discovery is read-only (catalog reads only).
 */
import { parseConfig, phaseSchedule, registerSecrets } from '../../core/config.ts';
import { redact } from '../../core/redact.ts';
import { checkContext, type CheckContext, type RehearsalContext } from './context.ts';
import { discoverPlan } from './discovery.ts';

/** The listing context of the run `env` describes. Never throws: a configuration error blocks every family. */
export async function listingContext(env: NodeJS.ProcessEnv): Promise<CheckContext> {
  const run: RehearsalContext = { runId: 'list', mode: 'full', workDir: '(none: --list writes nothing)', phases: [] };
  let config;
  try {
    config = parseConfig(env, { mode: 'full' });
    registerSecrets(config);
    const schedule = phaseSchedule(config);
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
  } catch (e) {
    run.blockedBy = `phase preflight failed: ${redact((e as Error).message)}`;
    return { run, blocked: run.blockedBy };
  }
  return checkContext(run, env, config);
}
