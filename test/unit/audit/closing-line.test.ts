/**
 * Issue 26: the closing line never reads as a clean "0 failed" when the run could not record its checks' results
 * (checks.json missing, e.g. a full disk); with results it is the usual `N passed, N failed, N skipped`.
 */
import { expect, test } from 'vitest';
import { closingLine } from '../../../lib/audit/summary.ts';

const zero = { passed: 0, failed: 0, skipped: 0 } as Parameters<typeof closingLine>[0]['totals'];

test('no checks.json: the closing line says the totals could not be recorded, with the exit code', () => {
  const line = closingLine({
    totals: zero,
    exitCode: 3,
    auditProblems: ['checks.json is missing: vitest did not finish reporting (see the output above)'],
  });
  expect(line).toBe('checks: the totals could not be recorded (checks.json is missing, see the notes above); exit 3');
  expect(line).not.toMatch(/0 failed/);
});

test('recorded results: the usual totals line', () => {
  expect(closingLine({ totals: { ...zero, passed: 12, failed: 1 }, exitCode: 1, auditProblems: [] })).toBe(
    '12 passed, 1 failed, 0 skipped',
  );
});
