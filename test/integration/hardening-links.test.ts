/**
 * Issue 26 (item 4), with the real rsync: a source symlink to /etc or climbing out with `..` is not copied, and the
 * mirror's line parser names each one; a link inside the tree is copied.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import type { Config } from '../../lib/core/config.ts';
import { parseUnsafeLink, rsyncCommand } from '../../lib/phases/commands.ts';

test('rsync with the mirror arguments skips and names symlinks leading out of the source tree', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'links-'));
  const src = path.join(root, 'src');
  const dst = path.join(root, 'dst');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.mkdirSync(dst);
  fs.writeFileSync(path.join(src, 'sub', 'f'), 'x');
  fs.symlinkSync('/etc', path.join(src, 'out'));
  fs.symlinkSync('../../etc/passwd', path.join(src, 'sub', 'up'));
  fs.symlinkSync('sub', path.join(src, 'in'));
  const cmd = rsyncCommand({ srcAssetsDir: src, dstAssetsDir: dst, connectTimeoutMs: 1000 } as unknown as Config);
  const r = spawnSync('rsync', cmd.args, { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const skipped = r.stdout.split('\n').map(parseUnsafeLink).filter(Boolean);
  expect(skipped).toEqual(
    expect.arrayContaining([
      { path: 'out', target: '/etc' },
      { path: 'sub/up', target: '../../etc/passwd' },
    ]),
  );
  expect(fs.existsSync(path.join(dst, 'out'))).toBe(false);
  expect(fs.existsSync(path.join(dst, 'sub', 'up'))).toBe(false);
  expect(fs.readlinkSync(path.join(dst, 'in'))).toBe('sub');
  fs.rmSync(root, { recursive: true });
});
