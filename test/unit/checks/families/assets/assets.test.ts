/**
 * Asset paths: the DB → disk mapping (pure) and the on-disk checks on a scratch tree, including every way a path could
 * leave DST_ASSETS_DIR.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, onTestFinished, test } from 'vitest';
import { checkAsset, isWithin, mapDbPath } from '../../../../../lib/checks/families/assets/assets.ts';

describe('mapDbPath', () => {
  const root = '/srv/staging/.data';

  test('replaces ASSETS_DB_PATH_PREFIX with DST_ASSETS_DIR', () => {
    expect(mapDbPath('/app/.data/knowledge/7/a.pdf', '/app/.data', root)).toEqual({
      ok: true,
      rel: 'knowledge/7/a.pdf',
      diskPath: '/srv/staging/.data/knowledge/7/a.pdf',
    });
    expect(mapDbPath('/app/.data/ugc/3/5 photo é.png', '/app/.data', root)).toMatchObject({
      ok: true,
      diskPath: '/srv/staging/.data/ugc/3/5 photo é.png',
    });
    expect(mapDbPath('/app/.data/gallery/4/', '/app/.data', root)).toMatchObject({ ok: true, rel: 'gallery/4' });
    expect(mapDbPath('/app/.data//ugc/5/./x.jpg', '/app/.data', root)).toMatchObject({ ok: true, rel: 'ugc/5/x.jpg' });
    expect(mapDbPath('/app/.data/a/.../b', '/app/.data', root)).toMatchObject({ ok: true });
    expect(mapDbPath('/data/x', '/', root)).toMatchObject({ ok: true, diskPath: '/srv/staging/.data/data/x' });
  });

  test('refuses paths outside the prefix (a prefix is a whole path component)', () => {
    for (const p of ['/etc/passwd', '/app/.database/x', '/app/.data', 'app/.data/x', 'knowledge/1/a.pdf', '']) {
      expect(mapDbPath(p, '/app/.data', root), p).toEqual({
        ok: false,
        reason: 'path is outside ASSETS_DB_PATH_PREFIX (expected it to start with "/app/.data/")',
      });
    }
  });

  test('refuses ".." segments and NUL bytes', () => {
    for (const p of ['/app/.data/../etc/passwd', '/app/.data/knowledge/../../x', '/app/.data/a/..']) {
      expect(mapDbPath(p, '/app/.data', root), p).toEqual({ ok: false, reason: 'path contains a ".." segment' });
    }
    expect(mapDbPath('/app/.data/a\0b', '/app/.data', root)).toEqual({ ok: false, reason: 'path contains a NUL byte' });
  });

  test('isWithin', () => {
    expect(isWithin('/a/b', '/a/b')).toBe(true);
    expect(isWithin('/a/b', '/a/b/c')).toBe(true);
    expect(isWithin('/a/b', '/a/bc')).toBe(false);
    expect(isWithin('/a/b', '/a')).toBe(false);
  });
});

describe('checkAsset', () => {
  let dst: string;
  let src: string;
  let outside: string;
  const opts = () => ({ prefix: '/app/.data', dstRoot: dst, srcRoot: src });
  const put = (root: string, rel: string, data = 'hello asset\n') => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
  };

  beforeEach(() => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'assets-unit-'));
    onTestFinished(() => fs.rmSync(tmp, { recursive: true, force: true }));
    dst = path.join(tmp, 'dst');
    src = path.join(tmp, 'src');
    outside = path.join(tmp, 'outside');
    for (const d of [dst, src, outside]) fs.mkdirSync(d);
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');
  });

  test('a regular, readable file with the source size passes, with evidence', async () => {
    put(dst, 'k/1/a.pdf');
    put(src, 'k/1/a.pdf');
    const r = await checkAsset('/app/.data/k/1/a.pdf', 'file', opts());
    expect(r).toMatchObject({ ok: true, diskPath: path.join(dst, 'k/1/a.pdf') });
    expect(r.facts).toEqual([
      `disk path: ${path.join(dst, 'k/1/a.pdf')}`,
      'regular file, 12 bytes, read the first 12 bytes',
      `source ${path.join(src, 'k/1/a.pdf')}: 12 bytes`,
      expect.stringMatching(/^mode 0\d{3}, owner \d+:\d+; readable by others \(ASSETS_APP_USER is not set\)$/),
    ]);
  });

  test('size mismatch with the source fails naming both sizes; without a local source the size is not compared', async () => {
    put(dst, 'k/1/a.pdf', 'short');
    put(src, 'k/1/a.pdf', 'much longer content');
    expect((await checkAsset('/app/.data/k/1/a.pdf', 'file', opts())).problem).toBe(
      `size mismatch: source ${path.join(src, 'k/1/a.pdf')} has 19 bytes, target ${path.join(dst, 'k/1/a.pdf')} has 5 bytes`,
    );
    const r = await checkAsset('/app/.data/k/1/a.pdf', 'file', { ...opts(), srcRoot: undefined });
    expect(r.ok).toBe(true);
    expect(r.facts).toContain('size not compared (SRC_ASSETS_DIR is not a local path)');
  });

  test('missing file, directory where a file should be, file where a directory should be', async () => {
    expect((await checkAsset('/app/.data/k/none.pdf', 'file', opts())).problem).toMatch(
      /^missing: expected .*k\/none\.pdf to exist, found nothing \(ENOENT\)$/,
    );
    fs.mkdirSync(path.join(dst, 'k/dir.pdf'), { recursive: true });
    expect((await checkAsset('/app/.data/k/dir.pdf', 'file', opts())).problem).toBe(
      `expected a regular file at ${path.join(dst, 'k/dir.pdf')}, found a directory`,
    );
    put(dst, 'g/1');
    expect((await checkAsset('/app/.data/g/1/', 'dir', opts())).problem).toBe(
      `expected a directory at ${path.join(dst, 'g/1')}, found a regular file`,
    );
    expect((await checkAsset('/app/.data/g/1/', 'file', opts())).problem).toBe(
      'expected a file path, the stored path ends with "/"; not read',
    );
  });

  test('a directory passes when it can be listed (empty or not)', async () => {
    put(dst, 'g/1/cover.jpg');
    expect(await checkAsset('/app/.data/g/1/', 'dir', opts())).toMatchObject({
      ok: true,
      facts: expect.arrayContaining(['directory, listable (first entry: cover.jpg)']),
    });
    fs.mkdirSync(path.join(dst, 'g/2'));
    expect(await checkAsset('/app/.data/g/2/', 'dir', opts())).toMatchObject({
      ok: true,
      facts: expect.arrayContaining(['directory, listable, empty']),
    });
  });

  test('a dangling symlink and a symlink loop fail', async () => {
    fs.mkdirSync(path.join(dst, 'u'));
    fs.symlinkSync('gone.jpg', path.join(dst, 'u/a.jpg'));
    expect((await checkAsset('/app/.data/u/a.jpg', 'file', opts())).problem).toBe(
      `dangling symlink: ${path.join(dst, 'u/a.jpg')} -> gone.jpg, which does not exist`,
    );
    fs.symlinkSync('loop2', path.join(dst, 'u/loop1'));
    fs.symlinkSync('loop1', path.join(dst, 'u/loop2'));
    expect((await checkAsset('/app/.data/u/loop1', 'file', opts())).problem).toMatch(/symlink loop/);
  });

  test('symlinks that escape DST_ASSETS_DIR (file, dangling, or a symlinked directory) fail and are never read', async () => {
    fs.mkdirSync(path.join(dst, 'u'));
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(dst, 'u/a.jpg'));
    const r = await checkAsset('/app/.data/u/a.jpg', 'file', opts());
    expect(r.problem).toBe(
      `symlink escapes DST_ASSETS_DIR: ${path.join(dst, 'u/a.jpg')} resolves to ${fs.realpathSync(path.join(outside, 'secret.txt'))} (not read)`,
    );
    expect(r.facts.join('\n')).not.toMatch(/read the first/);
    fs.symlinkSync(path.join(outside, 'not-there'), path.join(dst, 'u/b.jpg'));
    expect((await checkAsset('/app/.data/u/b.jpg', 'file', opts())).problem).toMatch(
      /^symlink escapes DST_ASSETS_DIR: .*u\/b\.jpg -> .*not-there \(not followed\)$/,
    );
    fs.symlinkSync(outside, path.join(dst, 'linked'));
    expect((await checkAsset('/app/.data/linked/secret.txt', 'file', opts())).problem).toMatch(
      /symlink escapes DST_ASSETS_DIR: .*linked\/secret\.txt resolves to .*outside\/secret\.txt/,
    );
    expect((await checkAsset('/app/.data/linked/missing.txt', 'file', opts())).problem).toMatch(
      /resolves outside DST_ASSETS_DIR through a symlinked directory/,
    );
  });

  test('a symlink that stays inside DST_ASSETS_DIR is followed', async () => {
    put(dst, 'real/a.jpg');
    put(src, 'u/a.jpg');
    fs.mkdirSync(path.join(dst, 'u'));
    fs.symlinkSync('../real/a.jpg', path.join(dst, 'u/a.jpg'));
    const r = await checkAsset('/app/.data/u/a.jpg', 'file', opts());
    expect(r.ok).toBe(true);
    expect(r.facts).toContain(`resolves to ${fs.realpathSync(path.join(dst, 'real/a.jpg'))}`);
  });

  test('a FIFO is reported, never opened (opening it would block)', async () => {
    fs.mkdirSync(path.join(dst, 'u'));
    execFileSync('mkfifo', [path.join(dst, 'u/pipe.jpg')]);
    expect((await checkAsset('/app/.data/u/pipe.jpg', 'file', opts())).problem).toBe(
      `expected a regular file at ${path.join(dst, 'u/pipe.jpg')}, found a FIFO`,
    );
  });

  test('paths outside the prefix or with ".." are refused before touching the disk', async () => {
    expect(await checkAsset('/etc/passwd', 'file', opts())).toEqual({
      ok: false,
      facts: [],
      problem: 'path is outside ASSETS_DB_PATH_PREFIX (expected it to start with "/app/.data/"); not read',
    });
    expect((await checkAsset('/app/.data/../../etc/passwd', 'file', opts())).problem).toBe(
      'path contains a ".." segment; not read',
    );
  });

  test('a missing DST_ASSETS_DIR is reported as such', async () => {
    expect((await checkAsset('/app/.data/a', 'file', { ...opts(), dstRoot: path.join(dst, 'nope') })).problem).toMatch(
      /^DST_ASSETS_DIR .*nope is not accessible \(ENOENT\)$/,
    );
  });
});
