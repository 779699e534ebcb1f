import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { listFiles, mkdirPrivate, sha256File, sha256FileSync, writeAtomic } from '../../../lib/core/files.ts';
import { shellQuote, shellWord } from '../../../lib/core/shell.ts';
import { quoteLiteral } from '../../../lib/core/ident.ts';

test('sha256File (streamed) and sha256FileSync agree with a direct hash; listFiles is sorted, relative, files only', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'files-test-'));
  try {
    fs.mkdirSync(path.join(dir, 'b/c'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'b/c/z.txt'), 'z');
    fs.writeFileSync(path.join(dir, 'a.txt'), 'hello');
    fs.symlinkSync(path.join(dir, 'a.txt'), path.join(dir, 'link'));
    const want = createHash('sha256').update('hello').digest('hex');
    expect(await sha256File(path.join(dir, 'a.txt'))).toBe(want);
    expect(sha256FileSync(path.join(dir, 'a.txt'))).toBe(want);
    expect(listFiles(dir)).toEqual(['a.txt', 'b/c/z.txt']);
    expect(listFiles(path.join(dir, 'missing'))).toEqual([]);
    await expect(sha256File(path.join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('shell and SQL quoting', () => {
  expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  expect(shellWord('/a/b-c_d.e')).toBe('/a/b-c_d.e');
  expect(shellWord('a b')).toBe("'a b'");
  expect(quoteLiteral("O'Brien")).toBe("'O''Brien'");
  expect(() => quoteLiteral('a\0b')).toThrow(/NUL/);
});

test('mkdirPrivate makes every missing level 0700 (less the umask); writeAtomic of a 0600 file makes private folders', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'files-private-'));
  const mask = process.umask(); // reading is allowed in a worker (setting is not)
  try {
    mkdirPrivate(path.join(dir, 'scans', 'run-1'));
    expect(fs.statSync(path.join(dir, 'scans')).mode & 0o777).toBe(0o700 & ~mask);
    expect(fs.statSync(path.join(dir, 'scans', 'run-1')).mode & 0o777).toBe(0o700 & ~mask);
    writeAtomic(path.join(dir, 'a', 'b', 'state.json'), '{}', { mode: 0o600 });
    expect(fs.statSync(path.join(dir, 'a', 'b')).mode & 0o777).toBe(0o700 & ~mask);
    writeAtomic(path.join(dir, 'public', 'x.json'), '{}', { mode: 0o644 });
    expect(fs.statSync(path.join(dir, 'public')).mode & 0o777).toBe(0o777 & ~mask);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
