import path from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * Two projects:
 * - `checks`: the migration checks in specs/, after the copy phases run by setup/global-setup.ts (this is `npm test`,
 *   normally started by scripts/rehearse.ts, which sets REHEARSAL_RUN_DIR so the reports land in the run's folder);
 * - `self`: the project's own tests in test/ (`npm run test:self`).
 */
const runDir = process.env.REHEARSAL_RUN_DIR;
const selfReports = path.resolve(process.env.SELF_REPORTS_DIR ?? 'reports/self');

const reporters: any[] = ['default'];
if (runDir) {
  reporters.push(
    ['junit', { outputFile: path.join(runDir, 'junit.xml'), suiteName: 'migration-rehearsal', classnameTemplate: '{filename}', addFileAttribute: true }],
    ['json', { outputFile: path.join(runDir, 'results.json') }],
    ['html', { outputFile: path.join(runDir, 'html/index.html') }],
    './lib/reporter.ts',
  );
} else if (process.env.SELF_REPORTS !== '0') {
  reporters.push(['junit', { outputFile: path.join(selfReports, 'junit.xml'), suiteName: 'migration-rehearsal self-tests' }]);
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
          name: 'self',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/helpers/global-sandbox.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          pool: 'forks',
        },
      },
    ],
  },
});
