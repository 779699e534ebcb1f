/**
 * The order the integration files start in: the slowest first, so that the last files to finish are short ones (a long
 * file started last keeps one worker busy while the others idle). vitest's own order needs its results cache from an
 * earlier run; a clean clone (CI) has none and falls back to file size, which puts a 130-line whole-run case behind a
 * 250-line file of milliseconds. The weights below are measured seconds per file (vitest's JSON report of a full
 * `npm run test:self`); a file not listed (a new one) gets a middle weight. Only the start order changes: every file
 * still runs, in its own forked worker. Refresh the table from a run's JSON report when the order drifts (a slow file
 * missing from it starts in the middle and can end the run alone: hardening-frozen.test.ts, 223 s, once was).
 * Refreshed 2026-12-08 from the full run of 2fd8744 (three files at a time, 596 s), after the copies and refusals of
 * eleven files were judged in-process (docs/architecture.md "The test budget").
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Seconds per integration file (path from the project root), from a full run; rough is enough, only the order counts. */
export const FILE_SECONDS: Record<string, number> = {
  'test/integration/cutover.test.ts': 71,
  'test/integration/hardening-frozen.test.ts': 71,
  'test/integration/pipeline-managed.test.ts': 61,
  'test/integration/operator-views.test.ts': 52,
  'test/integration/demo.test.ts': 48,
  'test/integration/signals-early.test.ts': 43,
  'test/integration/repeat-restore.test.ts': 38,
  'test/integration/bench.test.ts': 36,
  'test/integration/engines-pipeline.test.ts': 35,
  'test/integration/hardening-interrupt.test.ts': 32,
  'test/integration/cases/rw20-stale-assets.test.ts': 31,
  'test/integration/hardening-enospc.test.ts': 30,
  'test/integration/safety-processes.test.ts': 27,
  'test/integration/hardening-scale.test.ts': 26,
  'test/integration/rerun.test.ts': 26,
  'test/integration/hardening-lock.test.ts': 25,
  'test/integration/hardening-timeouts.test.ts': 25,
  'test/integration/operator-report.test.ts': 25,
  'test/integration/versions-matrix.test.ts': 24,
  'test/integration/audit.test.ts': 22,
  'test/integration/cases/rw12-hnsw-memory.test.ts': 22,
  'test/integration/hardening-faults.test.ts': 22,
  'test/integration/hardening-slots.test.ts': 21,
  'test/integration/progress-server.test.ts': 21,
  'test/integration/safety-guards.test.ts': 21,
  'test/integration/cases/rw34-source-deletions.test.ts': 20,
  'test/integration/engines-fpsync.test.ts': 19,
  'test/integration/phases-guards.test.ts': 19,
  'test/integration/operator-preflight.test.ts': 18,
  'test/integration/cases/rw17-fdw.test.ts': 16,
  'test/integration/cases/rw37-growing-file.test.ts': 16,
  'test/integration/hardening-pinned-archive.test.ts': 16,
  'test/integration/cases/rw28-behaviour-settings.test.ts': 15,
  'test/integration/deep-checks.test.ts': 15,
  'test/integration/hardening-numeric-password.test.ts': 15,
  'test/integration/operator-locks.test.ts': 15,
  'test/integration/checks-clean.test.ts': 14,
  'test/integration/checks-discovery.test.ts': 14,
  'test/integration/hardening-restore-role.test.ts': 14,
  'test/integration/phases-restore.test.ts': 14,
  'test/integration/repeat-marker.test.ts': 14,
  'test/integration/cases/rw06-estimate.test.ts': 13,
  'test/integration/cases/rw30-stale-estimate.test.ts': 13,
  'test/integration/cases/rw16-preexisting-orphan.test.ts': 12,
  'test/integration/cases/rw18-subscription.test.ts': 12,
  'test/integration/cases/rw22-tablespace.test.ts': 12,
  'test/integration/cases/rw31-null-asset-column.test.ts': 12,
  'test/integration/cli.test.ts': 12,
  'test/integration/hardening-steer.test.ts': 12,
  'test/integration/list.test.ts': 12,
  'test/integration/phases.test.ts': 12,
  'test/integration/type-matrix.test.ts': 12,
  'test/integration/cases/rw33-extensions-schema.test.ts': 11,
  'test/integration/dry-run.test.ts': 11,
  'test/integration/hardening-console-forge.test.ts': 11,
  'test/integration/hardening-reports-full.test.ts': 11,
  'test/integration/hardening-restore-hold.test.ts': 11,
  'test/integration/operator-tool-paths.test.ts': 11,
  'test/integration/restore-early-failure.test.ts': 11,
  'test/integration/cases/rw03-large-objects.test.ts': 10,
  'test/integration/cases/rw08-paths.test.ts': 10,
  'test/integration/cases/rw19-replication-role.test.ts': 10,
  'test/integration/cases/rw27-function-view-options.test.ts': 10,
  'test/integration/checks-fused-scan.test.ts': 10,
  'test/integration/engines-pgcopydb.test.ts': 10,
  'test/integration/hardening-hostile.test.ts': 10,
  'test/integration/safety-reports.test.ts': 10,
  'test/integration/cases/rw25-table-properties.test.ts': 9,
  'test/integration/cases/rw26-sql-standard-bodies.test.ts': 9,
  'test/integration/deep-bisect.test.ts': 9,
  'test/integration/hardening-preflight-sides.test.ts': 9,
  'test/integration/hardening-progress.test.ts': 9,
  'test/integration/marker-uncounted-writes.test.ts': 9,
  'test/integration/verify-one-scan.test.ts': 9,
  'test/integration/cases/rw02-mixed-dims.test.ts': 8,
  'test/integration/cases/rw13-policy-role.test.ts': 8,
  'test/integration/cases/rw32-non-utf8-names.test.ts': 8,
  'test/integration/cases/rw36-generated-timezone.test.ts': 8,
  'test/integration/checks-rows.test.ts': 8,
  'test/integration/hardening-workdir.test.ts': 8,
  'test/integration/build-prune.test.ts': 7,
  'test/integration/cases/rw01-enum.test.ts': 7,
  'test/integration/cases/rw05-unowned-sequence.test.ts': 7,
  'test/integration/cases/rw10-non-superuser.test.ts': 7,
  'test/integration/versions-pg18-parity.test.ts': 7,
  'test/integration/cases/rw07-asset-columns-typo.test.ts': 6,
  'test/integration/cases/rw09-type-zoo.test.ts': 6,
  'test/integration/cases/rw21-permissions.test.ts': 6,
  'test/integration/cases/rw23-fk-to-partitioned.test.ts': 6,
  'test/integration/cases/rw35-path-twins.test.ts': 6,
  'test/integration/hardening-pinned-assets.test.ts': 6,
  'test/integration/cases/rw04-rls.test.ts': 5,
  'test/integration/cases/rw11-extension-missing.test.ts': 5,
  'test/integration/checks-coverage.test.ts': 5,
  'test/integration/rehearse-skeleton.test.ts': 5,
  'test/integration/sandbox-cli.test.ts': 5,
  'test/integration/sandbox.test.ts': 5,
  'test/integration/checks-assets.test.ts': 4,
  'test/integration/checks-census-readonly.test.ts': 4,
  'test/integration/checks-orphans.test.ts': 4,
  'test/integration/phases-analyze.test.ts': 4,
  'test/integration/schema-matrix.test.ts': 4,
  'test/integration/by-hand.test.ts': 3,
  'test/integration/cases/rw24-inheritance-column-order.test.ts': 3,
  'test/integration/checks-pgvector.test.ts': 3,
  'test/integration/hardening-assets.test.ts': 3,
  'test/integration/hardening-signals.test.ts': 3,
  'test/integration/non-superuser-coverage.test.ts': 3,
  'test/integration/cases/rw29-partition-fk.test.ts': 2,
  'test/integration/checks-asset-paths.test.ts': 2,
  'test/integration/checks-sequences-preexisting.test.ts': 2,
  'test/integration/cli-startup.test.ts': 2,
  'test/integration/fixture.test.ts': 2,
  'test/integration/ident-real.test.ts': 2,
  'test/integration/isolation-code.test.ts': 2,
  'test/integration/phases-commands.test.ts': 2,
  'test/integration/bench-report.test.ts': 1,
  'test/integration/build.test.ts': 1,
  'test/integration/db-pool.test.ts': 1,
  'test/integration/hardening-links.test.ts': 1,
};

/**
 * An unlisted file's weight: a new file is most likely a whole-run test of some tens of seconds, so it starts after the
 * known long files and before the many short ones.
 */
const UNKNOWN = 30;

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
