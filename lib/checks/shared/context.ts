/**
 * The one context every check family reads: what global setup hands to the spec workers (the run: phases, plan,
 * archive TOC, pool caps), the configuration parsed from the run's environment, and why nothing may be checked
 * (`blocked`). Built by lib/checks/runner.ts in a rehearsal (from vitest's `inject`), and by the integration tests
 * directly from two real databases (test/helpers/family.ts). Knows nothing of vitest.
 */
import { parseConfig, registerSecrets, type Config } from '../../core/config.ts';
import { setPoolCap } from '../../core/db.ts';
import { fromEnv } from '../../core/run-protocol.ts';
import type { CheckPlan, RunState, StepResult } from '../../core/state.ts';

/** What global setup provides to the spec workers (vitest provide/inject, key `rehearsal`). */
export interface RehearsalContext {
  runId: string;
  mode: RunState['mode'];
  workDir: string;
  runDir?: string;
  /**
   * The copy phases in run order (lib/phases/phase-types.ts PHASES, handed in as data by whoever builds the context:
   * global setup, the listing's caller, the tests): the phases family names one test per entry.
   */
  phaseNames: readonly string[];
  /** What each copy phase that ran (or was skipped) recorded. */
  phases: StepResult[];
  /** Set when a copy phase failed: checks that depend on the copy fail with this reason instead of running. */
  blockedBy?: string;
  plan?: CheckPlan;
  planError?: string;
  /** Pool size per server for every spec process (lib/db.ts connectionBudget), so parallel spec files fit max_connections. */
  poolCaps?: Array<{ host?: string; port?: number; max: number }>;
  /** The archive's TOC entries by type (state.dump.toc), when this run dumped or was given an archive. */
  toc?: Record<string, number>;
}

/** What a family's `subjects` and `check` read. */
export interface CheckContext {
  /** The run as global setup described it. */
  run: RehearsalContext;
  /** The configuration; undefined only when it does not parse (then `blocked` says why). */
  config?: Config;
  /**
   * Why no subject may be judged: the first failed copy phase, or a configuration that does not parse. (No plan is
   * not a block: the families that need one say so with `whyNotChecked(ctx.run)`.) The runner fails every subject of a family with `not checked: <blocked>`, except the
   * families that judge the copy itself (phases).
   */
  blocked?: string;
}

/**
 * Why no check of the plan can run (a copy phase failed, or nothing could be discovered), or undefined when checks
 * can run. Checks fail with it as `not checked: <reason>`.
 */
export function whyNotChecked(run: RehearsalContext): string | undefined {
  if (run.blockedBy) return run.blockedBy;
  if (!run.plan) return `could not discover what to check: ${run.planError ?? 'no plan was recorded'}`;
  return undefined;
}

const parsed = new Map<NodeJS.ProcessEnv, Config>();

/**
 * The check context of a run: the configuration parsed from `env` (once per env object; secrets registered for
 * redaction), pool caps applied, and the reason nothing may be checked. Never throws.
 * @param config A configuration already parsed (tests); else parsed from `env` in verify-only mode.
 */
export function checkContext(
  run: RehearsalContext,
  env: NodeJS.ProcessEnv = process.env,
  config?: Config,
): CheckContext {
  for (const cap of run.poolCaps ?? []) setPoolCap(cap, cap.max);
  if (!config) {
    try {
      config = parsed.get(env) ?? fromEnv(env)?.config ?? parseConfig(env, { mode: 'verify-only' });
      parsed.set(env, config);
      registerSecrets(config);
    } catch (e) {
      return { run, blocked: run.blockedBy ?? (e as Error).message };
    }
  }
  return { run, config, blocked: run.blockedBy };
}

/** The configuration of a context that is not blocked (a family's check runs only then). */
export function configOf(ctx: CheckContext): Config {
  if (!ctx.config) throw new Error(`no configuration: ${ctx.blocked ?? 'it did not parse'}`);
  return ctx.config;
}
