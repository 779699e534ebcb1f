/**
 * The run's shared records: what global setup did (phases, tools, dump) and what it found to check (the plan).
 * Written to WORK_DIR/state.json (redacted) and handed to the specs through vitest's provide/inject.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AssetColumn, Relation } from './config.ts';
import type { TableRef } from './ident.ts';
import { writeAtomic } from './files.ts';
import { redactDeep } from './redact.ts';

export type PhaseName = 'preflight' | 'dump' | 'restore' | 'mirror';
export const PHASES: PhaseName[] = ['preflight', 'dump', 'restore', 'mirror'];

export interface PhaseResult {
  name: PhaseName;
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
  phases: PhaseResult[];
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

/** The first failed (or interrupted) phase, which blocks the checks that depend on the copy. */
export function blockingPhase(state: Pick<RunState, 'phases'>): PhaseResult | undefined {
  return state.phases.find((p) => p.status === 'failed' || p.status === 'interrupted');
}
