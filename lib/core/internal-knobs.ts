/**
 * Internal testing knobs (issue 23, the test budget; docs/architecture.md "The test budget"): environment variables
 * that shorten one of the product's timers, ONLY when set, so the project's own tests prove the same behaviour (the
 * same fault seeded, the same check red for the same reason) in less wall time. They are not part of the operator
 * contract (lib/core/config-contract.ts; `--help` does not list them): unset — as in every real run — each timer keeps
 * its product value. A knob can only shorten its timer, never lengthen it. Each is read here only, at each use.
 */

/** Each knob: the product constant it shortens, and the least value it accepts (ms). */
export const INTERNAL_KNOBS = {
  /** lib/core/db.ts CHECK_LOCK_TIMEOUT_MS (10 s): a check connection's lock_timeout. */
  MIGRATION_REHEARSAL_CHECK_LOCK_TIMEOUT_MS: { minMs: 500 },
} as const;

export type InternalKnob = keyof typeof INTERNAL_KNOBS;

/**
 * The value (ms) of the timer `knob` shortens: `productMs` when the variable is unset or empty, else its value.
 * Read at each call (an in-process test may set it for its file).
 * @throws Error naming the variable when its value is not a whole number of ms from the knob's minimum to `productMs`.
 */
export function knobMs(knob: InternalKnob, productMs: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[knob];
  if (raw === undefined || raw === '') return productMs;
  const { minMs } = INTERNAL_KNOBS[knob];
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= minMs && n <= productMs))
    throw new Error(
      `${knob}=${JSON.stringify(raw)}: this internal testing knob takes a whole number of ms from ${minMs} to ${productMs}; unset it for a real run`,
    );
  return n;
}
