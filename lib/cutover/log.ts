/**
 * The cutover log: WORK_DIR/cutover-log.jsonl, one JSON object per line, append-only. It is the timeline handed to the
 * reviewer and the cutover's only memory between invocations: which phases ran, when, with what result, and what
 * the dump was (so the restore in a later invocation restores exactly that archive).
 *
 * Every entry is redacted before it is written. Lines are appended with O_APPEND in one write each, so the file is
 * never rewritten and a concurrent reader never sees half a line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { redactDeep } from '../core/redact.ts';
import { mkdirPrivate } from '../core/files.ts';

export const LOG_FILE = 'cutover-log.jsonl';

export type EntryStatus = 'ok' | 'red' | 'failed' | 'refused' | 'interrupted' | 'note';

export interface HookRecord {
  hook: string;
  variable: string;
  status: 'ok' | 'failed' | 'timeout' | 'skipped';
  exitCode?: number;
  durationMs?: number;
  /** The command as configured, redacted. */
  command?: string;
}

/**
 * The facts an entry records, as typed fields: the dump phase's archive (what the restore phase verifies and restores),
 * the restore's mode and whether it was already done, the verify phase's run. Read back without casts.
 */
export interface EntryDetails {
  /** dump: the archive's path, format, sha256 (`file` or sorted file list), size and TOC. restore: the sha256 restored. */
  archive?: string;
  format?: 'custom' | 'directory';
  sha256?: string;
  bytes?: number;
  toc?: Record<string, number>;
  entries?: number;
  /** restore: the restore mode; true when this dump was restored before and not again. */
  mode?: string;
  alreadyDone?: boolean;
  [fact: string]: unknown;
}

export interface LogEntry {
  phase: string;
  start: string;
  end: string;
  status: EntryStatus;
  /** The cutover's exit code for this invocation (0 ok, 1 gate red, 2 refused, 3 failed). */
  exitCode: number;
  /** What ran, redacted (tool command lines, hook commands). */
  commands?: string[];
  summary: string;
  hooks?: HookRecord[];
  /** The rehearsal run the gate accepted. */
  rehearsal?: { runId: string; finishedAt: string };
  /** Phase facts later phases need (the dump's archive and sha256; the verify run's reports). */
  details?: EntryDetails;
}

export function logPath(workDir: string): string {
  return path.join(workDir, LOG_FILE);
}

export function appendEntry(workDir: string, entry: LogEntry): void {
  mkdirPrivate(workDir);
  fs.appendFileSync(logPath(workDir), JSON.stringify(redactDeep(entry)) + '\n', { mode: 0o600 });
}

/** Every entry, oldest first. A line that does not parse (a crash mid-write is not possible, an edit is) is an error. */
export function readLog(workDir: string): LogEntry[] {
  const file = logPath(workDir);
  if (!fs.existsSync(file)) return [];
  const entries: LogEntry[] = [];
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      try {
        entries.push(JSON.parse(line) as LogEntry);
      } catch {
        throw new Error(
          `${file} line ${i + 1} is not JSON; the log is append-only and must not be edited — restore it from your copy`,
        );
      }
    });
  return entries;
}

/** Entries that record a phase result (not refusals or notes, which change nothing). */
export function isResult(e: LogEntry): boolean {
  return e.status === 'ok' || e.status === 'red' || e.status === 'failed' || e.status === 'interrupted';
}

/**
 * The current cutover attempt: the result entries after the last successful rollback or unfreeze (each closes an
 * attempt; a new freeze starts the next one).
 */
export function currentAttempt(entries: LogEntry[]): LogEntry[] {
  const results = entries.filter(isResult);
  let from = 0;
  results.forEach((e, i) => {
    if (e.status === 'ok' && (e.phase === 'rollback' || e.phase === 'unfreeze')) from = i + 1;
  });
  return results.slice(from);
}

/** The last entry of `phase` in `entries` (any result status), with its index. */
export function lastOf(entries: LogEntry[], phase: string): { entry: LogEntry; index: number } | undefined {
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i].phase === phase) return { entry: entries[i], index: i };
  return undefined;
}

/** The last closed attempt's closing entry (a completed unfreeze or rollback), if the log ends with one. */
export function closedBy(entries: LogEntry[]): LogEntry | undefined {
  const results = entries.filter(isResult);
  const last = results[results.length - 1];
  return last && last.status === 'ok' && (last.phase === 'unfreeze' || last.phase === 'rollback') ? last : undefined;
}
