/**
 * The shapes every family uses for what is not a plain pass (lib/checks/family.ts `Verdict`, turned into tests by
 * lib/checks/runner.ts): one idiom for "not checked" and one for warnings, so the reporters (lib/audit/) can count
 * them without knowing any family.
 *
 * - A check that could not compare anything fails with `not checked: <reason>` (never a pass: a check that compared
 *   nothing proves nothing).
 * - A warning is a passed test carrying one or more annotations of type `warning`; the audit trail counts such a test
 *   as a warning (a third state beside pass and fail), with each warning's text.
 */

/** The annotation type that marks a warning on a passing test. */
export const WARNING = 'warning';

/** The failure text of a check that could not run: `not checked: <reason>` (a reason already prefixed is kept). */
export function notChecked(reason: string): string {
  return reason.startsWith('not checked: ') ? reason : `not checked: ${reason}`;
}

/** A check's verdict with its reason (typed `never`, unlike expect.fail, so control flow narrows after it). */
export class CheckFailure extends Error {
  override name = 'CheckFailure';
}

/** Fail the running check with `message` (throws CheckFailure; the message is what JUnit and checks.json show). */
export function fail(message: string): never {
  throw new CheckFailure(message);
}

/** Where a check writes notes: vitest's `annotate` in a rehearsal, a recorder in-process (`evaluate`). */
export type Annotate = (message: string, type?: string) => Promise<unknown>;

/** Record a warning on the running check (it still passes): `await warn(notes, 'one pre-existing orphan ...')`. */
export function warn(annotate: Annotate, message: string): Promise<unknown> {
  return annotate(message, WARNING);
}
