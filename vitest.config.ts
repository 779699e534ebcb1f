import path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Three projects:
 * - `checks`: the migration checks in specs/, after the copy phases run by setup/global-setup.ts (this is `npm test`,
 *   normally started by scripts/rehearse.ts, which sets REHEARSAL_RUN_DIR so the reports land in the run's folder);
 * - `unit`: the project's own tests of pure functions in test/unit/ (`npm run test:unit`, no cluster);
 * - `integration`: the project's own tests against real clusters and tools in test/integration/.
 * `npm run test:self` runs `unit` and `integration`.
 */
const runDir = process.env.REHEARSAL_RUN_DIR;
const selfReports = path.resolve(process.env.SELF_REPORTS_DIR ?? 'reports/self');

// A rehearsal (REHEARSAL_RUN_DIR set by rehearse) prints through lib/audit/reporter.ts only: progress, each failed
// check once with its evidence, no green lists, no stack frames for findings (REHEARSAL_VERBOSE=1 adds vitest's own
// console). Its junit.xml is written afterwards from checks.json (lib/audit/junit-writer.ts: classname = family).
const reporters: any[] = runDir && process.env.REHEARSAL_VERBOSE !== '1' ? [] : ['default'];
if (runDir) {
  reporters.push(
    ['json', { outputFile: path.join(runDir, 'results.json') }],
    ['html', { outputFile: path.join(runDir, 'html/index.html') }],
    './lib/audit/reporter.ts',
  );
} else if (process.env.SELF_REPORTS !== '0') {
  reporters.push([
    'junit',
    { outputFile: path.join(selfReports, 'junit.xml'), suiteName: 'migration-rehearsal self-tests' },
  ]);
}

export default defineConfig({
  test: {
    reporters,
    projects: [
      {
        test: {
          name: 'checks',
          include: ['specs/**/*.spec.ts'],
          globalSetup: ['setup/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          maxConcurrency: Number(process.env.CHECK_CONCURRENCY) || 4,
          pool: 'forks',
          // The spec files share nothing but read-only modules; reusing a worker for several files halves the
          // start-up cost of a run (about 7 s to 4 s for the demo database) and does not change what is checked.
          isolate: false,
        },
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
        },
      },
    ],
  },
});
