/**
 * The cutover's phases, in order, and the rules that decide from the log whether one may run now. Pure functions of
 * the log entries, so every rule is tested without a database.
 */
import type { HookName } from './config.ts';
import { closedBy, currentAttempt, lastOf, type LogEntry } from './log.ts';

export const PHASE_NAMES = [
  'presync',
  'freeze',
  'freeze-check',
  'dump',
  'restore',
  'sync',
  'verify',
  'switch',
  'smoke',
  'unfreeze',
] as const;
export type CutoverPhase = (typeof PHASE_NAMES)[number];

export interface PhaseDef {
  name: CutoverPhase;
  /** Changes something outside WORK_DIR (production services, the target, the target assets): needs --confirm. */
  writes: boolean;
  /** Starts or advances the migration: needs a green, recent rehearsal of the same source. */
  gated: boolean;
  /** Phases whose last run in this attempt must have succeeded (and not been made stale since). */
  requires: CutoverPhase[];
  hooks: HookName[];
  what: string;
}

export const PHASES: Record<CutoverPhase, PhaseDef> = {
  presync: {
    name: 'presync',
    writes: true,
    gated: true,
    requires: [],
    hooks: [],
    what: 'copy the asset tree while the application is live (rsync, repeatable)',
  },
  freeze: {
    name: 'freeze',
    writes: true,
    gated: true,
    requires: [],
    hooks: ['maintenanceOn', 'stopWorkers'],
    what: 'write freeze: maintenance mode on, stop Celery beat then workers',
  },
  'freeze-check': {
    name: 'freeze-check',
    writes: false,
    gated: false,
    requires: ['freeze'],
    hooks: ['drainCheck'],
    what: 'no other session on the source database; queues drained',
  },
  dump: {
    name: 'dump',
    writes: true,
    gated: true,
    requires: ['freeze-check'],
    hooks: [],
    what: 'final pg_dump of the frozen source into WORK_DIR (sha256 recorded)',
  },
  restore: {
    name: 'restore',
    writes: true,
    gated: true,
    requires: ['dump'],
    hooks: [],
    what: 'pg_restore the final dump into the target, all or nothing; ANALYZE',
  },
  sync: {
    name: 'sync',
    writes: true,
    gated: true,
    requires: ['freeze-check'],
    hooks: [],
    what: 'final incremental rsync of the asset tree',
  },
  verify: {
    name: 'verify',
    writes: false,
    gated: false,
    requires: ['restore', 'sync'],
    hooks: [],
    what: "the rehearsal's full check suite against the new target (must be green)",
  },
  switch: {
    name: 'switch',
    writes: true,
    gated: true,
    requires: ['verify'],
    hooks: ['switch'],
    what: 'point every service at the new DSN and assets volume',
  },
  smoke: {
    name: 'smoke',
    writes: false,
    gated: false,
    requires: ['switch'],
    hooks: ['smoke'],
    what: 'health endpoint 2xx (+ the optional smoke hook)',
  },
  unfreeze: {
    name: 'unfreeze',
    writes: true,
    gated: false,
    requires: ['smoke'],
    hooks: ['startWorkers', 'maintenanceOff'],
    what: 'start workers then beat; maintenance mode off',
  },
};

export function isPhase(name: string): name is CutoverPhase {
  return (PHASE_NAMES as readonly string[]).includes(name);
}

/** The command line that runs `phase`. */
export function phaseCommand(phase: CutoverPhase): string {
  return `npm run cutover -- --phase ${phase}${PHASES[phase].writes ? ' --confirm' : ''}`;
}

/** Phases that write to the target or its assets: after a switch the target is live, so they are refused. */
const TARGET_WRITERS: CutoverPhase[] = ['presync', 'freeze', 'dump', 'restore', 'sync'];

function when(e: LogEntry): string {
  return e.start;
}

/**
 * Why `phase` may not run now, given the whole log; undefined when it may. The message names the phase that must come
 * first (and how to run it).
 */
export function orderProblem(phase: CutoverPhase, entries: LogEntry[]): string | undefined {
  const attempt = currentAttempt(entries);
  const switched = lastOf(attempt, 'switch');
  if (switched && TARGET_WRITERS.includes(phase)) {
    return `${phase} is refused: the services were switched to the target at ${when(switched.entry)} (this attempt), so the target is live and must not be overwritten; continue with smoke, or go back with npm run cutover -- --rollback --confirm`;
  }
  if (phase === 'unfreeze' && !switched) {
    return 'unfreeze ends a completed cutover and needs switch and a green smoke first; to abandon the cutover before the switch, run npm run cutover -- --rollback --confirm (it runs the unfreeze hooks)';
  }
  for (const q of PHASES[phase].requires) {
    const last = lastOf(attempt, q);
    if (!last) {
      const closed = closedBy(entries);
      const note =
        closed && q === 'freeze' ? ` (the previous attempt ended with ${closed.phase} at ${when(closed)})` : '';
      return `${phase} needs ${q} first${note}: run ${phaseCommand(q)}`;
    }
    if (last.entry.status !== 'ok') {
      return `${phase} needs a successful ${q} first; the last ${q} (at ${when(last.entry)}) was ${last.entry.status}: ${last.entry.summary}. Fix the cause and run ${phaseCommand(q)} again${q === 'verify' ? ', or roll back: npm run cutover -- --rollback --confirm' : ''}`;
    }
    for (const r of PHASES[q].requires.filter((p) => PHASES[p].writes)) {
      const again = lastOf(attempt, r);
      if (again && again.index > last.index) {
        return `${phase} needs ${q} again: ${r} ran at ${when(again.entry)}, after the last ${q} (at ${when(last.entry)}), so its result no longer holds; run ${phaseCommand(q)}`;
      }
    }
  }
  return undefined;
}

export type RollbackPlan =
  | { kind: 'refused'; message: string }
  | { kind: 'nothing'; message: string }
  | { kind: 'hooks'; switched: boolean; hooks: HookName[]; message: string };

/** What --rollback does, from the phases that ran in this attempt (the source is never written either way). */
export function rollbackPlan(entries: LogEntry[]): RollbackPlan {
  const attempt = currentAttempt(entries);
  if (!attempt.length) {
    const closed = closedBy(entries);
    if (closed?.phase === 'unfreeze') {
      return {
        kind: 'refused',
        message: `the cutover was completed (unfreeze at ${closed.start}); the window is closed and the new system has taken writes since, which a rollback would lose. A way back now is a new migration in the other direction`,
      };
    }
    return {
      kind: 'nothing',
      message: closed
        ? `nothing to roll back: the last attempt was already rolled back at ${closed.start}`
        : 'nothing to roll back: no phase has run',
    };
  }
  if (lastOf(attempt, 'switch')) {
    return {
      kind: 'hooks',
      switched: true,
      hooks: ['switchBack', 'startWorkers', 'maintenanceOff'],
      message:
        'after the switch: every service back to the old DSN and assets (switch-back hook), then unfreeze (workers, then maintenance off); anything written to the new system since the switch is NOT carried back',
    };
  }
  if (lastOf(attempt, 'freeze')) {
    return {
      kind: 'hooks',
      switched: false,
      hooks: ['startWorkers', 'maintenanceOff'],
      message:
        'before the switch: the source was never written, so unfreezing it is the way back (workers, then maintenance off); the target is left as it is for diagnosis',
    };
  }
  return {
    kind: 'hooks',
    switched: false,
    hooks: [],
    message:
      'no freeze ran (only phases that touch the target ran); nothing to undo on the production side; the target is left as it is',
  };
}
