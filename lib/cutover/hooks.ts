/**
 * Running the operator's hooks: `sh -c <command>` in its own process group, bounded by CUTOVER_HOOK_TIMEOUT_MS
 * (SIGTERM to the whole group, SIGKILL 5 s later), every output line redacted into the phase's log and the console.
 * The hook inherits the cutover's environment plus CUTOVER_PHASE and CUTOVER_WORK_DIR.
 */
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { redact } from '../core/redact.ts';
import type { PhaseLog } from '../core/tools.ts';
import { HOOKS, type CutoverConfig, type HookName, type HookSpec } from './config.ts';
import type { HookRecord } from './log.ts';

export function hookSpec(name: HookName): HookSpec {
  return HOOKS.find((h) => h.name === name)!;
}

/** The hook as shown in the plan and the log: `sh -c '<command>'`, redacted; or why it would not run. */
export function displayHook(config: CutoverConfig, name: HookName): string {
  const spec = hookSpec(name);
  const cmd = config.hooks[name];
  if (!cmd) return `${spec.variable} is not set: ${spec.required ? 'the phase would stop here' : 'skipped'}`;
  return redact(`${spec.variable}: sh -c ${JSON.stringify(cmd)}`);
}

/** The required hooks of `names` that are not configured (their variables), for a refusal before anything runs. */
export function missingHooks(config: CutoverConfig, names: HookName[]): string[] {
  return names
    .map(hookSpec)
    .filter((h) => h.required && !config.hooks[h.name])
    .map((h) => h.variable);
}

const KILL_GRACE_MS = 5000;

export interface HookRunOptions {
  phase: string;
  log: PhaseLog;
  say: (line: string) => void;
  /** Children to stop on SIGINT/SIGTERM. */
  onChild?: (stop: () => void) => () => void;
}

/** Run one hook; never throws. An unset optional hook is a 'skipped' record. */
export function runHook(config: CutoverConfig, name: HookName, opts: HookRunOptions): Promise<HookRecord> {
  const spec = hookSpec(name);
  const cmd = config.hooks[name];
  if (!cmd) {
    opts.say(
      `hook ${spec.variable}: not set, skipped${spec.required ? ' (required: this should have been refused)' : ''}`,
    );
    return Promise.resolve({ hook: name, variable: spec.variable, status: 'skipped' });
  }
  opts.say(`hook ${spec.variable}: sh -c ${JSON.stringify(redact(cmd))}`);
  return spawnHook(config, name, cmd, opts);
}

/**
 * `sh -c <cmd>` in its own process group (so a timeout or a stop reaches everything it started), its lines said
 * redacted; the group gets SIGTERM at CUTOVER_HOOK_TIMEOUT_MS, SIGKILL KILL_GRACE_MS later. Never rejects.
 */
function spawnHook(config: CutoverConfig, name: HookName, cmd: string, opts: HookRunOptions): Promise<HookRecord> {
  const spec = hookSpec(name);
  const command = redact(cmd);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', cmd], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CUTOVER_PHASE: opts.phase, CUTOVER_WORK_DIR: config.workDir },
    });
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    let timedOut = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      graceTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    }, config.hookTimeoutMs);
    const unregister = opts.onChild?.(() => killGroup('SIGTERM'));
    for (const [stream, label] of [
      [child.stdout!, ''],
      [child.stderr!, 'stderr: '],
    ] as const) {
      readline
        .createInterface({ input: stream, crlfDelay: Infinity })
        .on('line', (line) => opts.say(`  ${spec.variable} ${label}${redact(line)}`));
    }
    const done = (rec: HookRecord) => {
      clearTimeout(timer);
      if (graceTimer) clearTimeout(graceTimer);
      unregister?.();
      opts.say(
        `hook ${spec.variable}: ${rec.status}${rec.exitCode !== undefined ? ` (exit ${rec.exitCode})` : ''} in ${rec.durationMs} ms`,
      );
      resolve(rec);
    };
    child.on('error', (e) =>
      done({
        hook: name,
        variable: spec.variable,
        status: 'failed',
        command,
        durationMs: Date.now() - started,
        exitCode: 127,
      }),
    );
    child.on('close', (code, signal) => {
      const durationMs = Date.now() - started;
      if (timedOut)
        return done({
          hook: name,
          variable: spec.variable,
          status: 'timeout',
          command,
          durationMs,
          exitCode: code ?? 128,
        });
      const exitCode = code ?? 128 + (signal ? 15 : 0);
      done({
        hook: name,
        variable: spec.variable,
        status: exitCode === 0 ? 'ok' : 'failed',
        command,
        durationMs,
        exitCode,
      });
    });
  });
}

/** What a failed hook record means, for the phase summary. */
export function hookFailure(rec: HookRecord, timeoutMs: number): string {
  if (rec.status === 'timeout')
    return `hook ${rec.variable} did not finish within CUTOVER_HOOK_TIMEOUT_MS=${timeoutMs} and was stopped`;
  return `hook ${rec.variable} exited ${rec.exitCode}`;
}
