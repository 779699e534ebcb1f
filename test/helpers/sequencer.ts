/**
 * The order the integration files start in: the slowest first, so that with two workers the last file to finish is a
 * short one (a long file started last keeps one worker busy while the other idles). vitest's own order needs its
 * results cache from an earlier run; a clean clone (CI) has none and falls back to file size, which puts a 130-line
 * whole-run case behind a 250-line file of milliseconds. The weights below are measured seconds per file (vitest's
 * JSON report of a full `npm run test:self`); a file not listed (a new one) starts first, as vitest does with files it
 * has no result for. Only the start order changes: every file still runs, in its own forked worker.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Seconds per integration file (path from the project root), from a full run; rough is enough, only the order counts. */
export const FILE_SECONDS: Record<string, number> = {
  'test/integration/phases-restore.test.ts': 182,
  'test/integration/operator-report.test.ts': 122,
  'test/integration/rerun.test.ts': 80,
  'test/integration/cutover.test.ts': 68,
  'test/integration/pipeline-managed.test.ts': 68,
  'test/integration/versions-matrix.test.ts': 67,
  'test/integration/safety-guards.test.ts': 56,
  'test/integration/operator-views.test.ts': 55,
  'test/integration/repeat-marker.test.ts': 43,
  'test/integration/engines-pgcopydb.test.ts': 39,
  'test/integration/audit.test.ts': 35,
  'test/integration/sandbox-cli.test.ts': 29,
  'test/integration/safety-processes.test.ts': 23,
  'test/integration/engines-fpsync.test.ts': 21,
  'test/integration/schema-matrix.test.ts': 19,
  'test/integration/hardening-steer.test.ts': 15,
  'test/integration/deep-checks.test.ts': 7,
  'test/integration/phases-commands.test.ts': 4,
  'test/integration/bench-report.test.ts': 3,
};

/** An unlisted file's weight: more than any listed one, so new files start first. */
const UNKNOWN = 1e6;

/** Longest-first for the integration project; every other project keeps vitest's own order (after integration's). */
export default class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const root = (spec: TestSpecification) => spec.project.config.root;
    const weight = (spec: TestSpecification) =>
      FILE_SECONDS[spec.moduleId.slice(root(spec).length).replace(/^\/+/, '')] ?? UNKNOWN;
    const integration = base.filter((s) => s.project.name === 'integration');
    const others = base.filter((s) => s.project.name !== 'integration');
    // Array.prototype.sort is stable: equal weights (e.g. two new files) keep vitest's order.
    return [...integration.sort((a, b) => weight(b) - weight(a)), ...others];
  }
}
