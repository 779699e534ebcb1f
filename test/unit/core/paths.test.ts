import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { expect, onTestFinished, test } from 'vitest';
import { DEFAULT_DB_PATH_PREFIX, ensureUsableDir, isInside, realPathLoose } from '../../../lib/core/paths.ts';
import { ConfigError } from '../../../lib/core/errors.ts';
import { PROJECT_ROOT } from '../../../lib/core/project.ts';
import { assetDirsOverlap } from '../../../lib/core/config.ts';
import { isWithin } from '../../../lib/checks/families/assets/assets.ts';

test('isInside: a child named ..x is inside; .., ../x, a sibling and an absolute elsewhere are not', () => {
  expect(isInside('/a/b', '/a/b/..x')).toBe(true);
  expect(isInside('/a/b', '/a/b/..x/y')).toBe(true);
  expect(isInside('/a/b', '/a/b/x/..')).toBe(true);
  expect(isInside('/a/b', '/a/b/c')).toBe(true);
  expect(isInside('/a/b', '/a/b')).toBe(true);
  expect(isInside('/a/b', '/a/b', { allowSame: false })).toBe(false);
  expect(isInside('/a/b', '/a/b/..')).toBe(false);
  expect(isInside('/a/b', '/a/b/../x')).toBe(false);
  expect(isInside('/a/b', '/a/bc')).toBe(false);
  expect(isInside('/a/b', '/a')).toBe(false);
  expect(isInside('/a/b', '/elsewhere')).toBe(false);
});

test('every user of the rule agrees on ..x (assets, config overlap)', () => {
  expect(isWithin('/a/b', '/a/b/..x')).toBe(true);
  expect(assetDirsOverlap('/a/b', '/a/b/..x')).toBe('dst-inside-src');
  expect(assetDirsOverlap('/a/b/..x', '/a/b')).toBe('src-inside-dst');
  expect(assetDirsOverlap('/a/b', '/a/..x')).toBe('separate');
});

test('PROJECT_ROOT is the folder holding package.json and specs/; the prefix default is the contract path', () => {
  expect(fs.existsSync(path.join(PROJECT_ROOT, 'package.json'))).toBe(true);
  expect(fs.existsSync(path.join(PROJECT_ROOT, 'specs'))).toBe(true);
  expect(DEFAULT_DB_PATH_PREFIX).toBe('/app/.data');
});

function scratch(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'paths-test-'));
  onTestFinished(() => fs.rmSync(d, { recursive: true, force: true }));
  return fs.realpathSync(d);
}

test('realPathLoose follows symlinks in the path, in its nearest existing ancestor, and through a dangling link', () => {
  const d = scratch();
  fs.symlinkSync('/etc', path.join(d, 'etclink'));
  fs.symlinkSync('/', path.join(d, 'rootlink'));
  fs.symlinkSync('/etc/not-yet-there', path.join(d, 'dangling'));
  fs.symlinkSync('loop2', path.join(d, 'loop1'));
  fs.symlinkSync('loop1', path.join(d, 'loop2'));
  expect(realPathLoose(path.join(d, 'etclink', 'ssl'))).toBe('/etc/ssl');
  expect(realPathLoose(path.join(d, 'etclink', 'no', 'such', 'dir/'))).toBe('/etc/no/such/dir');
  expect(realPathLoose(path.join(d, 'rootlink'))).toBe('/');
  expect(realPathLoose(path.join(d, 'dangling', 'x'))).toBe('/etc/not-yet-there/x');
  expect(realPathLoose(path.join(d, 'plain', '.', 'a', '..', 'b'))).toBe(path.join(d, 'plain', 'b'));
  expect(typeof realPathLoose(path.join(d, 'loop1', 'x'))).toBe('string'); // a loop ends, it does not throw
});

test('ensureUsableDir: an existing regular file and a path below a file are refused with the reason (exit 2)', () => {
  const d = scratch();
  const file = path.join(d, 'file');
  fs.writeFileSync(file, 'x');
  const refusal = (p: string) => {
    try {
      ensureUsableDir('WORK_DIR', p);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).exitCode).toBe(2);
      return (e as Error).message;
    }
    return 'accepted';
  };
  expect(refusal(file)).toBe(
    `configuration error: WORK_DIR ${file} is not usable: it exists and is not a directory (EEXIST); choose a writable directory`,
  );
  expect(refusal(path.join(file, 'sub'))).toMatch(
    /WORK_DIR \S+ is not usable: .*\((ENOTDIR|EEXIST)\); choose a writable/,
  );
  expect(refusal(path.join(d, 'new', 'deep'))).toBe('accepted');
  expect(fs.statSync(path.join(d, 'new', 'deep')).isDirectory()).toBe(true);
});
