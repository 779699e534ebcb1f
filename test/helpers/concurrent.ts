/**
 * Concurrent tests whose helpers register clean-ups (issue 23, the test budget). vitest's global `onTestFinished`
 * attaches the hook to "the current test", a single module variable that concurrent tests overwrite: a helper that
 * awaits before registering its clean-up would hand it to another test, or throw "outside of a test". The helpers
 * (test/helpers/scenario.ts, sandbox.ts, hardening.ts) call `onTestFinished` from here instead: inside a test started by
 * `concurrentTest` it goes to that test's own context (carried by AsyncLocalStorage across every await), elsewhere to
 * vitest's global hook, unchanged.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { onTestFinished as globalOnTestFinished, test, type TestContext } from 'vitest';

const current = new AsyncLocalStorage<TestContext>();

type Hook = Parameters<TestContext['onTestFinished']>[0];

/** Register `fn` to run when the calling test finishes (its own test under `concurrentTest`, else vitest's current). */
export function onTestFinished(fn: Hook, timeoutMs?: number): void {
  const ctx = current.getStore();
  if (ctx) ctx.onTestFinished(fn, timeoutMs);
  else globalOnTestFinished(fn, timeoutMs);
}

/**
 * `test.concurrent(name, fn, timeoutMs)` whose body, and every helper it awaits, registers clean-ups on its own test.
 * For tests that mostly wait (a frozen server, a lock timeout): they share the worker's idle CPU. The body must use the
 * context's `expect` (vitest ties assertions of concurrent tests to their test through it).
 */
export function concurrentTest(name: string, fn: (ctx: TestContext) => Promise<void>, timeoutMs?: number): void {
  test.concurrent(name, (ctx) => current.run(ctx, () => fn(ctx)), timeoutMs);
}
