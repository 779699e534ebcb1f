/**
 * lib/core/pg-clients: which installed client directory suits which server majors — the one rule of the copy phases
 * (pickClientDirs: which directory dumps and which restores, lib/phases/client-tools.ts) and of the dump-based schema
 * check (clientForMajors: one pg_dump for both sides) — without running anything (both are pure); the refusals'
 * texts are covered by the integration matrix.
 */
import { describe, expect, test } from 'vitest';
import { clientForMajors, pickClientDirs, serverMajor, type ClientDir } from '../../../lib/core/pg-clients.ts';

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

describe('clientForMajors', () => {
  const three = [dir(17), dir(15), dir(16, '/opt/pg16/bin')];
  test('the smallest installed major that reads every server (its major ≥ the largest server major)', () => {
    expect(clientForMajors(three, [15, 15])).toEqual(three[1]);
    expect(clientForMajors(three, [13, 16])).toEqual(three[2]);
    expect(clientForMajors(three, [16, 17])).toEqual(three[0]);
  });
  test('a preferred (configured) directory wins when it reads both, never when it is too old', () => {
    expect(clientForMajors(three, [15, 15], ['/usr/lib/postgresql/17/bin'])).toEqual(three[0]);
    expect(clientForMajors(three, [17, 17], ['/opt/pg16/bin'])).toEqual(three[0]);
  });
  test('none reads a server newer than every client: undefined', () => {
    expect(clientForMajors(three, [15, 18])).toBeUndefined();
    expect(clientForMajors([], [15])).toBeUndefined();
  });
  test('the dump pick of pickClientDirs is the same rule for the source alone', () => {
    for (const src of [13, 15, 16, 17, 18])
      expect(pickClientDirs(three, { srcMajor: src }).dump).toEqual(clientForMajors(three, [src]));
  });
});
