import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { logTail } from '../../../lib/bench/run.ts';

test('logTail: the last characters of a log, or "(no log)"', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-log-'));
  try {
    const f = path.join(dir, 'x.log');
    fs.writeFileSync(f, 'abcdef');
    expect(logTail(f, 3)).toBe('…def');
    expect(logTail(f)).toBe('abcdef');
    expect(logTail(path.join(dir, 'missing.log'))).toBe('(no log)');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
