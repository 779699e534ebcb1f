import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { compareTrees } from '../../../../../lib/checks/families/asset-census/tree-compare.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tree-unit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('every file: size and mtime always, bytes only with content; missing files named', async () => {
  const src = path.join(tmp, 'src');
  const dst = path.join(tmp, 'dst');
  const t = new Date('2024-01-01T00:00:00Z');
  for (const root of [src, dst]) {
    fs.mkdirSync(path.join(root, 'ugc'), { recursive: true });
    for (const i of [1, 2, 3]) {
      fs.writeFileSync(path.join(root, `ugc/${i}.jpg`), `original-${i}`);
      fs.utimesSync(path.join(root, `ugc/${i}.jpg`), t, t);
    }
  }
  // same size, same mtime, new bytes; a missing file; a size difference
  fs.writeFileSync(path.join(src, 'ugc/1.jpg'), 'CHANGED!-1');
  fs.utimesSync(path.join(src, 'ugc/1.jpg'), t, t);
  fs.writeFileSync(path.join(src, 'ugc/4.jpg'), 'new');
  fs.writeFileSync(path.join(dst, 'ugc/3.jpg'), 'longer than before');
  fs.utimesSync(path.join(dst, 'ugc/3.jpg'), t, t);
  fs.symlinkSync('1.jpg', path.join(src, 'ugc/link.jpg'));

  const quick = await compareTrees(src, dst);
  expect(quick).toMatchObject({ files: 4, notFiles: 1, differing: 2 });
  expect(quick.examples).toEqual([
    { path: 'ugc/3.jpg', problem: 'size differs: source 10 B, target 18 B' },
    { path: 'ugc/4.jpg', problem: 'missing on the target' },
  ]);
  // another mtime, same bytes: decided by the bytes, not a difference
  fs.utimesSync(path.join(dst, 'ugc/2.jpg'), new Date(), new Date());
  expect((await compareTrees(src, dst)).mtimeOnly).toBe(1);
  const full = await compareTrees(src, dst, { content: true });
  expect(full.differing).toBe(3);
  expect(full.examples[0]).toMatchObject({
    path: 'ugc/1.jpg',
    problem: expect.stringMatching(/^same size \(10 B\) and mtime but different bytes/),
  });
});
