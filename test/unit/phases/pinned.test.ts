/**
 * Objects opened once (lib/phases/pinned.ts) and the restore's archive pin (lib/phases/restore.ts pinArchive): the
 * open descriptor keeps reading the file that was opened after its path is swapped; a symbolic link in the archive's
 * place is refused for the run's own dump and followed for the operator's SRC_DB_DUMP_PATH.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import type { Command } from '../../../lib/core/tools.ts';
import { archiveDigest } from '../../../lib/phases/dump.ts';
import { openPinned, pinnedLocation, withPinned } from '../../../lib/phases/pinned.ts';
import { pinArchive } from '../../../lib/phases/restore.ts';

function dir(): string {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'pinned-')));
  onTestFinished(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

test('a pinned file is read through its descriptor after its path was swapped', () => {
  const d = dir();
  const f = path.join(d, 'source.dump');
  fs.writeFileSync(f, 'genuine');
  const pin = openPinned(f, 'file');
  fs.renameSync(f, `${f}.old`);
  fs.writeFileSync(f, 'evil');
  expect(fs.readFileSync(pin.here, 'utf8')).toBe('genuine');
  expect(pinnedLocation(pin)).toBe(`${f}.old`);
  expect(pin.child).toBe('/proc/self/fd/3');
  expect(withPinned<Command>({ tool: 'pg_restore', args: [pin.child], env: {} }, pin).fds).toEqual([pin.fd]);
  pin.close();
  pin.close(); // idempotent
});

test('a symbolic link is not followed (ELOOP / ENOTDIR), unless asked', () => {
  const d = dir();
  fs.mkdirSync(path.join(d, 'real'));
  fs.symlinkSync(path.join(d, 'real'), path.join(d, 'link'));
  expect(() => openPinned(path.join(d, 'link'), 'directory')).toThrow(/ENOTDIR|ELOOP/);
  const pin = openPinned(path.join(d, 'link'), 'directory', { followLinks: true });
  expect(pinnedLocation(pin)).toBe(path.join(d, 'real'));
  pin.close();
});

test("the run's own archive as a symbolic link is refused; the operator's SRC_DB_DUMP_PATH link is followed", async () => {
  const d = dir();
  const real = path.join(d, 'dated.dump');
  fs.writeFileSync(real, 'PGDMP archive');
  const link = path.join(d, 'latest.dump');
  fs.symlinkSync(real, link);
  const { sha256 } = await archiveDigest(real, 'custom');
  await expect(pinArchive({ path: link, format: 'custom', sha256, provided: false })).rejects.toThrow(
    /the archive .*latest.dump cannot be opened as the file the dump phase recorded \(it is a symbolic link now\)/,
  );
  const pin = await pinArchive({ path: link, format: 'custom', sha256, provided: true });
  expect(fs.readFileSync(pin.here, 'utf8')).toBe('PGDMP archive');
  pin.close();
});
