/**
 * The `checks` vitest project (the migration checks in specs/, after the copy phases run by global setup), defined
 * once for both ways it is started:
 * - from the sources (`vitest run --project checks` through vitest.config.ts, e.g. while developing a spec): vite
 *   transpiles global setup, the reporter and every lib/ module on the fly;
 * - from the build (`rehearse` run by bin/run.mjs, see bin/build.mjs): vitest is started on
 *   `.build/<key>/setup/vitest.checks.config.js`; global setup and the reporter are the compiled modules, the specs'
 *   imports of `lib/…ts` are pointed at the compiled `lib/…js` and loaded by Node itself (vitest's `server.deps.external`),
 *   so nothing of the project is transpiled at run time except the spec files themselves (whose names stay
 *   `specs/<name>.spec.ts` in every report).
 */
import path from 'node:path';
import { fromEnv, reportsStagingDir } from '../lib/core/run-protocol.ts';

/**
 * A reporter module vitest can load by path: lib/audit/file-reporters' guarded json or html reporter, re-exported as
 * the default export vitest instantiates (a module per reporter, next to the build's or the sources' lib/).
 */
function fileReporters(codeRoot: string, ext: 'ts' | 'js', which: 'json' | 'html'): string {
  return path.join(codeRoot, 'lib', 'audit', `${which}-file-reporter.${ext}`);
}

/** Reporters of a rehearsal (the run protocol's runDir, set by rehearse), else of the project's own test runs. */
export function reportersFor(env: NodeJS.ProcessEnv, codeRoot: string, ext: 'ts' | 'js'): unknown[] {
  const run = fromEnv(env);
  const runDir = run?.runDir;
  // vitest's file reporters write in WORK_DIR; the run's bookkeeping publishes them atomically (reportsStagingDir).
  const staging = run && reportsStagingDir(run);
  // A rehearsal prints through lib/audit/reporter.ts only: progress, each failed check once with its evidence, no green
  // lists, no stack frames for findings (REHEARSAL_VERBOSE=1 adds vitest's own console). Its junit.xml is written
  // afterwards from checks.json (lib/audit/junit-writer.ts: classname = family).
  const reporters: unknown[] = runDir && env.REHEARSAL_VERBOSE !== '1' ? [] : ['default'];
  if (runDir) {
    reporters.push(
      // vitest's json and html reporters, guarded: a failed write is one line, not an unhandled error (file-reporters).
      [fileReporters(codeRoot, ext, 'json'), { outputFile: path.join(staging ?? runDir, 'results.json') }],
      [fileReporters(codeRoot, ext, 'html'), { outputFile: path.join(staging ?? runDir, 'html/index.html') }],
      path.join(codeRoot, 'lib', 'audit', `reporter.${ext}`),
    );
  } else if (env.SELF_REPORTS !== '0') {
    const selfReports = path.resolve(env.SELF_REPORTS_DIR ?? 'reports/self');
    reporters.push([
      'junit',
      { outputFile: path.join(selfReports, 'junit.xml'), suiteName: 'migration-rehearsal self-tests' },
    ]);
  }
  return reporters;
}

/**
 * V8 heap limit of the check workers (MB) when NODE_OPTIONS sets none. Below 2048 MB, V8's heap controller lets the
 * old generation grow at most about 2× between full collections instead of 4× (V8 src/heap/heap-controller.cc,
 * MaxGrowingFactor), so a worker that streams a large asset tree (the census, the tree comparison: bounded live data,
 * much short-lived garbage) stays near its live set instead of drifting up with the number of files. Measured on the
 * demo world plus 600,000 files under DST_ASSETS_DIR, `--verify-only --select asset-census`, peak RSS of the worker:
 * 224 MB with V8's default limit (4 GB on this 23 GB machine), 225 MB at 2048, 151 MB at 1024; in-process, the tree
 * comparison of 200,000 files per side: 192–202 MB by default, 141–155 MB at 1024–2000. 2000 MB leaves a live set
 * many times any check's, so no run fails for the limit.
 */
export const CHECK_WORKER_HEAP_MB = 2000;

/**
 * Node arguments of the check workers: `--max-old-space-size=CHECK_WORKER_HEAP_MB`, unless the operator's NODE_OPTIONS
 * already sets a heap limit (theirs wins; command-line flags would otherwise override NODE_OPTIONS).
 */
export function checkWorkerExecArgv(env: NodeJS.ProcessEnv): string[] {
  return /--max[-_]old[-_]space[-_]size\b/.test(env.NODE_OPTIONS ?? '')
    ? []
    : [`--max-old-space-size=${CHECK_WORKER_HEAP_MB}`];
}

/**
 * The `test` options of the checks project. `codeRoot` is where the running code lives (the project root, or the
 * build folder), `ext` its modules' extension.
 */
export function checksTestOptions(env: NodeJS.ProcessEnv, codeRoot: string, ext: 'ts' | 'js') {
  return {
    name: 'checks',
    include: ['specs/**/*.spec.ts'],
    globalSetup: [path.join(codeRoot, 'setup', `global-setup.${ext}`)],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxConcurrency: Number(env.CHECK_CONCURRENCY) || 4,
    pool: 'forks' as const,
    execArgv: checkWorkerExecArgv(env),
    // The spec files share nothing but read-only modules; reusing a worker for several files halves the start-up
    // cost of a run (about 7 s to 4 s for the demo database) and does not change what is checked.
    isolate: false,
  };
}
