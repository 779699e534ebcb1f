/**
 * The run protocol: the one typed record `rehearse` hands to vitest's global setup and to every spec worker. The CLI
 * parses the configuration once and passes it on here as data (no process parses it again); the record travels as
 * one environment variable, REHEARSAL_RUN (JSON), which the tool runner never passes to pg_dump, pg_restore, psql or
 * rsync (lib/core/tools.ts drops every REHEARSAL_* variable). The record holds the configuration with its secrets,
 * exactly as the environment it came from does: it is never written to a file, a log or a report.
 *
 * It is the only variable: every reader — global setup, the spec workers' check context, the reporter and vitest's
 * reporter configuration (setup/checks-config.ts), the full-list writer, the phases family — reads the record through
 * `fromEnv`; no REHEARSAL_* variable is derived from it. Without REHEARSAL_RUN (`vitest` started by hand) `fromEnv`
 * says undefined and the readers fall back to their defaults (the configuration parsed from the environment, no run
 * folder).
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

/** The folder of WORK_DIR where vitest's reporters write during a run (see `reportsStagingDir`). */
export const STAGING_DIR = 'reports-staging';

/**
 * Where vitest's reporters (results.json, html/, checks.json) write while the checks run: WORK_DIR/reports-staging
 * when the run has a WORK_DIR, else the run folder. finalizeRun (lib/audit/run-record.ts) then publishes each file
 * into the run folder through a temp file and a rename, so a full or read-only REPORTS_DIR never receives a
 * half-written report and never crashes vitest (issue 26); what it cannot publish stays in WORK_DIR.
 */
export function reportsStagingDir(p: Pick<RunProtocol, 'workDir' | 'runDir'>): string | undefined {
  return p.workDir ? `${p.workDir.replace(/\/+$/, '')}/${STAGING_DIR}` : p.runDir;
}

const MODES: readonly RunMode[] = ['full', 'verify-only', 'rerun', 'list'];

/** The environment variable that carries `p` (merge it into the child's environment): REHEARSAL_RUN alone. */
export function toEnv(p: RunProtocol): Record<string, string> {
  return { [PROTOCOL_VAR]: JSON.stringify(p) };
}

/** The last record read, by its JSON text: the reporter asks once per failed check. */
let last: { raw: string; p: RunProtocol } | undefined;

/**
 * The protocol of this process's run: REHEARSAL_RUN when set (throws a plain Error when it is not a valid record:
 * a broken hand-off is a bug, never a user's input), else undefined (no run: vitest started by hand). Callers must not
 * change the record returned (it is shared between calls).
 */
export function fromEnv(env: NodeJS.ProcessEnv): RunProtocol | undefined {
  const raw = env[PROTOCOL_VAR];
  if (!raw) return undefined;
  if (last?.raw === raw) return last.p;
  const p = JSON.parse(raw) as RunProtocol;
  if (!p || typeof p !== 'object' || !MODES.includes(p.mode))
    throw new Error(`${PROTOCOL_VAR} is not a run protocol record (mode ${String(p?.mode)})`);
  last = { raw, p };
  return p;
}
