import path from 'node:path';
import fs from 'node:fs';
import { expect, test } from 'vitest';
import { DEFAULT_DB_PATH_PREFIX, isInside } from '../../../lib/core/paths.ts';
import { PROJECT_ROOT } from '../../../lib/core/project.ts';
import { assetDirsOverlap } from '../../../lib/core/config.ts';
import { isWithin } from '../../../lib/checks/assets.ts';

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
