/** Issue 26 (item 3): a full disk, a refused file and a too-long path are said plainly, not as a bare errno. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { freeBytes, fsProblem } from '../../../lib/core/fs-problem.ts';

describe('fsProblem', () => {
  test('ENOSPC names the directory and how much is free there', () => {
    const file = path.join(os.tmpdir(), 'work', 'logs', 'mirror.log');
    const e = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const m = fsProblem(e, file)!;
    expect(m).toContain(`free in ${path.dirname(file)}`);
    expect(m).toMatch(/no space left \(ENOSPC\)/);
    expect(freeBytes(path.join(os.tmpdir(), 'not', 'there'))).toBeGreaterThan(0);
  });
  test('EACCES is "unreadable: permission denied", naming the file', () => {
    const e = Object.assign(new Error("EACCES: permission denied, open '/srv/a/x'"), {
      code: 'EACCES',
      path: '/srv/a/x',
    });
    expect(fsProblem(e)).toMatch(/^unreadable: permission denied \(EACCES\) on \/srv\/a\/x/);
  });
  test('a real too-long path is "path too long", not "missing"', () => {
    const long = path.join(os.tmpdir(), 'x'.repeat(300));
    let err: unknown;
    try {
      fs.openSync(long, 'r');
    } catch (e) {
      err = e;
    }
    expect(fsProblem(err)).toMatch(/^path too long \(ENAMETOOLONG/);
  });
  test('other errors are left to their own message', () => {
    expect(fsProblem(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBeUndefined();
  });
});
