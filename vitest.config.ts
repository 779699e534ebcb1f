import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { checksTestOptions, reportersFor } from './setup/checks-config.ts';
import SlowestFirst from './test/helpers/sequencer.ts';

/**
 * Three projects:
 * - `checks`: the migration checks in specs/, after the copy phases run by setup/global-setup.ts (this is `npm test`,
 *   normally started by scripts/rehearse.ts, whose run protocol (REHEARSAL_RUN, read by reportersFor through
 *   lib/core/run-protocol.ts fromEnv) names the run's folder, where the reports land);
 * - `unit`: the project's own tests of pure functions in test/unit/ (`npm run test:unit`, no cluster);
 * - `integration`: the project's own tests against real clusters and tools in test/integration/.
 * `npm run test:self` runs `unit` and `integration`.
 */
const root = fileURLToPath(new URL('.', import.meta.url));
const reporters = reportersFor(process.env, root, 'ts') as any[];

export default defineConfig({
  test: {
    reporters,
    // The integration files start slowest first (test/helpers/sequencer.ts), so the run does not end on one long file.
    sequence: { sequencer: SlowestFirst },
    projects: [
      {
        test: checksTestOptions(process.env, root, 'ts'),
      },
      {
        test: {
          // Pure functions: no cluster, no network, no child process (`npm run test:unit`, seconds).
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
          // Worker threads sharing modules across files: a third of the CPU time of forked, isolated files
          // (measured: 3.7 s instead of 9.8 s CPU for the whole project); unit tests keep no global state between files.
          pool: 'threads',
          isolate: false,
          // Projects with different worker counts run as ordered groups (vitest requires a distinct groupOrder):
          // the unit project first (seconds), then the integration project.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          // Real clusters (one source + one target per run), real tools, real files, real HTTP.
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/global-sandbox.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          pool: 'forks',
          // One file more than there are cores (three on a 2-core machine, at most four). vitest's default is one worker
          // per core but one (2 - 1 = 1 here), so the files ran one after the other while a core idled: a file spends
          // part of its time waiting on PostgreSQL, on a CLI child, on a timeout it proves. Measured on this 2-core
          // machine (`npm run test:self`, 2026-12-08): two files at a time 770 s, three at a time 631–687 s with the CPU
          // 97.7 % busy over the run (/proc/stat), every test green in both; more would only queue on the CPU. Files
          // share only the sandbox clusters, where each test makes its own databases (test/helpers/sandbox.ts) and its
          // own WORK_DIR, so files running at once see nothing of each other.
          maxWorkers: Math.min(4, os.availableParallelism() + 1),
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
