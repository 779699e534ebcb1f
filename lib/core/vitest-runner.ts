/**
 * Run the `checks` project of vitest as a child process, with every line of its output passed through the redactor.
 * (A child process, not the in-process API, so a crash in a check can never take the CLI's bookkeeping with it.)
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { terminalLine } from './escape.ts';
import { redact } from './redact.ts';
import { onStopSignal, withParentDeathSignal } from './signals.ts';
import { BUILT, CODE_ROOT, PROJECT_ROOT } from './project.ts';

/** Lines of vitest's JSON/HTML reporters saying where they wrote (the summary says it for every report file). */
export const REPORTER_CHATTER =
  /^\s*(JSON report written to |HTML\s+Report is generated|You can run npx vite preview|JUNIT report written to )/;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

export interface VitestRun {
  code: number;
  signal?: NodeJS.Signals;
  /** The signal this process received (and forwarded to vitest) while vitest ran. */
  interruptedBy?: NodeJS.Signals;
}

/**
 * The vitest command line for the checks project: `[bin, args]` for `vitest run` (the rehearsal, the bench's peer;
 * `--list` runs in-process, lib/cli/list.ts).
 * From the build (bin/run.mjs): the build's own configuration (setup/vitest.checks.config.ts, compiled), loaded natively —
 * nothing of the project is transpiled at start-up. From the sources (tsx): vitest.config.ts's `checks` project.
 */
export function checksVitestCommand(): [string, string[]] {
  const bin = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'vitest');
  if (BUILT)
    return [
      bin,
      ['run', '--config', path.join(CODE_ROOT, 'setup', 'vitest.checks.config.js'), '--configLoader', 'native'],
    ];
  return [bin, ['run', '--project', 'checks']];
}

export function runChecks(opts: {
  env: NodeJS.ProcessEnv;
  extraArgs?: string[];
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}): Promise<VitestRun> {
  const [bin, base] = checksVitestCommand();
  const args = [...base, ...(opts.extraArgs ?? [])];
  // No colour codes, on a terminal too: every line is escaped completely before it is shown (terminalLine), so a
  // colour of vitest's could not be told from an escape code in a table name (issue 26, attack 24).
  const env = { ...opts.env, FORCE_COLOR: '0', NO_COLOR: '1' };
  const quiet = opts.env.REHEARSAL_VERBOSE !== '1';
  return new Promise((resolve, reject) => {
    // vitest (and through it every copy tool) stops when this process dies, even by kill -9: TERM lets global setup
    // record the interruption and stop its tools, which die with vitest in any case (lib/core/tools.ts).
    const [file, argv] = withParentDeathSignal(bin, args, 'TERM');
    const child = spawn(file, argv, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const forward = (stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr') => {
      const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
      rl.on('line', (line) => {
        // vitest's file reporters announce their files; the run summary lists them once.
        if (quiet && REPORTER_CHATTER.test(line.replace(ANSI, ''))) return;
        // Check names carry table names and paths: no escape sequence of theirs reaches the terminal.
        const safe = terminalLine(redact(line));
        if (opts.onLine) opts.onLine(safe, name);
        else (name === 'stdout' ? process.stdout : process.stderr).write(safe + '\n');
      });
    };
    forward(child.stdout, 'stdout');
    forward(child.stderr, 'stderr');
    let interruptedBy: NodeJS.Signals | undefined;
    // vitest's global setup stops the copy tools it runs and records the interruption; we wait for it to end.
    // Every signal is forwarded (a second Ctrl-C too), the first one is what the run records.
    const offSignal = onStopSignal(
      (sig) => {
        interruptedBy ??= sig;
        child.kill(sig);
      },
      { once: false },
    );
    child.on('error', reject);
    child.on('close', (code, signal) => {
      offSignal();
      resolve({ code: code ?? 1, signal: signal ?? undefined, interruptedBy });
    });
  });
}
