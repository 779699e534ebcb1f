import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, vi } from 'vitest';
import { GuardedJsonReporter } from '../../../lib/audit/file-reporters.ts';

test('a results.json that cannot be written is one plain line on stderr, never a thrown error', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guarded-'));
  const blocker = path.join(dir, 'not-a-dir');
  fs.writeFileSync(blocker, 'x');
  const r = new GuardedJsonReporter({ outputFile: path.join(blocker, 'results.json') });
  (r as unknown as { ctx: unknown }).ctx = { config: { root: dir }, logger: { log() {} } };
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await expect(r.writeReport('{}')).resolves.toBeUndefined();
    expect(err.mock.calls.map((c) => String(c[0])).join('')).toMatch(/^could not write vitest's results\.json: /);
  } finally {
    err.mockRestore();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
