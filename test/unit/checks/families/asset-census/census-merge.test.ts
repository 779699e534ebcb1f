/**
 * The census's sorted merge (lib/checks/families/asset-census/census.ts), without a database: the tree walk's byte order equals PostgreSQL's
 * COLLATE "C" order of the relative paths, and the merge finds dangling references and unreferenced files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import {
  byteCompare,
  censusStreamQuery,
  mergeCensus,
  sortedTree,
  sortedTreeChunks,
  type CensusColumn,
  type TreeEntry,
} from '../../../../../lib/checks/families/asset-census/census.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'census-merge-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** `xs` in batches of `size` (the merge's input), with an empty batch thrown in. */
async function* list<T>(xs: T[], size = 2): AsyncGenerator<T[]> {
  yield [];
  for (let i = 0; i < xs.length; i += size) yield xs.slice(i, i + size);
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
  // Whatever the batch sizes on either side (a path's rows straddling a boundary included), the same findings.
  for (const [dbSize, treeSize] of [
    [1, 1],
    [2, 3],
    [100, 1],
    [1, 100],
  ]) {
    const r = await mergeCensus(cols, list(db, dbSize), list(tree, treeSize));
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
  }
});

test('a path stored in two columns at once is one step of the merge, across a batch boundary', async () => {
  const cols: CensusColumn[] = [
    { display: 'a.p', table: { schema: 'public', name: 'a' }, column: 'p', kind: 'file' },
    { display: 'b.p', table: { schema: 'public', name: 'b' }, column: 'p', kind: 'file' },
  ];
  const db = [
    { c: 0, rel: 'x', raw: '/p/x', n: 2 },
    { c: 1, rel: 'x', raw: '/p/x', n: 1 },
    { c: 1, rel: 'y', raw: '/p/y', n: 1 },
  ];
  const tree: TreeEntry[] = [
    { path: 'w', kind: 'f' },
    { path: 'x', kind: 'f' },
  ];
  const r = await mergeCensus(cols, list(db, 1), list(tree, 1));
  expect(r.columns.get('a.p')).toMatchObject({ total: 2, censused: 2, dangling: 0 });
  expect(r.columns.get('b.p')).toMatchObject({ total: 2, censused: 2, dangling: 1 });
  expect(r.unreferenced).toEqual({ count: 1, examples: ['w'] });
  expect(r.entries.files).toBe(2);
});

test('byte order without encoding: agrees with Buffer.compare on surrogates, U+E000–U+FFFF, prefixes', () => {
  const alphabet = ['a', 'b', '/', '.', 'é', '\uE000', '\uFFFD', '\uFFFF', '\u{1F600}', '\u{10000}', '资', '\n'];
  const words: string[] = [''];
  for (const x of alphabet) for (const y of alphabet) words.push(x, x + y, `${x}a${y}`);
  const wrong: string[] = [];
  for (const a of words)
    for (const b of words)
      if (Math.sign(byteCompare(a, b)) !== Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))))
        wrong.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  expect(wrong).toEqual([]);
  // The old comparison (encoding both strings) is what this replaces: it would pass too; a plain `<` would not.
  expect('\uFFFD' < '\u{1F600}').toBe(false);
  expect(byteCompare('\uFFFD', '\u{1F600}')).toBeLessThan(0);
});

test('the walk comes in chunks of the asked size, in the same order as one entry at a time', async () => {
  const root = path.join(tmp, 'chunks');
  for (let i = 0; i < 7; i++) {
    fs.mkdirSync(path.join(root, `d${i}`), { recursive: true });
    fs.writeFileSync(path.join(root, `d${i}`, 'f'), 'x');
  }
  const chunks = [...sortedTreeChunks(root, undefined, 3)];
  expect(chunks.map((c) => c.length)).toEqual([3, 3, 3, 3, 2]);
  expect(chunks.flat()).toEqual(await collect(sortedTree(root)));
});

test('an unreadable directory is reported and the walk goes on', () => {
  const problems: Array<{ rel: string; code: string }> = [];
  // A root that is not there: reported as ".", nothing yielded, no throw.
  expect([...sortedTreeChunks(path.join(tmp, 'absent'), (p) => problems.push(p))]).toEqual([]);
  expect(problems).toEqual([{ rel: '.', code: 'ENOENT' }]);
});

test('the stored paths are grouped by their bytes before they are normalised, once per distinct value', () => {
  const q = censusStreamQuery(
    [{ display: 'x.p', table: { schema: 'public', name: 'x' }, column: 'p', kind: 'file' }],
    '/app/.data',
  );
  expect(q.text).toContain(
    '(SELECT "p"::text COLLATE "C" AS raw, count(*) AS n FROM "public"."x" WHERE "p" IS NOT NULL GROUP BY 1)',
  );
  expect(q.text).toContain('sum(n)::int8 AS n, min(raw) AS raw');
});

test('names that are not valid UTF-8 are set aside, escaped (no stored path can name them), never merged as U+FFFD', () => {
  const root = path.join(tmp, 'latin1');
  fs.mkdirSync(path.join(root, 'legacy'), { recursive: true });
  fs.writeFileSync(path.join(root, 'legacy/ok.jpg'), 'x');
  for (const b of [0xe9, 0xdf])
    fs.writeFileSync(Buffer.concat([Buffer.from(`${root}/legacy/n`), Buffer.from([b])]) as unknown as string, 'x');
  const aside: Array<{ display: string; kind: string }> = [];
  const merged = [...sortedTreeChunks(root, undefined, 2, (e) => aside.push(e))].flat();
  expect(merged).toEqual([
    { path: 'legacy', kind: 'd' },
    { path: 'legacy/ok.jpg', kind: 'f' },
  ]);
  expect(aside).toEqual([
    { display: 'legacy/n\\xDF', kind: 'f' },
    { display: 'legacy/n\\xE9', kind: 'f' },
  ]);
});
