/**
 * The copy phases a configuration runs, in order (preflight, dump, restore, mirror), and why a phase is skipped: the
 * one schedule global setup runs, `--list` shows and the dry-run explains. Kept out of lib/core/config.ts (which is the
 * variable contract only); it stays in lib/core because the check registry (lib/checks, which may import only
 * lib/core) prints it in the plan.
 */
import type { Config } from './config-contract.ts';

/** Which copy phases this configuration runs in full mode. */
export function plannedPhases(c: Config): { dump: boolean; restore: boolean; mirror: boolean } {
  return {
    dump: !c.dumpPath && !!c.src && c.copyEngine !== 'pgcopydb',
    restore: !!c.dumpPath || !!c.src,
    mirror: !!c.srcAssetsDir,
  };
}

/** Whether a full run would run each copy phase, in order, and the reason shown when it would not. */
export interface ScheduledPhase {
  name: 'preflight' | 'dump' | 'restore' | 'mirror';
  wanted: boolean;
  /** Why the phase is skipped (the skipped test's name and state.json say this); empty when wanted. */
  whyNot: string;
}

/**
 * The copy phases of a full run, in order (preflight → dump → restore → mirror), with what the configuration asks for
 * (plannedPhases above): the one table global setup runs, `--list` shows and the dry-run explains.
 */
export function phaseSchedule(config: Config): ScheduledPhase[] {
  const planned = plannedPhases(config);
  const wanted: Record<'preflight' | 'dump' | 'restore' | 'mirror', [boolean, string]> = {
    preflight: [true, ''],
    dump: [
      planned.dump || !!config.dumpPath,
      config.copyEngine === 'pgcopydb'
        ? 'COPY_ENGINE=pgcopydb copies table by table (no archive): phase restore is the copy'
        : 'nothing to dump (no SRC_DATABASE_URL, no SRC_DB_DUMP_PATH)',
    ],
    restore: [planned.restore, 'nothing to restore'],
    mirror: [planned.mirror, 'SRC_ASSETS_DIR is not set: no asset mirror'],
  };
  return (['preflight', 'dump', 'restore', 'mirror'] as const).map((name) => ({
    name,
    wanted: wanted[name][0],
    whyNot: wanted[name][0] ? '' : wanted[name][1],
  }));
}
