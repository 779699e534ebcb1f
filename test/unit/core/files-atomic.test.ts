/**
 * Issue 26: an atomic write that fails leaves nothing half-written behind (a full REPORTS_DIR left zero-byte `*.tmp`
 * files). The failure here is a rename onto a non-empty directory (the temp file is written, the rename refused).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { writeAtomic } from '../../../lib/core/files.ts';
import { writeAtomic as writeReportAtomic } from '../../../lib/audit/manifest.ts';

test.each([
  ['lib/core/files.ts', writeAtomic],
  ['lib/audit/manifest.ts', writeReportAtomic],
])('%s writeAtomic: a failed write throws and removes its temp file; a good one leaves only the file', (_, write) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-'));
  try {
    const blocked = path.join(dir, 'report.json');
    fs.mkdirSync(path.join(blocked, 'inside'), { recursive: true });
    expect(() => write(blocked, '{"a":1}\n')).toThrow();
    expect(fs.readdirSync(dir)).toEqual(['report.json']);
    expect(fs.statSync(blocked).isDirectory()).toBe(true);
    write(path.join(dir, 'ok.json'), '{"b":2}\n');
    expect(fs.readdirSync(dir).sort()).toEqual(['ok.json', 'report.json']);
    expect(fs.readFileSync(path.join(dir, 'ok.json'), 'utf8')).toBe('{"b":2}\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
