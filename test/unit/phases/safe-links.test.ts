/** Issue 26 (item 4): source symlinks pointing outside the tree are not copied, and the mirror names them. */
import { describe, expect, test } from 'vitest';
import { parseUnsafeLink, rsyncCommand } from '../../../lib/phases/commands.ts';
import { jobRsyncOptions } from '../../../lib/phases/engines/fpsync.ts';
import { unsafeLinksNote } from '../../../lib/phases/mirror-assets.ts';
import type { Config } from '../../../lib/core/config.ts';

describe('unsafe symlinks', () => {
  test('both engines skip them (rsync --safe-links) and rsync names each one', () => {
    const cfg = { srcAssetsDir: '/s', dstAssetsDir: '/d', connectTimeoutMs: 1000 } as unknown as Config;
    expect(rsyncCommand(cfg).args).toEqual(expect.arrayContaining(['--safe-links', '--info=name1']));
    expect(jobRsyncOptions({ rsyncTimeoutS: 5 } as Config, false)).toContain('--safe-links');
  });
  test("rsync's line is parsed; other lines are not", () => {
    expect(parseUnsafeLink('ignoring unsafe symlink "sub/up" -> "../../etc/passwd"')).toEqual({
      path: 'sub/up',
      target: '../../etc/passwd',
    });
    expect(parseUnsafeLink('cL+++++++++ in -> sub')).toBeUndefined();
  });
  test("the phase's summary names them", () => {
    expect(unsafeLinksNote([])).toBe('');
    const note = unsafeLinksNote([{ path: 'out', target: '/etc' }]);
    expect(note).toMatch(/1 symlink\(s\) pointing outside the source tree NOT copied: out -> \/etc/);
  });
});
