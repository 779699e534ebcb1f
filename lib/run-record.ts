/**
 * The audit trail of a run (issue 5): manifest, report redaction and hashes, history (`runs/<id>`, `latest`),
 * the human summary, and what `--rerun-failed` needs from the latest run.
 * STUB: the rehearse CLI calls these at fixed points; the audit-trail work fills them in.
 */
import type { Config } from './config.ts';

export interface RunInfo {
  runId: string;
  runDir: string;
  workDir: string;
  mode: 'full' | 'verify-only' | 'rerun';
  startedAt: string;
  config: Config;
  /** The run id this run retried (rerun mode). */
  rerunOf?: string;
}

/** After vitest exits: write manifest.json, redact and hash every report file, update `latest`, print the summary. */
export async function finalizeRun(_info: RunInfo, _exitCode: number): Promise<void> {}

export type RerunPlan =
  | { kind: 'rerun'; rerunOf: string; planFile: string; vitestArgs: string[]; previouslyFailed: string[] }
  | { kind: 'nothing'; message: string };

/** What `--rerun-failed` reruns; throws ConfigError (exit 2) when the latest run is missing or for another target. */
export function prepareRerun(_config: Config): RerunPlan {
  throw new Error('--rerun-failed is not implemented yet');
}
