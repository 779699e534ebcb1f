/**
 * What global setup hands to the specs (through vitest provide/inject), and the helpers specs use to read it.
 */
import { inject } from 'vitest';
import { parseConfig, registerSecrets, type Config } from './config.ts';
import type { CheckPlan, PhaseResult, RunState } from './state.ts';

export interface RehearsalContext {
  runId: string;
  mode: RunState['mode'];
  workDir: string;
  runDir?: string;
  phases: PhaseResult[];
  /** Set when a copy phase failed: checks that depend on the copy fail with this reason instead of running. */
  blockedBy?: string;
  plan?: CheckPlan;
  planError?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    rehearsal: RehearsalContext;
  }
}

/** The context provided by setup/global-setup.ts. */
export function rehearsalContext(): RehearsalContext {
  return inject('rehearsal');
}

let cached: Config | undefined;

/** The configuration, parsed from the environment the rehearsal was started with. */
export function checkConfig(): Config {
  if (!cached) {
    cached = parseConfig(process.env, { mode: 'verify-only' });
    registerSecrets(cached);
  }
  return cached;
}
