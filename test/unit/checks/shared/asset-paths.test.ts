/**
 * The one asset path resolver (lib/checks/shared/asset-paths.ts): the pure stored-path rule, near twins, and the tree walk on
 * a scratch tree holding names fast-glob cannot see (a newline, bytes that are not UTF-8), a symlink leaving the tree,
 * and a directory deeper than PATH_MAX.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import {
  findNearTwin,
  locateAsset,
  nearTwinCandidates,
  resolveStoredPath,
  walkTree,
  type WalkProblem,
} from '../../../../lib/checks/shared/asset-paths.ts';

function scratch(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'asset-paths-'));
  onTestFinished(() => {
    execFileSync('rm', ['-rf', d]);
  });
  return d;
}

describe('resolveStoredPath', () => {
  test('strips the prefix, drops empty and "." segments', () => {
    expect(resolveStoredPath('/app/.data/ugc/5/x.jpg', '/app/.data')).toEqual({ ok: true, rel: 'ugc/5/x.jpg' });
    for (const p of ['/app/.data//ugc/5/x.jpg', '/app/.data/ugc//5/x.jpg', '/app/.data/./ugc/5/./x.jpg'])
      expect(resolveStoredPath(p, '/app/.data'), p).toEqual({ ok: true, rel: 'ugc/5/x.jpg' });
    expect(resolveStoredPath('/app/.data/gallery/1/', '/app/.data')).toEqual({ ok: true, rel: 'gallery/1' });
    expect(resolveStoredPath('/app/.data/ugc/4/back\\slash.jpg', '/app/.data')).toEqual({
      ok: true,
      rel: 'ugc/4/back\\slash.jpg',
    });
    expect(resolveStoredPath('/app/.data/a/.../b', '/app/.data')).toEqual({ ok: true, rel: 'a/.../b' });
  });

  test('refuses paths outside the prefix, "..", NUL and the root itself', () => {
    expect(resolveStoredPath('/app/.database/x', '/app/.data')).toMatchObject({ ok: false });
    expect(resolveStoredPath('/app/.data/../x', '/app/.data')).toEqual({
      ok: false,
      reason: 'path contains a ".." segment',
    });
    expect(resolveStoredPath('/app/.data/a\0', '/app/.data')).toEqual({
      ok: false,
      reason: 'path contains a NUL byte',
    });
    expect(resolveStoredPath('/app/.data//', '/app/.data')).toMatchObject({ ok: false, reason: /assets root itself/ });
  });
});

describe('near twins', () => {
  test('candidates: the other Unicode normalizations, percent-decoded and percent-encoded', () => {
    const nfc = 'ugc/1/caf\u00e9.jpg';
    const rels = nearTwinCandidates(nfc).map((c) => c.rel);
    expect(rels).toContain('ugc/1/cafe\u0301.jpg');
    expect(nearTwinCandidates('ugc/7/my%20photo.jpg').map((c) => c.rel)).toContain('ugc/7/my photo.jpg');
    expect(nearTwinCandidates('ugc/7/my photo.jpg').map((c) => c.rel)).toContain('ugc/7/my%20photo.jpg');
    expect(nearTwinCandidates('ugc/1/plain.jpg')).toEqual([]);
    expect(nearTwinCandidates('ugc/%2e%2e/x').map((c) => c.rel)).not.toContain('ugc/../x');
  });

  test('findNearTwin names the existing file and how it differs', async () => {
    const root = scratch();
    fs.mkdirSync(path.join(root, 'ugc/1'), { recursive: true });
    fs.writeFileSync(path.join(root, 'ugc/1/cafe\u0301.jpg'), 'x');
    expect(await findNearTwin('ugc/1/caf\u00e9.jpg', root)).toEqual({
      rel: 'ugc/1/cafe\u0301.jpg',
      how: 'differs only in Unicode normalization (the file on disk is NFD)',
    });
    expect(await findNearTwin('ugc/1/other.jpg', root)).toBeUndefined();
  });
});

describe('locateAsset', () => {
  test('a "//" path is found; a symlink leaving the root is reported, not followed', async () => {
    const root = scratch();
    const outside = scratch();
    fs.mkdirSync(path.join(root, 'ugc/5'), { recursive: true });
    fs.writeFileSync(path.join(root, 'ugc/5/double-slash.jpg'), 'ds');
    fs.writeFileSync(path.join(outside, 'photo.jpg'), 'secret');
    fs.mkdirSync(path.join(root, 'ugc/2'));
    fs.symlinkSync(path.join(outside, 'photo.jpg'), path.join(root, 'ugc/2/photo.jpg'));
    expect(await locateAsset('/app/.data//ugc/5/double-slash.jpg', 'file', '/app/.data', root)).toMatchObject({
      status: 'found',
      rel: 'ugc/5/double-slash.jpg',
    });
    expect(await locateAsset('/app/.data/ugc/2/photo.jpg', 'file', '/app/.data', root, 'DST_ASSETS_DIR')).toMatchObject(
      {
        status: 'escapes',
        problem: expect.stringMatching(
          /^symlink escapes DST_ASSETS_DIR: .*ugc\/2\/photo\.jpg resolves to .*photo\.jpg \(not read\)$/,
        ),
      },
    );
    expect(await locateAsset('/app/.data/ugc/5/double-slash.jpg/', 'file', '/app/.data', root)).toMatchObject({
      status: 'refused',
    });
  });
});

describe('walkTree', () => {
  test('sees names with a newline and bytes that are not UTF-8; never follows a symlink', async () => {
    const root = scratch();
    const outside = scratch();
    fs.mkdirSync(path.join(root, 'a'));
    fs.writeFileSync(path.join(root, 'a', 'line\nbreak.jpg'), 'x');
    fs.writeFileSync(Buffer.concat([Buffer.from(path.join(root, 'a') + '/'), Buffer.from([0x66, 0xff, 0x2e])]), 'x');
    fs.writeFileSync(path.join(outside, 'hidden.jpg'), 'x');
    fs.symlinkSync(outside, path.join(root, 'link'));
    const seen: Array<{ rel: string; type: string; notUtf8?: boolean }> = [];
    for await (const e of walkTree(root)) seen.push(e);
    const rels = seen.map((e) => e.rel).sort();
    expect(rels).toContain('a/line\nbreak.jpg');
    expect(seen.find((e) => e.rel === 'link')?.type).toBe('symlink');
    expect(rels.some((r) => r.startsWith('link/'))).toBe(false);
    expect(seen.filter((e) => e.notUtf8)).toHaveLength(1);
    expect(seen.find((e) => e.rel === 'a/f\ufffd.')).toMatchObject({ type: 'file', notUtf8: true });
  });

  test('a directory deeper than PATH_MAX is reported (ENAMETOOLONG), and the walk goes on', async () => {
    const root = scratch();
    const name = (i: number) => `${String(i).padStart(3, '0')}${'d'.repeat(240)}`;
    // Built bottom-up by renames, so no single call ever names a path longer than PATH_MAX.
    fs.mkdirSync(path.join(root, name(0)));
    for (let i = 1; i < 20; i++) {
      fs.mkdirSync(path.join(root, name(i)));
      fs.renameSync(path.join(root, name(i - 1)), path.join(root, name(i), name(i - 1)));
    }
    fs.writeFileSync(path.join(root, 'after.txt'), 'x');
    const problems: WalkProblem[] = [];
    const rels: string[] = [];
    for await (const e of walkTree(root, (p) => problems.push(p))) rels.push(e.rel);
    expect(problems.map((p) => p.code)).toContain('ENAMETOOLONG');
    expect(rels).toContain('after.txt');
  });
});
