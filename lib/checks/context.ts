/**
 * What global setup hands to the specs (through vitest provide/inject), and the helpers specs use to read it.
 */
import { inject } from 'vitest';
import { parseConfig, registerSecrets, type Config } from '../core/config.ts';
import { setPoolCap } from '../core/db.ts';
import { fromEnv } from '../core/run-protocol.ts';
import type { CheckPlan, PhaseResult, RunState } from '../core/state.ts';

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
  /** Pool size per server for every spec process (lib/db.ts connectionBudget), so parallel spec files fit max_connections. */
  poolCaps?: Array<{ host?: string; port?: number; max: number }>;
  /** The archive's TOC entries by type (state.dump.toc), when this run dumped or was given an archive. */
  toc?: Record<string, number>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    rehearsal: RehearsalContext;
  }
}

/** The context provided by setup/global-setup.ts. */
export function rehearsalContext(): RehearsalContext {
  const ctx = inject('rehearsal');
  for (const cap of ctx.poolCaps ?? []) setPoolCap(cap, cap.max);
  return ctx;
}

let cached: Config | undefined;

/** The configuration the rehearsal parsed once (the run protocol, lib/core/run-protocol.ts), else the environment's. */
export function checkConfig(): Config {
  if (!cached) {
    cached = fromEnv(process.env)?.config ?? parseConfig(process.env, { mode: 'verify-only' });
    registerSecrets(cached);
  }
  return cached;
}

/**
 * Why no check of the plan can run in this rehearsal (a copy phase failed, or nothing could be discovered), or
 * undefined when checks can run. Specs fail with it through `failNotChecked` (lib/checks/verdict.ts), which makes the
 * message `not checked: <reason>`.
 */
export function whyNotChecked(ctx: RehearsalContext): string | undefined {
  if (ctx.blockedBy) return ctx.blockedBy;
  if (!ctx.plan) return `could not discover what to check: ${ctx.planError ?? 'no plan was recorded'}`;
  return undefined;
}
