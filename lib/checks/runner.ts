/**
 * The one module of lib/checks that knows vitest: it turns a check family (lib/checks/family.ts) into vitest tests.
 * Each `specs/<id>.spec.ts` is `await registerFamily('<id>')`. The conventions every family gets from here:
 *
 * - one test per entry of `subjects(ctx)`, named by `name(subject)` (or the entry's fixed name); a `skip` entry is a
 *   skipped test under its stable name, the reason its skip note (`context.skip(reason)`: JUnit's `<skipped message>`);
 * - a `fail` verdict fails the test with its message, `not-checked` with `not checked: <reason>` (one failure path:
 *   CheckFailure, lib/checks/shared/verdict.ts);
 * - evidence, warnings and full lists are the check's notes, i.e. vitest annotations (a passing test with a `warning`
 *   annotation is a warning in the audit trail).
 */
import { afterAll, inject, test } from 'vitest';
import { closePools } from '../core/db.ts';
import { settleWithin, underDeadline } from './deadline.ts';
import { failureText, plannedTests } from './family.ts';
import { familyById } from './registry.ts';
import { checkContext, type CheckContext, type RehearsalContext } from './shared/context.ts';
import { CheckFailure } from './shared/verdict.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    rehearsal: RehearsalContext;
  }
}

let context: CheckContext | undefined;

/** The check context of this worker: the run global setup provided, with the configuration of its environment. */
export function workerContext(): CheckContext {
  return (context ??= checkContext(inject('rehearsal')));
}

/**
 * Register the tests of the family `id` (a registry id) in the calling spec file: its subjects are read now (top-level
 * await), each becomes a test. The pools are closed after the file's tests.
 */
export async function registerFamily(id: string): Promise<void> {
  const family = familyById(id);
  const ctx = workerContext();
  afterAll(() => settleWithin(closePools(), 5_000));
  const define = family.concurrent ? test.concurrent : test;
  for (const t of await plannedTests(family, ctx)) {
    const run = t.run;
    if (!run) {
      const reason = t.skipReason;
      test(t.name, ({ skip }) => skip(reason));
      continue;
    }
    define(t.name, async ({ annotate }) => {
      // One deadline for the checks phase; a dead side fails every remaining check at once (lib/checks/deadline.ts).
      // The families judging the copy itself (phases) read no server: no deadline.
      const watched = family.runsWhenBlocked === true ? undefined : ctx.config;
      const message = failureText(await underDeadline(ctx.run, watched, () => run(annotate)));
      if (message !== undefined) throw new CheckFailure(message);
    });
  }
}
