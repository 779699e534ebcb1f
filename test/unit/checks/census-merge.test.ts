/**
 * The census's sorted merge (lib/checks/census.ts), without a database: the tree walk's byte order equals PostgreSQL's
 * COLLATE "C" order of the relative paths, and the merge finds dangling references and unreferenced files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { byteCompare, mergeCensus, sortedTree, type CensusColumn, type TreeEntry } from '../../../lib/checks/census.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'census-merge-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function* list<T>(xs: T[]): AsyncGenerator<T> {
  for (const x of xs) yield x;
}
async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('the tree is walked in byte order of the relative paths ("a", "a.txt", "a/x"; UTF-8 bytes)', async () => {
  const root = path.join(tmp, 'order');
  for (const f of ['a/x', 'a.txt', 'a-b/y', 'b', 'é/z', 'Z', 'a/b/c']) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), 'x');
  }
  fs.symlinkSync('/etc', path.join(root, 'out'));
  const got = await collect(sortedTree(root));
  const paths = got.map((e) => e.path);
  expect(paths).toEqual([...paths].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
  expect(paths).toEqual(['Z', 'a', 'a-b', 'a-b/y', 'a.txt', 'a/b', 'a/b/c', 'a/x', 'b', 'out', 'é', 'é/z']);
  expect(got.find((e) => e.path === 'out')!.kind).toBe('l');
  expect(got.find((e) => e.path === 'a')!.kind).toBe('d');
  expect(byteCompare('\u{1F600}', '\uFFFD')).toBe(1);
});

test('the merge: dangling references of the wrong kind, files under a referenced directory, paths not censused', async () => {
  const cols: CensusColumn[] = [
    { display: 'm.p', table: { schema: 'public', name: 'm' }, column: 'p', kind: 'file' },
    { display: 'g.d', table: { schema: 'public', name: 'g' }, column: 'd', kind: 'dir' },
  ];
  const tree = (
    [
      { path: 'g', kind: 'd' },
      { path: 'g/1', kind: 'd' },
      { path: 'g/1/a.jpg', kind: 'f' },
      { path: 'g/1.jpg', kind: 'f' },
      { path: 'k', kind: 'd' },
      { path: 'k/1.pdf', kind: 'f' },
      { path: 'k/2.pdf', kind: 'd' },
      { path: 'k/3.pdf', kind: 'f' },
    ] as TreeEntry[]
  ).sort((a, b) => byteCompare(a.path, b.path));
  const db = [
    { c: 1, rel: 'g/1', raw: '/app/.data/g/1/' },
    { c: 0, rel: 'k/1.pdf', raw: '/app/.data//k/1.pdf', n: 2 },
    { c: 0, rel: 'k/2.pdf', raw: '/app/.data/k/2.pdf' },
    { c: 0, rel: 'k/9.pdf', raw: '/app/.data/k/9.pdf', n: 3 },
    { c: 0, rel: null, raw: '/elsewhere/x' },
  ].sort((a, b) => (a.rel === null ? 1 : b.rel === null ? -1 : byteCompare(a.rel, b.rel)));
  const r = await mergeCensus(cols, list(db), list(tree));
  expect(r.entries).toEqual({ files: 4, dirs: 4, other: 0 });
  expect(r.columns.get('m.p')).toEqual({
    total: 7,
    censused: 6,
    notCensused: 1,
    dangling: 4,
    examples: [
      { path: '/app/.data/k/2.pdf', found: 'a directory' },
      { path: '/app/.data/k/9.pdf', found: 'nothing (missing)' },
    ],
  });
  expect(r.columns.get('g.d')!.dangling).toBe(0);
  // g/1/a.jpg is covered by the referenced directory g/1; g/1.jpg (outside it) and k/3.pdf are not referenced.
  expect(r.unreferenced).toEqual({ count: 2, examples: ['g/1.jpg', 'k/3.pdf'] });
});
