/**
 * lib/phases/client-tools: which client directory dumps and which restores, for every pair of majors, without running
 * anything (pickClientDirs is pure); the refusals' texts are covered by the integration matrix.
 */
import { describe, expect, test } from 'vitest';
import { pickClientDirs, serverMajor, type ClientDir } from '../../../lib/phases/client-tools.ts';

const dir = (major: number, where = `/usr/lib/postgresql/${major}/bin`): ClientDir => ({
  dir: where,
  major,
  version: `${major}.1`,
});
const installed = [dir(15), dir(17, '/var/cache/migration-rehearsal/client/17/bin')];

describe('pickClientDirs', () => {
  test('a source of an installed major dumps with that major, and the same directory restores into a newer target', () => {
    expect(pickClientDirs(installed, { srcMajor: 15, dstMajor: 17 })).toEqual({
      dump: installed[0],
      restore: installed[0],
    });
  });
  test('an older source dumps with the oldest installed major that is not older than it', () => {
    expect(pickClientDirs(installed, { srcMajor: 13, dstMajor: 15 }).dump).toEqual(installed[0]);
    expect(pickClientDirs(installed, { srcMajor: 16, dstMajor: 17 }).dump).toEqual(installed[1]);
  });
  test('pg_restore is never newer than the target: none fits when the only readers of the archive are newer', () => {
    // 16 -> 16: pg_dump must be 17 (no 16 installed), so pg_restore would have to be 17 > 16
    expect(pickClientDirs(installed, { srcMajor: 16, dstMajor: 16 })).toEqual({
      dump: installed[1],
      restore: undefined,
    });
  });
  test("restore of an existing archive: not older than the archive's pg_dump, not newer than the target", () => {
    expect(pickClientDirs(installed, { dstMajor: 16, archiveMajor: 15 }).restore).toEqual(installed[0]);
    expect(pickClientDirs(installed, { dstMajor: 18, archiveMajor: 17 }).restore).toEqual(installed[1]);
    expect(pickClientDirs(installed, { dstMajor: 14, archiveMajor: 13 }).restore).toBeUndefined();
  });
  test('no source major: no dump directory', () => {
    expect(pickClientDirs(installed, { dstMajor: 17 }).dump).toBeUndefined();
  });
});

test('serverMajor reads server_version_num', () => {
  expect(serverMajor(150020)).toBe(15);
  expect(serverMajor(180004)).toBe(18);
  expect(serverMajor(90624)).toBe(9.6);
});
