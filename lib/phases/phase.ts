/**
 * What every copy phase gets and gives back, and the runner that times a phase, records its result and turns its
 * failure into a PhaseResult (never an exception: global setup must not throw for an expected failure).
 */
import type { Config } from '../core/config.ts';
import { EXIT, PhaseError } from '../core/errors.ts';
import { redact } from '../core/redact.ts';
import { terminalLine } from '../core/escape.ts';
import type { RunState } from '../core/state.ts';
import { PhaseLog } from '../core/tools.ts';
import { fsProblem } from '../core/fs-problem.ts';
import type { PhaseName, PhaseResult } from './phase-types.ts';

export interface PhaseCtx {
  config: Config;
  state: RunState;
  workDir: string;
  log: PhaseLog;
  /** A progress line for the console (redacted); also written to the phase log. */
  say(line: string): void;
}

/**
 * The facts a phase records for the manifest and the phases spec, as typed fields (read back through `detailsOf`,
 * never through casts). Each phase sets the fields that concern it; other keys are allowed for the manifest only.
 */
export interface PhaseDetails {
  /** preflight: versions of tools and servers (state.tools). */
  tools?: Record<string, string>;
  /** preflight: what it noticed without refusing. */
  notes?: string[];
  /** preflight (refused): every problem found. */
  problems?: string[];
  /** preflight: what DST_DROP_SCHEMA / ASSETS_DELETE would drop or delete. */
  destructive?: string[];
  /** preflight: extensions the archive creates that the target already has, installed by another role. */
  extensionsPresent?: string[];
  /** preflight: schemas the archive creates that hold such an extension on the target (kept as they are). */
  schemasKept?: string[];
  /** dump, mirror: the one command run (redacted). */
  command?: string;
  /** restore: every command run (redacted). */
  commands?: string[];
  /** restore: the restore mode (lib/core/tools.ts restoreMode). */
  mode?: string;
  /** restore: the TOC entries left out, one line each with why. */
  excluded?: string[];
  /** restore: what staging isolation did, one line each. */
  isolation?: string[];
  /** restore: the server's hints. */
  serverHints?: string[];
  [fact: string]: unknown;
}

export interface PhaseOutcome {
  /** One-line summary (shown in the phase's test case). */
  reason: string;
  exitCode?: number;
  details?: PhaseDetails;
}

/** A phase result's details as typed fields (empty when it recorded none). */
export function detailsOf(result: Pick<PhaseResult, 'details'> | undefined): PhaseDetails {
  return (result?.details ?? {}) as PhaseDetails;
}

/** A `say` for a phase: each line goes to the phase log and, redacted and prefixed `[phase] `, to stdout. */
export function consoleSay(log: PhaseLog, phase: PhaseName) {
  return (line: string) => {
    log.line(line);
    // The tool's own line breaks stay line breaks (each line prefixed); inside each line a name from the database or
    // the file system cannot start a new line or control the terminal.
    const text = redact(line)
      .split('\n')
      .map((l) => terminalLine(`[${phase}] ${l}`))
      .join('\n');
    process.stdout.write(text + '\n');
  };
}

/** Run one phase; its result (ok or failed, with timings, exit codes and the redacted reason) is returned. */
export async function runPhase(
  name: PhaseName,
  base: Omit<PhaseCtx, 'log' | 'say'>,
  fn: (ctx: PhaseCtx) => Promise<PhaseOutcome>,
): Promise<PhaseResult> {
  const startedAt = new Date();
  const log = PhaseLog.forPhase(base.workDir, name);
  const say = consoleSay(log, name);
  log.line(`# phase ${name}, started ${startedAt.toISOString()}`);
  try {
    const out = await fn({ ...base, log, say });
    say(`ok: ${out.reason}`);
    return {
      name,
      status: 'ok',
      reason: redact(out.reason),
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      exitCode: out.exitCode,
      details: out.details,
      logFile: log.file,
    };
  } catch (e) {
    const known = e instanceof PhaseError;
    // A preflight never writes anything, so whatever stops it is a refusal (exit 2); later phases may have written.
    const rehearseExitCode =
      name === 'preflight' ? EXIT.usage : known ? Math.max(e.exitCode, EXIT.phaseFailed) : EXIT.phaseFailed;
    // A full disk or a refused file is said plainly (which directory, how much free), not as a stack trace.
    const plain = known ? undefined : fsProblem(e);
    const message = known
      ? e.message
      : plain
        ? `${name}: ${plain}`
        : `${name}: unexpected error: ${(e as Error)?.stack ?? e}`;
    say(`FAILED: ${message}`);
    return {
      name,
      status: 'failed',
      reason: redact(message),
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      exitCode: known ? e.toolExitCode : undefined,
      rehearseExitCode,
      details: known ? e.details : undefined,
      logFile: log.file,
    };
  } finally {
    log.close();
  }
}
