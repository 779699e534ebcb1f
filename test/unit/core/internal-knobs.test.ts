/**
 * lib/core/internal-knobs: an internal testing knob shortens its timer only when set, only within its bounds, and a bad
 * value is an error naming the variable (never silently the product value).
 */
import { describe, expect, test } from 'vitest';
import { INTERNAL_KNOBS, knobMs } from '../../../lib/core/internal-knobs.ts';
import { CHECK_LOCK_TIMEOUT_MS, checkLockTimeoutMs } from '../../../lib/core/db.ts';

const KNOB = 'MIGRATION_REHEARSAL_CHECK_LOCK_TIMEOUT_MS';

describe('knobMs', () => {
  test('unset or empty: the product value', () => {
    expect(knobMs(KNOB, 10_000, {})).toBe(10_000);
    expect(knobMs(KNOB, 10_000, { [KNOB]: '' })).toBe(10_000);
  });

  test('set within its bounds: that value, the minimum and the product value included', () => {
    expect(knobMs(KNOB, 10_000, { [KNOB]: '3000' })).toBe(3000);
    expect(knobMs(KNOB, 10_000, { [KNOB]: String(INTERNAL_KNOBS[KNOB].minMs) })).toBe(INTERNAL_KNOBS[KNOB].minMs);
    expect(knobMs(KNOB, 10_000, { [KNOB]: '10000' })).toBe(10_000);
  });

  test.each(['0', '499', '10001', '600000', '-5', '3.5', '3s', ' 3000', 'abc'])(
    'a value that is not a whole number of ms within bounds (%j) throws naming the variable and its range',
    (raw) => {
      expect(() => knobMs(KNOB, 10_000, { [KNOB]: raw })).toThrow(
        new RegExp(`^${KNOB}=.*internal testing knob takes a whole number of ms from 500 to 10000`),
      );
    },
  );

  test('every knob has a positive minimum', () => {
    for (const k of Object.values(INTERNAL_KNOBS)) expect(k.minMs).toBeGreaterThan(0);
  });

  test('read at each call: the product constant stays the default of a run that sets nothing', () => {
    const saved = process.env.MIGRATION_REHEARSAL_CHECK_LOCK_TIMEOUT_MS;
    try {
      delete process.env.MIGRATION_REHEARSAL_CHECK_LOCK_TIMEOUT_MS;
      expect(checkLockTimeoutMs()).toBe(CHECK_LOCK_TIMEOUT_MS);
      process.env.MIGRATION_REHEARSAL_CHECK_LOCK_TIMEOUT_MS = '2000';
      expect(checkLockTimeoutMs()).toBe(2000);
    } finally {
      if (saved === undefined) delete process.env.MIGRATION_REHEARSAL_CHECK_LOCK_TIMEOUT_MS;
      else process.env.MIGRATION_REHEARSAL_CHECK_LOCK_TIMEOUT_MS = saved;
    }
  });
});
