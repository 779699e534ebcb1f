/**
 * The preflight gate of every rehearsal mode: `rehearse` runs the read-only preflight itself, before vitest starts,
 * for a full run, `--verify-only` and `--rerun-failed` alike. Its result is written to WORK_DIR/preflight.json and
 * handed to global setup (REHEARSAL_PREFLIGHT_FILE), which records it instead of running it again.
 *
 * A refusal is one failing test (`phase preflight`) and exit 2: vitest then runs the phases spec only, and every
 * other family is listed as not run (skipped, with the reason), never as dozens of failures of the same cause.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.ts';
import type { PhaseResult, RunState } from '../core/state.ts';
import type { ArchiveInfo } from './dump.ts';
import { runPhase } from './phase.ts';
import { runPreflight } from './preflight.ts';

export const PREFLIGHT_FILE = 'preflight.json';

/** What the gate hands to global setup: the phase result and, for a provided dump, the inspected archive. */
export interface PreflightRecord {
  result: PhaseResult;
  archive?: ArchiveInfo;
  mode: RunState['mode'];
}

/**
 * Run the preflight for `mode` and record it in `workDir/preflight.json`. Returns the record and the file's path.
 * Never throws for a refusal (the record says `failed`, with rehearseExitCode 2).
 */
export async function preflightGate(
  config: Config,
  opts: { runId: string; workDir: string; mode: RunState['mode'] },
): Promise<{ record: PreflightRecord; file: string }> {
  const state: RunState = {
    runId: opts.runId,
    mode: opts.mode,
    startedAt: new Date().toISOString(),
    workDir: opts.workDir,
    phases: [],
    tools: {},
  };
  let archive: ArchiveInfo | undefined;
  const result = await runPhase('preflight', { config, state, workDir: opts.workDir }, async (ctx) => {
    const r = await runPreflight(config, { log: ctx.log, say: ctx.say, mode: opts.mode });
    archive = r.archive;
    return r;
  });
  const record: PreflightRecord = { result, archive, mode: opts.mode };
  const file = path.join(opts.workDir, PREFLIGHT_FILE);
  fs.mkdirSync(opts.workDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
  return { record, file };
}

/** The record written by the gate, when this run has one (REHEARSAL_PREFLIGHT_FILE). */
export function readPreflightRecord(env: NodeJS.ProcessEnv): PreflightRecord | undefined {
  const file = env.REHEARSAL_PREFLIGHT_FILE;
  if (!file || !fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as PreflightRecord;
}
