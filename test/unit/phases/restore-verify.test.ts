/**
 * Issue 26, WORK_DIR hijack: the archive the restore reads is the one the dump phase hashed. A swapped custom archive
 * or a file changed in a directory archive fails the restore phase (exit 3) before pg_restore reads it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import { archiveDigest } from '../../../lib/phases/dump.ts';
import { verifyArchive } from '../../../lib/phases/restore.ts';
import type { RunState } from '../../../lib/core/state.ts';

function dir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-archive-'));
  onTestFinished(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

const stateOf = (dump: NonNullable<RunState['dump']>) => ({ dump }) as unknown as RunState;

test('a custom archive swapped after the dump phase hashed it is refused, naming both hashes', async () => {
  const file = path.join(dir(), 'source.dump');
  fs.writeFileSync(file, 'PGDMP the real archive');
  const { sha256 } = await archiveDigest(file, 'custom');
  const state = stateOf({ path: file, format: 'custom', sha256, provided: false });
  await expect(verifyArchive(state.dump)).resolves.toBeUndefined();
  fs.writeFileSync(file, "PGDMP the attacker's archive");
  await expect(verifyArchive(state.dump)).rejects.toThrow(
    /changed since the dump phase hashed it .* refusing to restore it/,
  );
  await expect(verifyArchive(state.dump)).rejects.toMatchObject({ exitCode: 3 });
});

test('a directory archive with one file changed or removed is refused', async () => {
  const d = path.join(dir(), 'source.dir');
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, 'toc.dat'), 'toc');
  fs.writeFileSync(path.join(d, '3001.dat.gz'), 'rows');
  const { sha256 } = await archiveDigest(d, 'directory');
  const state = stateOf({ path: d, format: 'directory', sha256, provided: false });
  await expect(verifyArchive(state.dump)).resolves.toBeUndefined();
  fs.rmSync(path.join(d, '3001.dat.gz'));
  await expect(verifyArchive(state.dump)).rejects.toThrow(/changed since the dump phase hashed it/);
});
