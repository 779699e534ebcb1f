/**
 * The preflight gate of every rehearsal mode: `rehearse` runs the read-only preflight itself, before vitest starts,
 * for a full run, `--verify-only` and `--rerun-failed` alike. Its result is written to WORK_DIR/preflight.json and
 * handed to global setup (the run protocol's `preflightFile`, lib/core/run-protocol.ts), which records it and hands
 * its typed facts to the later steps instead of running it again.
 *
 * A refusal is one failing test (`phase preflight`) and exit 2: vitest then runs the phases spec only, and every
 * other family is listed as not run (skipped, with the reason), never as dozens of failures of the same cause.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.ts';
import type { RunState } from '../core/state.ts';
import type { PhaseResult } from './phase-types.ts';
import type { ArchiveInfo } from './dump.ts';
import { detailsOf, runPhase } from './phase.ts';
import { factsFromDetails, preflightStep, type PreflightFacts } from './pipeline.ts';
import { mkdirPrivate } from '../core/files.ts';

export const PREFLIGHT_FILE = 'preflight.json';

/** What the gate hands to global setup: the phase result and, when it passed, its typed facts. */
export interface PreflightRecord {
  result: PhaseResult;
  /** For a provided dump, the inspected archive (also in `facts`). */
  archive?: ArchiveInfo;
  /** The preflight's facts (lib/phases/pipeline.ts), when it passed. */
  facts?: PreflightFacts;
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
  let facts: PreflightFacts | undefined;
  const result = await runPhase('preflight', { config, state, workDir: opts.workDir }, async (ctx) => {
    const r = await preflightStep(config, { log: ctx.log, say: ctx.say, mode: opts.mode });
    facts = r.facts;
    return r.outcome;
  });
  const record: PreflightRecord = { result, archive: facts?.archive, facts, mode: opts.mode };
  const file = path.join(opts.workDir, PREFLIGHT_FILE);
  mkdirPrivate(opts.workDir);
  fs.writeFileSync(file, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
  return { record, file };
}

/** The record written by the gate, when this run has one (the run protocol's `preflightFile`). */
export function readPreflightRecord(file: string | undefined): PreflightRecord | undefined {
  if (!file || !fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as PreflightRecord;
}

/** The facts of a gate record (none when the preflight refused). */
export function recordFacts(record: PreflightRecord): PreflightFacts | undefined {
  if (record.result.status !== 'ok') return undefined;
  return record.facts ?? factsFromDetails(detailsOf(record.result), record.archive);
}
