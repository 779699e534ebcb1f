/**
 * The run protocol: the one typed record `rehearse` hands to vitest's global setup and to every spec worker. The CLI
 * parses the configuration once and passes it on here as data (no process parses it again); the record travels as
 * one environment variable, REHEARSAL_RUN (JSON), which the tool runner never passes to pg_dump, pg_restore, psql or
 * rsync (lib/core/tools.ts drops every REHEARSAL_* variable). The record holds the configuration with its secrets,
 * exactly as the environment it came from does: it is never written to a file, a log or a report.
 *
 * For readers outside the run's own modules (the reporter, the full-list writer, the phases spec), `toEnv` also sets
 * REHEARSAL_RUN_ID, REHEARSAL_RUN_DIR and REHEARSAL_ONLY_PHASES, derived from the record. `fromEnv` still understands
 * an environment without REHEARSAL_RUN (`vitest` started by hand, `--list`, the bench's peer): REHEARSAL_MODE,
 * REHEARSAL_RUN_ID, REHEARSAL_RUN_DIR, REHEARSAL_WORK_DIR; there the configuration is parsed from the environment.
 */
import type { Config } from './config.ts';

export const PROTOCOL_VAR = 'REHEARSAL_RUN';

/** What the CLI decided about the run. `list`: `rehearse --list` (no copy phase, nothing written). */
export type RunMode = 'full' | 'verify-only' | 'rerun' | 'list';

export interface RunProtocol {
  runId?: string;
  mode: RunMode;
  /** The run's report folder (REPORTS_DIR/runs/<run-id>). */
  runDir?: string;
  /** The run's WORK_DIR (the dump, state.json, logs). */
  workDir?: string;
  /** A rerun: the plan.json of the retried run, checked again. */
  planFile?: string;
  /** The preflight gate's record (lib/phases/preflight-gate.ts), when `rehearse` ran the gate. */
  preflightFile?: string;
  /** The preflight refused: vitest runs the phases spec only. */
  onlyPhases?: boolean;
  /** The configuration, parsed once by the CLI; absent when the environment is to be parsed (see above). */
  config?: Config;
}

const MODES: readonly RunMode[] = ['full', 'verify-only', 'rerun', 'list'];

/** The environment variables that carry `p` (merge them into the child's environment). */
export function toEnv(p: RunProtocol): Record<string, string> {
  const env: Record<string, string> = { [PROTOCOL_VAR]: JSON.stringify(p) };
  if (p.runId) env.REHEARSAL_RUN_ID = p.runId;
  if (p.runDir) env.REHEARSAL_RUN_DIR = p.runDir;
  if (p.onlyPhases) env.REHEARSAL_ONLY_PHASES = '1';
  return env;
}

/**
 * The protocol of this process's run: REHEARSAL_RUN when set (throws a plain Error when it is not a valid record:
 * a broken hand-off is a bug, never a user's input), else what the legacy variables say, else undefined.
 */
export function fromEnv(env: NodeJS.ProcessEnv): RunProtocol | undefined {
  const raw = env[PROTOCOL_VAR];
  if (raw) {
    const p = JSON.parse(raw) as RunProtocol;
    if (!p || typeof p !== 'object' || !MODES.includes(p.mode))
      throw new Error(`${PROTOCOL_VAR} is not a run protocol record (mode ${String(p?.mode)})`);
    return p;
  }
  const mode = env.REHEARSAL_MODE as RunMode | undefined;
  if (!mode && !env.REHEARSAL_RUN_ID && !env.REHEARSAL_RUN_DIR && !env.REHEARSAL_WORK_DIR) return undefined;
  return {
    mode: mode && MODES.includes(mode) ? mode : 'full',
    runId: env.REHEARSAL_RUN_ID || undefined,
    runDir: env.REHEARSAL_RUN_DIR || undefined,
    workDir: env.REHEARSAL_WORK_DIR || undefined,
    onlyPhases: env.REHEARSAL_ONLY_PHASES === '1' || undefined,
  };
}
