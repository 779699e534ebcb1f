/**
 * Issue 26, asset paths resolved once and used resolved, on real directories and a real target database:
 * - DST_ASSETS_DIR is a symlink swapped after the preflight (to a directory holding .ssh/authorized_keys) under
 *   ASSETS_DELETE=1: the mirror refuses (exit 2) naming where the link leads now; unswapped, it mirrors into the
 *   resolved path;
 * - a link to `/` cannot make DST_ASSETS_DIR create a new top-level directory (config and mirror);
 * - SRC_ASSETS_DIR=/etc (or a link to it) is refused: the mirror would copy /etc/shadow into staging.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { parseConfig } from '../../lib/core/config.ts';
import { ConfigError } from '../../lib/core/errors.ts';
import { MARKER_ASSETS_DIR } from '../../lib/phases/guards.ts';
import { resolvedMirrorTarget } from '../../lib/phases/mirror-assets.ts';
import { fpsyncStep } from '../../lib/phases/engines/steps.ts';
import { scenario, tempDir } from '../helpers/scenario.ts';

test('a DST_ASSETS_DIR symlink swapped after the preflight is refused under ASSETS_DELETE=1; unswapped it resolves', async () => {
  const s = await scenario({ fixture: false, assets: false });
  const mirrored = path.join(s.tmp, 'mirrored');
  const victim = path.join(s.tmp, 'home-like');
  fs.mkdirSync(mirrored);
  fs.writeFileSync(path.join(mirrored, 'old.bin'), 'x');
  fs.mkdirSync(path.join(victim, '.ssh'), { recursive: true });
  fs.writeFileSync(path.join(victim, '.ssh', 'authorized_keys'), 'ssh-ed25519 AAAA');
  const link = path.join(s.tmp, 'assets-link');
  fs.symlinkSync(mirrored, link);
  await s.dst.query(`ALTER DATABASE ${s.dst.name} SET ${MARKER_ASSETS_DIR} = '${fs.realpathSync(mirrored)}'`);
  const config = parseConfig({ ...s.env, DST_ASSETS_DIR: link, ASSETS_DELETE: '1' }, { mode: 'full' });
  expect(await resolvedMirrorTarget(config)).toBe(fs.realpathSync(mirrored));
  fs.rmSync(link);
  fs.symlinkSync(victim, link); // swapped after the preflight
  await expect(resolvedMirrorTarget(config)).rejects.toThrow(
    /DST_ASSETS_DIR .*assets-link led to .*mirrored at the preflight and leads to .*home-like now/,
  );
  await expect(resolvedMirrorTarget(config)).rejects.toMatchObject({ exitCode: 2 });
  // ASSETS_DELETE=<path> named the old directory: refused too.
  const named = parseConfig({ ...s.env, DST_ASSETS_DIR: link, ASSETS_DELETE: mirrored }, { mode: 'full' });
  await expect(resolvedMirrorTarget(named)).rejects.toThrow(/does not lead to .*home-like/);
  expect(fs.existsSync(path.join(victim, '.ssh', 'authorized_keys'))).toBe(true);
});

test('a DST_ASSETS_DIR symlink swapped after the preflight is refused in every ASSETS_DELETE form and by both mirror engines', async () => {
  const s = await scenario({ fixture: false, assets: false });
  const mirrored = path.join(s.tmp, 'mirrored');
  const victim = path.join(s.tmp, 'home-like');
  fs.mkdirSync(mirrored);
  fs.mkdirSync(path.join(victim, '.ssh'), { recursive: true });
  fs.writeFileSync(path.join(victim, '.ssh', 'authorized_keys'), 'ssh-ed25519 AAAA');
  const link = path.join(s.tmp, 'assets-link');
  fs.symlinkSync(mirrored, link);
  // Parsed (and so resolved) before the swap, as the CLI parses once before its preflight.
  const forms = [{ ASSETS_DELETE: link }, { ASSETS_DELETE: '1' }, { ASSETS_DELETE: '0' }, {}].map((extra) =>
    parseConfig({ ...s.env, DST_ASSETS_DIR: link, ...extra }, { mode: 'full' }),
  );
  fs.rmSync(link);
  fs.symlinkSync(victim, link); // swapped after the preflight
  // ASSETS_DELETE=<the link path> still names the link: it was accepted, and rsync --delete ran in home-like.
  for (const c of forms) {
    await expect(resolvedMirrorTarget(c)).rejects.toThrow(
      /led to .*mirrored at the preflight and leads to .*home-like now/,
    );
    await expect(resolvedMirrorTarget(c)).rejects.toMatchObject({ exitCode: 2 });
  }
  // The fpsync engine takes the same resolved path: refused before it creates, copies or deletes anything.
  const lines: string[] = [];
  const ctx = {
    config: { ...forms[0], assetsEngine: 'fpsync' as const },
    say: (l: string) => lines.push(l),
    log: { line: (l: string) => lines.push(l) },
  } as unknown as Parameters<typeof fpsyncStep>[0];
  await expect(fpsyncStep(ctx)).rejects.toThrow(/leads to .*home-like now/);
  expect(fs.readdirSync(path.join(victim, '.ssh'))).toEqual(['authorized_keys']);
});

test('a link to / cannot make DST_ASSETS_DIR a new top-level directory; SRC_ASSETS_DIR=/etc is refused', async () => {
  const s = await scenario({ fixture: false, assets: false });
  const root = path.join(tempDir(), 'to-root');
  fs.symlinkSync('/', root);
  const name = `rehearsal-new-top-${process.pid}`;
  const refusal = (env: Record<string, string>) => {
    try {
      parseConfig({ ...s.env, ...env }, { mode: 'full' });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).problems.join('\n');
    }
    return '';
  };
  expect(refusal({ DST_ASSETS_DIR: path.join(root, name) })).toMatch(
    /leads to \/rehearsal-new-top-.* a new top-level directory/,
  );
  expect(fs.existsSync(`/${name}`)).toBe(false);
  expect(refusal({ SRC_ASSETS_DIR: '/etc' })).toMatch(
    /SRC_ASSETS_DIR="\/etc" is a system directory: the mirror would copy it/,
  );
  const etc = path.join(tempDir(), 'looks-harmless');
  fs.symlinkSync('/etc', etc);
  expect(refusal({ SRC_ASSETS_DIR: etc })).toMatch(/leads to \/etc \(through a symbolic link\)/);
  expect(refusal({})).toBe('');
});
