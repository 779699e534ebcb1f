/**
 * The copy phases' vocabulary: their names, their run order, and what one phase's run records. lib/core keeps the run's
 * record generic (`StepResult`, `RunState.phases` keyed by a string name, lib/core/state.ts); the names and the order
 * of the copy phases live here, with the phases. Checks never import this module: the phases family reads the names
 * from its context (`RehearsalContext.phaseNames`) and the schedule from its plan input (`PlanInput.schedule`).
 */
import type { RunState, StepResult } from '../core/state.ts';

/** A copy phase. */
export type PhaseName = 'preflight' | 'dump' | 'restore' | 'mirror';

/** The copy phases in run order. */
export const PHASES: readonly PhaseName[] = ['preflight', 'dump', 'restore', 'mirror'];

/** What one copy phase's run records in state.json: a `StepResult` named by a copy phase. */
export interface PhaseResult extends StepResult {
  name: PhaseName;
}

/** The run's record as the copy phases write it: every entry of `phases` is a copy phase's result. */
export type PhaseRunState = Omit<RunState, 'phases'> & { phases: PhaseResult[] };
