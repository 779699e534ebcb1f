/**
 * Run the `checks` project of vitest as a child process, with every line of its output passed through the redactor.
 * (A child process, not the in-process API, so a crash in a check can never take the CLI's bookkeeping with it.)
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { redact } from './redact.ts';
import { onStopSignal, withParentDeathSignal } from './signals.ts';
import { PROJECT_ROOT } from './project.ts';

export interface VitestRun {
  code: number;
  signal?: NodeJS.Signals;
  /** The signal this process received (and forwarded to vitest) while vitest ran. */
  interruptedBy?: NodeJS.Signals;
}

export function runChecks(opts: {
  env: NodeJS.ProcessEnv;
  extraArgs?: string[];
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}): Promise<VitestRun> {
  const bin = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'vitest');
  const args = ['run', '--project', 'checks', ...(opts.extraArgs ?? [])];
  return new Promise((resolve, reject) => {
    // vitest (and through it every copy tool) stops when this process dies, even by kill -9: TERM lets global setup
    // record the interruption and stop its tools, which die with vitest in any case (lib/core/tools.ts).
    const [file, argv] = withParentDeathSignal(bin, args, 'TERM');
    const child = spawn(file, argv, { cwd: PROJECT_ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const forward = (stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr') => {
      const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
      rl.on('line', (line) => {
        const safe = redact(line);
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
