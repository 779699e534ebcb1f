import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { compareTrees } from '../../../../../lib/checks/families/asset-census/tree-compare.ts';
import { writePathList } from '../../../../../lib/checks/shared/full-list.ts';

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

/** Write a file whose relative path is given as bytes (names that are not valid UTF-8). */
function writeBytesPath(root: string, rel: Buffer, body: string): void {
  fs.writeFileSync(Buffer.concat([Buffer.from(root + '/'), rel]) as unknown as string, body);
}

test('every file: names that are not UTF-8 are counted, compared and named escaped; both directions listed', async () => {
  const src = path.join(tmp, 'bytes-src');
  const dst = path.join(tmp, 'bytes-dst');
  const cafe = Buffer.concat([Buffer.from('legacy/caf'), Buffer.from([0xe9]), Buffer.from('.jpg')]);
  const gross = Buffer.concat([Buffer.from('legacy/Gro'), Buffer.from([0xdf]), Buffer.from('e.pdf')]);
  for (const root of [src, dst]) {
    fs.mkdirSync(path.join(root, 'legacy'), { recursive: true });
    fs.mkdirSync(path.join(root, 'ugc'), { recursive: true });
    writeBytesPath(root, cafe, 'latin1 cafe');
    writeBytesPath(root, gross, 'latin1 gross');
    fs.writeFileSync(path.join(root, 'ugc/1.jpg'), 'one');
    fs.utimesSync(path.join(root, 'ugc/1.jpg'), new Date(0), new Date(0));
  }
  const same = await compareTrees(src, dst);
  expect(same).toMatchObject({ files: 3, targetFiles: 3, differing: 0 });
  fs.rmSync(Buffer.concat([Buffer.from(dst + '/'), cafe]) as unknown as string);
  fs.writeFileSync(path.join(dst, 'ugc/deleted-in-source.jpg'), 'old');
  const r = await compareTrees(src, dst);
  expect(r).toMatchObject({ files: 3, targetFiles: 3, differing: 1 });
  expect(r.examples).toEqual([{ path: 'legacy/caf\\xE9.jpg', problem: 'missing on the target' }]);
  expect(r.missingOnTarget.keys.map((k) => Buffer.from(k, 'latin1'))).toEqual([cafe]);
  expect(r.missingOnSource).toEqual({ count: 1, keys: ['ugc/deleted-in-source.jpg'] });
});

test('every file: a source modified after the mirror started is "the source changed during the copy"', async () => {
  const src = path.join(tmp, 'grow-src');
  const dst = path.join(tmp, 'grow-dst');
  for (const root of [src, dst]) fs.mkdirSync(root, { recursive: true });
  const copied = new Date(Date.now() - 60_000);
  fs.writeFileSync(path.join(dst, '1.bin'), 'x'.repeat(100));
  fs.utimesSync(path.join(dst, '1.bin'), copied, copied);
  fs.writeFileSync(path.join(src, '1.bin'), 'x'.repeat(150));
  const r = await compareTrees(src, dst, { changedSince: copied.getTime() - 1000 });
  expect(r.sourceChanged.map((x) => x.path)).toEqual(['1.bin']);
  expect(r.examples[0].problem).toMatch(
    /^the source changed during the copy: modified .*, after the mirror started .*; size when copied 100 B \(the target's\), now 150 B \(the source's\)/,
  );
  // no mirror in this run (verify-only): a plain size difference
  expect((await compareTrees(src, dst)).examples[0].problem).toBe('size differs: source 150 B, target 100 B');
});

test('writePathList: one path per line, the exact bytes, no header; names with a newline left out and counted', async () => {
  const runDir = path.join(tmp, 'run');
  const notes: Array<[string, string | undefined]> = [];
  const annotate = async (m: string, t?: string) => void notes.push([m, t]);
  const latin = Buffer.from([0x63, 0x61, 0x66, 0xe9]).toString('latin1');
  const rel = await writePathList(
    annotate,
    'asset census every file size, mtime (source = target)',
    'missing-on-target',
    [latin, 'a\nb', 'ugc/1.jpg'],
    {
      max: 100,
      total: 5,
      what: 'missing on the target',
      runDir,
    },
  );
  expect(rel).toBe('failures/asset-census-every-file-size-mtime-(source-target).missing-on-target.txt');
  expect(fs.readFileSync(path.join(runDir, rel!))).toEqual(
    Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a, ...Buffer.from('ugc/1.jpg\n')]),
  );
  expect(notes[0]).toEqual([
    `${rel}: 2 path(s) missing on the target, one per line, byte-exact (rsync --files-from); 2 more left out (FULL_LIST_MAX=100); 1 name(s) with a newline left out (not one line)`,
    'full-list',
  ]);
});
