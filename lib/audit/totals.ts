/**
 * The one home of "the totals of a list of checks": how many passed, failed, were skipped, were left out by a rerun's
 * filter, and how many passed with a warning. checks.json, the effective view, the manifest, JUnit, report.html,
 * summary.md and the console all count with `tally`, so they cannot disagree.
 */
import { WARNING } from '../checks/shared/verdict.ts';
import type { CheckRecord } from './reporter.ts';

export interface RunTotals {
  /** Checks that ran and passed (warnings included). */
  passed: number;
  /**
   * Checks that ran and failed as a CAUSE (a spec that failed to load counts as one). A failure that follows from an
   * earlier one (`causedBy`, lib/audit/causes.ts) is counted in `consequences` instead: one cause, one red.
   */
  failed: number;
  /** Failed checks that follow from a counted cause (still failing tests in JUnit; shown under their cause). */
  consequences?: number;
  /** Checks skipped visibly (test.skip, a disabled check, a phase that did not run). */
  skipped: number;
  /** Checks the rerun filter left out (reported by vitest as skipped; not counted in `skipped`). */
  notSelected: number;
  /**
   * Passed checks that carry a warning (counted in `passed` too): the third state, to be signed off. Always set by
   * `tally`; absent only in manifests written before warnings existed.
   */
  warnings?: number;
}

/**
 * A warning, the one definition: a check that PASSED and carries at least one `warning` annotation (or was recorded
 * with `warning: true` by the reporter, which sets it from the same annotations). A failed check with a warning
 * annotation is a failure, not a warning.
 */
export function isWarning(c: Pick<CheckRecord, 'state' | 'annotations'> & { warning?: boolean }): boolean {
  return c.state === 'passed' && (c.warning === true || c.annotations.some((a) => a.type === WARNING));
}

/** Whether a check was left out by the rerun filter (never counted as skipped). */
export function isNotSelected(c: Pick<CheckRecord, 'state' | 'selected'>): boolean {
  return c.selected === false && c.state !== 'passed' && c.state !== 'failed';
}

/** Every failing test, causes and consequences (what JUnit counts as failures). */
export function failingTests(t: RunTotals): number {
  return t.failed + (t.consequences ?? 0);
}

/** `2 failed (+3 consequences of them)`: the causes, and the failures that follow from them when there are any. */
export function failedText(t: RunTotals): string {
  const k = t.consequences ?? 0;
  return `${t.failed} failed${k ? ` (+${k} ${k === 1 ? 'consequence' : 'consequences'} of ${t.failed === 1 ? 'it' : 'them'})` : ''}`;
}

/** Count `checks` (see RunTotals); an empty list gives all zeros. */
export function tally(checks: ReadonlyArray<CheckRecord>): Required<RunTotals> {
  const t: Required<RunTotals> = { passed: 0, failed: 0, consequences: 0, skipped: 0, notSelected: 0, warnings: 0 };
  for (const c of checks) {
    if (isWarning(c)) t.warnings++;
    if (isNotSelected(c)) t.notSelected++;
    else if (c.state === 'passed') t.passed++;
    else if (c.state === 'failed' && c.causedBy !== undefined) t.consequences++;
    else if (c.state === 'failed') t.failed++;
    else t.skipped++;
  }
  return t;
}
