import { expect, test } from 'vitest';
import { compareLeaf } from '../../../../../lib/checks/families/checksums/checksum.ts';

test('compareLeaf: missing, changed and extra keys, and the span of the differing keys in key order', () => {
  const a = [
    { k: ['1'], h: 'x' },
    { k: ['2'], h: 'y' },
    { k: ['4'], h: 'z' },
  ];
  const b = [
    { k: ['1'], h: 'x' },
    { k: ['2'], h: 'Y' },
    { k: ['3'], h: 'w' },
  ];
  const r = compareLeaf(a, b);
  expect(r.diffs).toEqual([
    { key: ['2'], what: 'changed' },
    { key: ['4'], what: 'missing on target' },
    { key: ['3'], what: 'extra on target' },
  ]);
  expect(r.span).toEqual({ lo: ['2'], last: ['3'] });
  expect(compareLeaf(a, a)).toEqual({ diffs: [] });
});
