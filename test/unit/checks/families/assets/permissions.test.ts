import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { allows, permissionFindings, resolveAppUser } from '../../../../../lib/checks/families/assets/permissions.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'perm-unit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const passwd = path.join(tmp, 'passwd');
const group = path.join(tmp, 'group');
fs.writeFileSync(passwd, 'root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n');
fs.writeFileSync(group, 'root:x:0:\nwww-data:x:33:\nmedia:x:500:www-data,bob\n');

test('resolveAppUser: name (with supplementary groups), uid, uid:gid; unknown name refused', () => {
  expect(resolveAppUser('www-data', { passwd, group })).toEqual({
    spec: 'www-data',
    uid: 33,
    gids: [33, 500],
    name: 'www-data',
  });
  expect(resolveAppUser('33', { passwd, group })).toMatchObject({ uid: 33, gids: [33, 500] });
  expect(resolveAppUser('1000:1000', { passwd, group })).toEqual({
    spec: '1000:1000',
    uid: 1000,
    gids: [1000],
    name: undefined,
  });
  expect(resolveAppUser('nobody-here', { passwd, group })).toMatchObject({ error: expect.stringMatching(/uid:gid/) });
});

test('allows: owner class, then group class, then others (POSIX order, no fallthrough)', () => {
  const who = { uid: 33, gids: [33] };
  expect(allows({ mode: 0o600, uid: 33, gid: 0 }, who, 4)).toBe(true);
  expect(allows({ mode: 0o077, uid: 33, gid: 33 }, who, 4)).toBe(false); // owner without r, even if others have it
  expect(allows({ mode: 0o640, uid: 0, gid: 33 }, who, 4)).toBe(true);
  expect(allows({ mode: 0o600, uid: 4242, gid: 4242 }, who, 4)).toBe(false);
  expect(allows({ mode: 0o711, uid: 0, gid: 0 }, who, 1)).toBe(true);
  expect(allows({ mode: 0o000, uid: 1, gid: 1 }, { uid: 0, gids: [] }, 4)).toBe(true);
});

test('permissionFindings: problems for the app user, warnings for "others" without one (the tool is root here or not)', async () => {
  const root = path.join(tmp, 'tree');
  fs.mkdirSync(path.join(root, 'private'), { recursive: true });
  fs.writeFileSync(path.join(root, 'ok.jpg'), 'ok');
  fs.writeFileSync(path.join(root, 'm0.jpg'), 'z');
  fs.writeFileSync(path.join(root, 'private/s.jpg'), 's');
  fs.chmodSync(root, 0o755);
  fs.chmodSync(path.join(root, 'ok.jpg'), 0o644);
  fs.chmodSync(path.join(root, 'm0.jpg'), 0o000);
  fs.chmodSync(path.join(root, 'private'), 0o700);
  const app = { spec: '4343:4343', uid: 4343, gids: [4343] };
  const known = { uids: new Set([0, process.getuid!()]), gids: new Set([0, process.getgid!()]) };
  expect((await permissionFindings(path.join(root, 'ok.jpg'), root, app, known)).problems).toEqual([]);
  expect((await permissionFindings(path.join(root, 'm0.jpg'), root, app, known)).problems[0]).toMatch(
    /^file .*m0\.jpg is not readable by the application's user 4343:4343 \(uid 4343, groups 4343\) \(mode 0000, owner \d+:\d+\)$/,
  );
  expect((await permissionFindings(path.join(root, 'private/s.jpg'), root, app, known)).problems[0]).toMatch(
    /^directory .*private is not searchable by the application's user/,
  );
  const w = await permissionFindings(path.join(root, 'm0.jpg'), root, undefined, known);
  expect(w.problems).toEqual([]);
  expect(w.warnings[0]).toMatch(/not readable by others \(ASSETS_APP_USER is not set\)/);
  const unknown = await permissionFindings(path.join(root, 'ok.jpg'), root, undefined, {
    uids: new Set(),
    gids: new Set(),
  });
  expect(unknown.warnings[0]).toMatch(/is owned by uid \d+ and gid \d+, unknown on this machine/);
});
