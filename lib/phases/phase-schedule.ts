/**
 * The copy phases a configuration runs, in order (preflight, dump, restore, mirror), and why a phase is skipped: the
 * one schedule global setup runs, `--list` shows and the dry-run explains. The checks read it as data (the dry-run's
 * `PlanInput.schedule`, the listing's input), never by importing this module (checks import only lib/core).
 */
import type { Config } from '../core/config-contract.ts';
import type { ScheduledStep } from '../core/state.ts';
import { PHASES, type PhaseName } from './phase-types.ts';

/** Which copy phases this configuration runs in full mode. */
export function plannedPhases(c: Config): { dump: boolean; restore: boolean; mirror: boolean } {
  return {
    dump: !c.dumpPath && !!c.src && c.copyEngine !== 'pgcopydb',
    restore: !!c.dumpPath || !!c.src,
    mirror: !!c.srcAssetsDir,
  };
}

/** Whether a full run would run each copy phase, in order, and the reason shown when it would not. */
export interface ScheduledPhase extends ScheduledStep {
  name: PhaseName;
}

/** The dump phase's skip reason under COPY_ENGINE=pgcopydb. */
export const COPY_ENGINE_DUMP_SKIP =
  'COPY_ENGINE=pgcopydb copies table by table (no archive): phase restore is the copy';

/**
 * The copy phases of a full run, in order (preflight → dump → restore → mirror), with what the configuration asks for
 * (plannedPhases above): the one table global setup runs, `--list` shows and the dry-run explains.
 */
export function phaseSchedule(config: Config): ScheduledPhase[] {
  const planned = plannedPhases(config);
  const wanted: Record<PhaseName, [boolean, string]> = {
    preflight: [true, ''],
    dump: [
      planned.dump || !!config.dumpPath,
      config.copyEngine === 'pgcopydb'
        ? COPY_ENGINE_DUMP_SKIP
        : 'nothing to dump (no SRC_DATABASE_URL, no SRC_DB_DUMP_PATH)',
    ],
    restore: [planned.restore, 'nothing to restore'],
    mirror: [planned.mirror, 'SRC_ASSETS_DIR is not set: no asset mirror'],
  };
  return PHASES.map((name) => ({
    name,
    wanted: wanted[name][0],
    whyNot: wanted[name][0] ? '' : wanted[name][1],
  }));
}
