import os from 'node:os';
import { shownName } from './display.ts';

/** Exit codes of `rehearse` (see the contract). */
export const EXIT = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  phaseFailed: 3,
  /** Stopped by SIGINT (Ctrl-C): 128 + 2, the shell convention. */
  interrupted: 130,
  /** Stopped by SIGTERM: 128 + 15. */
  terminated: 143,
} as const;

/** The exit code for a run stopped by `signal` (128 + signal number, as a shell reports it). */
export function signalExitCode(signal: string): number {
  return 128 + ((os.constants.signals as Record<string, number>)[signal] ?? 2);
}

/**
 * Control characters (newline, carriage return, tab, escape, C1), the line/paragraph separators and bidi overrides
 * written as visible escapes (`\n`, `\x1b`, `\u202e`): lib/core/display.ts shownName, the one rule for a name or a
 * rejected value inside a message.
 */
export function escapeControls(text: string): string {
  return shownName(text);
}

/** A configuration or usage problem: nothing was touched. Exit 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly exitCode = EXIT.usage;
  /** One line per problem, each naming the variable and the fix. */
  readonly problems: string[];
  constructor(problems: string[] | string) {
    // One line per problem: a rejected value echoed with a raw newline could forge a log line of its own.
    const list = (Array.isArray(problems) ? problems : [problems]).map(escapeControls);
    super(
      list.length === 1
        ? `configuration error: ${list[0]}`
        : `configuration errors (${list.length}):\n${list.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = list;
  }
}

/** Facts a PhaseError may carry besides its message. */
export interface PhaseErrorFacts {
  /** Exit code of the external tool that failed (pg_dump, pg_restore, psql, rsync), when one did. */
  toolExitCode?: number;
  /** Structured details recorded in state.json with the failed phase (e.g. preflight's tool versions and problems). */
  details?: Record<string, unknown>;
}

/** A copy phase (preflight, dump, restore, mirror) failed. */
export class PhaseError extends Error {
  override name = 'PhaseError';
  /** Exit code of the external tool that failed, when the failure is a tool's (see lib/core/tools.ts toolFailure). */
  readonly toolExitCode?: number;
  /** Structured details for state.json (preflight: `{ tools, problems }`). */
  readonly details?: Record<string, unknown>;
  constructor(
    readonly phase: string,
    message: string,
    readonly exitCode: number = EXIT.phaseFailed,
    facts: PhaseErrorFacts = {},
  ) {
    super(`${phase}: ${message}`);
    this.toolExitCode = facts.toolExitCode;
    this.details = facts.details;
  }
}
