import { expect, test } from 'vitest';
import { familyLabel, familyOf, familyTimes, FAMILIES } from '../../../lib/bench/suite.ts';

test('familyOf: an unclaimed test name falls back to its spec file; familyTimes sums per family', () => {
  expect(familyOf({ file: 'specs/custom-thing.spec.ts', name: 'nobody claims this name' })).toBe('custom-thing');
  expect(familyLabel('custom-thing')).toBe('custom-thing (specs/custom-thing.spec.ts)');
  const checks = [
    { file: 'specs/x.spec.ts', name: 'nobody claims a', durationMs: 1.04, state: 'passed' },
    { file: 'specs/x.spec.ts', name: 'nobody claims b', durationMs: 2, state: 'failed' },
  ] as unknown as Parameters<typeof familyTimes>[0];
  expect(familyTimes(checks)).toEqual({ x: { ms: 3, checks: 2, failed: 1, files: ['specs/x.spec.ts'] } });
  expect(FAMILIES.length).toBeGreaterThan(0);
});
