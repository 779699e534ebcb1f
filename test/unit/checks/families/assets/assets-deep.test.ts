/** A stored path deeper than the system's path limit: reported at once as too long, never as "missing" after a stall. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { checkAsset } from '../../../../../lib/checks/families/assets/assets.ts';

test('a file at the bottom of a 1,500-level tree is reported as too long to check (ENAMETOOLONG), quickly', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'deep-tree-'));
  try {
    // Built with relative mkdir/chdir steps in a child process: no single path call could reach that deep.
    const made = spawnSync(
      process.execPath,
      [
        '-e',
        `for (let i = 0; i < 1500; i++) { require('fs').mkdirSync('dd'); process.chdir('dd'); } require('fs').writeFileSync('f', 'x');`,
      ],
      { cwd: root },
    );
    expect(made.status, String(made.stderr)).toBe(0);
    const value = '/app/.data/' + 'dd/'.repeat(1500) + 'f';
    const started = Date.now();
    const r = await checkAsset(value, 'file', { prefix: '/app/.data', dstRoot: root });
    expect(r.ok).toBe(false);
    expect(r.problem).toMatch(/path too long to check: \d+ characters exceed the system's path limit \(ENAMETOOLONG\)/);
    expect(Date.now() - started).toBeLessThan(10_000);
    // The same tree as the source: not "already missing in the source" (a warning, the run green): the file exists
    // on both sides and was never checked, so it stays a failure (issue 26, attack 15).
    const both = await checkAsset(value, 'file', { prefix: '/app/.data', dstRoot: root, srcRoot: root });
    expect(both.ok).toBe(false);
    expect(both.preexisting).toBeFalsy();
    expect(both.problem).toMatch(/ENAMETOOLONG/);
    expect(both.facts.join('\n')).not.toMatch(/already missing in the source/);
  } finally {
    spawnSync('rm', ['-rf', root]); // GNU rm walks deep trees relative to each directory
  }
});
