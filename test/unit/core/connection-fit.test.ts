/** Issue 26 (item 2): with few free connection slots the checks run with fewer workers and fewer checks at once. */
import { describe, expect, test } from 'vitest';
import { connectionBudget, fitToSlots, restoreAppName } from '../../../lib/core/db.ts';

describe('fitToSlots', () => {
  test('3 free slots, source and target on one server: one worker, one check at a time, pools of one', () => {
    const f = fitToSlots(3, 2, 3, 4);
    expect(f).toEqual({ workers: 1, concurrency: 1 });
    expect(connectionBudget(3, f.workers, 2, f.concurrency)).toBe(1);
  });
  test('3 free slots on a server of its own: one worker, one check at a time', () => {
    expect(fitToSlots(3, 1, 3, 4)).toEqual({ workers: 1, concurrency: 1 });
  });
  test('plenty of slots: the defaults stand', () => {
    expect(fitToSlots(97, 2, 3, 4)).toEqual({ workers: 3, concurrency: 4 });
  });
  test('never below one worker and one check', () => {
    expect(fitToSlots(0, 2, 3, 4)).toEqual({ workers: 1, concurrency: 1 });
  });
});

describe('restoreAppName (issue 26: the interruption cleanup also when the DSN sets its own application_name)', () => {
  test("the run's own name, or the DSN's with the run-unique part, within the server's 63 bytes", () => {
    expect(restoreAppName(undefined, 'r1')).toBe('migration-rehearsal restore r1');
    expect(restoreAppName('billing', 'r1')).toBe('billing (migration-rehearsal restore r1)');
    const long = restoreAppName('x'.repeat(80), '20261207T053347Z-ab12cd');
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63);
    expect(long.endsWith('(migration-rehearsal restore 20261207T053347Z-ab12cd)')).toBe(true);
  });
});
