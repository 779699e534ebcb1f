/** lib/phases/restore: the hint for a restore that fails on an option the target does not know. */
import { expect, test } from 'vitest';
import { versionHint } from '../../../lib/phases/restore.ts';

test('"unrecognized parameter" gets a hint naming pg_dump and the source versions', () => {
  const msg =
    'restore: pg_restore exited with code 1: the restore failed\n  stderr (last lines):\n    pg_restore: error: could not execute query: ERROR:  unrecognized parameter "pg_attver"\n    Command was: ALTER TABLE ONLY public.t ALTER COLUMN c SET (pg_attver=1);';
  expect(versionHint(msg, { pg_dump: '17.11', 'source server': '15.20' })).toMatch(
    /pg_dump 17\.11 against a 15\.20 source is probably an older release than the source server/,
  );
  expect(versionHint('relation "x" already exists', {})).toBeUndefined();
});
