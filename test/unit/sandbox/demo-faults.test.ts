import { expect, test } from 'vitest';
import { familyById } from '../../../lib/checks/registry.ts';
import { FAULT_EXPECTATIONS, FAULTS, isFault, reportingFamily } from '../../../lib/sandbox/demo-faults.ts';

test('isFault: the five demo faults and nothing else', () => {
  for (const f of FAULTS) expect(isFault(f)).toBe(true);
  expect(isFault('disk-full')).toBe(false);
});

test('every fault expects a registered family, and reportingFamily leaves an unclaimed name alone', () => {
  for (const f of FAULTS) {
    const e = FAULT_EXPECTATIONS[f];
    expect(() => familyById(e.family)).not.toThrow();
    for (const id of e.alsoBy) expect(() => familyById(id)).not.toThrow();
  }
  expect(reportingFamily('no family claims this name')).toBeUndefined();
});
