import fs from 'node:fs';
import { expect, test } from 'vitest';
import { FUSED_SPECS, scanDelta } from '../../../lib/bench/peer.ts';

test('scanDelta: seq scans since `before` per table (a new table counts from 0)', () => {
  expect(scanDelta({ a: 5, b: 2 }, { a: 3 })).toEqual({ a: 2, b: 2 });
  for (const f of FUSED_SPECS) expect(fs.existsSync(f)).toBe(true);
});
