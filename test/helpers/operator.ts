/**
 * The deciding functions of a refusal, called in-process: the configuration parser (the contract table and its path
 * policy), the start-up gate of `rehearse` (WORK_DIR / REPORTS_DIR usable, lib/cli/rehearse.ts) and the preflight gate
 * (lib/phases/preflight-gate.ts). A test proves one variant of each kind of refusal through the whole CLI (exit 2, the
 * message, nothing written) and the other variants here, with the same message asserted: milliseconds instead of a
 * CLI child each.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { rehearse as rehearseRun } from '../../lib/cli/rehearse.ts';
import { parseConfig, type Mode } from '../../lib/core/config.ts';
import { closePools } from '../../lib/core/db.ts';
import { ConfigError, EXIT } from '../../lib/core/errors.ts';
import type { RunState } from '../../lib/core/state.ts';
import { preflightGate } from '../../lib/phases/preflight-gate.ts';
import { cleanEnv, tempDir } from './scenario.ts';

/** What an in-process refusal said: the exit code the CLI would return and its message. */
export interface Refusal {
  code: number;
  output: string;
}

/**
 * The configuration refusal of `env` (contract variables, as `rehearse` would see them) in `mode`, exactly as the
 * CLI parses it (scripts/rehearse.ts: parseConfig, a ConfigError is exit 2 with its message); undefined when accepted.
 */
export function configRefusal(env: Record<string, string | undefined>, mode: Mode = 'full'): Refusal | undefined {
  try {
    parseConfig(cleanEnv(env), { mode });
    return undefined;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { code: e.exitCode, output: e.message };
  }
}

/**
 * A run's start refused before anything is written (`mode`: a full run or `--verify-only`, the default): the
 * configuration parsed as the CLI does, then the run library's own start (lib/cli/rehearse.ts `rehearse`: WORK_DIR private and usable, REPORTS_DIR no link and usable).
 * Only for environments that are refused there: an accepted one would start a whole run in-process, so the test
 * fails first when the start did not refuse.
 */
export async function startRefusal(
  env: Record<string, string | undefined>,
  mode: 'full' | 'verify-only' = 'verify-only',
): Promise<Refusal> {
  const refused = configRefusal(env, mode);
  if (refused) return refused;
  const config = parseConfig(cleanEnv(env), { mode });
  const lines: string[] = [];
  const code = await rehearseRun(config, {
    mode,
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
  });
  return { code, output: lines.join('\n') };
}

/**
 * The preflight gate of a run in `mode` over `env` (lib/phases/preflight-gate.ts, the function `rehearse` calls before
 * vitest starts), in a scratch WORK_DIR: its result (status, reason, the rehearse exit code of a refusal) and that
 * WORK_DIR (where the gate wrote preflight.json).
 */
export async function gateResult(
  env: Record<string, string | undefined>,
  mode: RunState['mode'],
): Promise<{ status: string; reason: string; code: number | undefined; workDir: string }> {
  const config = parseConfig(cleanEnv(env), { mode: mode === 'full' ? 'full' : 'verify-only' });
  const workDir = path.join(tempDir('rehearsal-gate-'), 'work');
  onTestFinished(() => closePools());
  const { record } = await preflightGate(config, { runId: `in-process-${randomUUID()}`, workDir, mode });
  return {
    status: record.result.status,
    reason: record.result.reason ?? '',
    code: record.result.status === 'failed' ? (record.result.rehearseExitCode ?? EXIT.usage) : undefined,
    workDir,
  };
}
