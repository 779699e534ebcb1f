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
          // Two files at a time. vitest's default is one worker per core but one (2 - 1 = 1 on a 2-core machine), so the
          // files ran one after the other while a core idled: a file spends much of its time waiting on PostgreSQL, on
          // a CLI child, on a timeout it proves. Files share only the sandbox clusters, where each test makes its own
          // databases (test/helpers/sandbox.ts) and its own WORK_DIR, so two at once see nothing of each other.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
