/**
 * WORK_DIR's parents (lib/core/trusted-path.ts, issue 26 E7): a directory or symbolic link on the way owned by another
 * user, or a directory writable by others without the sticky bit, is named; root's and the user's own steps, and a
 * sticky shared directory, pass. Real directories; another owner made with chown (the unit tests run as root here;
 * skipped otherwise).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import { untrustedStep } from '../../../lib/core/trusted-path.ts';
import { ensurePrivateWorkDir } from '../../../lib/core/paths.ts';

const root = process.getuid?.() === 0;
const OTHER = 4242;

function base(): string {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'trusted-path-')));
  onTestFinished(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

test('own and root-owned directories, and a sticky shared one, pass; a new path passes', () => {
  const d = base();
  expect(untrustedStep(path.join(d, 'new', 'run'))).toBeUndefined();
  const shared = path.join(d, 'shared');
  fs.mkdirSync(shared);
  fs.chmodSync(shared, 0o1777);
  expect(untrustedStep(path.join(shared, 'mine', 'run'))).toBeUndefined();
});

test.runIf(root)("E7's shape: a link owned by another user to her directory is named; so is her directory", () => {
  const d = base();
  fs.chmodSync(d, 0o1777);
  const hers = path.join(d, 'wd-e7t');
  fs.mkdirSync(hers, { mode: 0o700 });
  fs.chownSync(hers, OTHER, OTHER);
  const link = path.join(d, 'wd-e7');
  fs.symlinkSync(hers, link);
  fs.lchownSync(link, OTHER, OTHER);
  expect(untrustedStep(path.join(link, 'run'))).toBe(
    `${link} (a symbolic link) is owned by uid ${OTHER}, another user (in a sticky shared directory)`,
  );
  fs.lchownSync(link, 0, 0); // a root-owned link to her directory: her directory is named
  expect(untrustedStep(path.join(link, 'run'))).toBe(
    `${hers} (a directory) is owned by uid ${OTHER}, another user (in a sticky shared directory)`,
  );
  expect(() => ensurePrivateWorkDir(path.join(link, 'run'))).toThrow(
    /WORK_DIR .*wd-e7\/run is not private: .*wd-e7t \(a directory\) is owned by uid 4242.*rename the run's directory away/,
  );
  expect(fs.existsSync(path.join(hers, 'run'))).toBe(false);
});

test('a group- or world-writable directory without the sticky bit is named', () => {
  const d = base();
  const open = path.join(d, 'open');
  fs.mkdirSync(open);
  fs.chmodSync(open, 0o775);
  expect(untrustedStep(path.join(open, 'run'))).toBe(
    `${open} is writable by its group (mode 775) without the sticky bit`,
  );
  fs.chmodSync(open, 0o777);
  expect(untrustedStep(path.join(open, 'run'))).toMatch(/writable by every user \(mode 777\)/);
});
