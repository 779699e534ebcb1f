import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { mirrorChecksum } from '../../../lib/phases/mirror-assets.ts';
import { missingTablespaces } from '../../../lib/phases/preflight.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mirror-unit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('mirrorChecksum: auto is on only for a non-empty target', () => {
  const empty = fs.mkdtempSync(path.join(tmp, 'e-'));
  expect(mirrorChecksum('auto', empty).checksum).toBe(false);
  expect(mirrorChecksum('auto', path.join(tmp, 'does-not-exist')).checksum).toBe(false);
  fs.writeFileSync(path.join(empty, 'x'), '1');
  expect(mirrorChecksum('auto', empty)).toMatchObject({ checksum: true, why: expect.stringMatching(/not empty/) });
  expect(mirrorChecksum('off', empty).checksum).toBe(false);
  expect(mirrorChecksum('on', path.join(tmp, 'does-not-exist')).checksum).toBe(true);
});

test('missingTablespaces', () => {
  expect(missingTablespaces(['fastssd', 'b', 'fastssd'], ['pg_default', 'b'])).toEqual(['fastssd']);
});
