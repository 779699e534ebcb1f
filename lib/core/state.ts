/**
 * The run's shared records: what global setup did (phases, tools, dump) and what it found to check (the plan).
 * Generic over the steps: the copy phases' names and order are lib/phases/phase-types.ts.
 * Written to WORK_DIR/state.json (redacted) and handed to the specs through vitest's provide/inject.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AssetColumn, Relation } from './config.ts';
import type { TableRef } from './ident.ts';
import { writeAtomic } from './files.ts';
import { redactDeep } from './redact.ts';

/**
 * What one step of the run recorded (one entry of `RunState.phases`). lib/core knows no step by name: the copy phases'
 * names, order and results are lib/phases/phase-types.ts (`PhaseName`, `PHASES`, `PhaseResult`).
 */
export interface StepResult {
  /** The step's name (a copy phase: lib/phases/phase-types.ts). */
  name: string;
  status: 'ok' | 'failed' | 'skipped' | 'interrupted';
  /** Why it failed or was skipped (redacted), or a one-line summary when ok. */
  reason?: string;
  startedAt?: string;
  durationMs?: number;
  /** The external tool's exit code, when one ran. */
  exitCode?: number;
  /** The rehearse exit code this failure maps to (2: refused before any write; 3: a copy phase failed). */
  rehearseExitCode?: number;
  /** Phase-specific facts for the manifest (commands run, redacted; sizes; counts). */
  details?: Record<string, unknown>;
  logFile?: string;
}

export interface AssetColumnPlan extends AssetColumn {
  /** `table.column` as shown in test names. */
  display: string;
  /**
   * False when the table or column does not exist in the target: a failing test naming it when ASSET_COLUMNS was
   * set (`configured`), a visible skip when it came from the default list.
   */
  exists: boolean;
  reason?: string;
  /** True when the column was listed in ASSET_COLUMNS (not the default). */
  configured?: boolean;
}

export interface AssetSampleItem {
  /** `table.column` (display form) of the column the value came from. */
  column: string;
  kind: 'file' | 'dir';
  /** The path as stored in the database. */
  value: string;
}

export interface CheckPlan {
  /** Where the table list came from. */
  tablesFrom: 'VALIDATE_TABLES' | 'source' | 'target' | 'none';
  tables: TableRef[];
  relations: Relation[];
  /** Which catalog the declared relations (and the default table list) were read from. */
  relationsFrom?: 'source' | 'target';
  assetColumns: AssetColumnPlan[];
  assetSample: { seed: string; perColumn: number; items: AssetSampleItem[] };
  /** Facts for the deeper checks; optional so older plans still load. */
  extra?: Record<string, unknown>;
}

export interface RunState {
  runId: string;
  mode: 'full' | 'verify-only' | 'rerun';
  startedAt: string;
  finishedAt?: string;
  workDir: string;
  runDir?: string;
  /** The copy phases' results, in run order (lib/phases/phase-types.ts `PhaseResult`). */
  phases: StepResult[];
  /** Versions of pg_dump, pg_restore, psql, rsync, node; server and pgvector versions of source and target. */
  tools: Record<string, string>;
  dump?: {
    path: string;
    format: 'custom' | 'directory';
    sha256?: string;
    toc?: Record<string, number>;
    bytes?: number;
    provided: boolean;
    /** 'file': sha256 of the archive file; 'file-list': sha256 of the sorted `<sha256>  <path>` listing of a directory dump. */
    sha256Of?: 'file' | 'file-list';
    /** Files in the archive (1 for custom format) and TOC entries in total. */
    files?: number;
    entries?: number;
  };
  /** The effective configuration of the run, redacted (lib/config.ts effectiveConfig). */
  config?: Record<string, string>;
  plan?: CheckPlan;
  /** Why no plan could be made (e.g. target unreachable). */
  planError?: string;
  /** The run this one retried (rerun mode). */
  rerunOf?: string;
  interrupted?: { signal: string; phase?: string; at: string };
}

export function statePath(workDir: string): string {
  return path.join(workDir, 'state.json');
}

/** Write state.json atomically, every string redacted. */
export function writeState(state: RunState): void {
  const file = statePath(state.workDir);
  writeAtomic(file, JSON.stringify(redactDeep(state), null, 2) + '\n', { mode: 0o600 });
}

export function readState(workDir: string): RunState | undefined {
  const file = statePath(workDir);
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as RunState;
}

/** The first failed (or interrupted) step, which blocks the checks that depend on the copy. */
export function blockingPhase<R extends StepResult>(state: { phases: readonly R[] }): R | undefined {
  return state.phases.find((p) => p.status === 'failed' || p.status === 'interrupted');
}

/**
 * Whether a full run would run one step, and why not: one row of the schedule a configuration gives (the copy phases'
 * schedule is lib/phases/phase-schedule.ts). Handed to the checks as data (the dry-run's and the listing's plan input),
 * so no check imports the phases.
 */
export interface ScheduledStep {
  name: string;
  wanted: boolean;
  /** Why the step is skipped (the skipped test's name and state.json say this); empty when wanted. */
  whyNot: string;
}
