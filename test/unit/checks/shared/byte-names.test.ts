import { expect, test } from 'vitest';
import {
  blankTrimmed,
  byteKey,
  caseTwin,
  displayKey,
  escapeNameBytes,
  fileWithTrailingSlash,
  isUtf8Key,
  keyBytes,
  keyOfText,
  mergeSorted,
} from '../../../../lib/checks/shared/asset-paths.ts';

test('escapeNameBytes: UTF-8 kept, stray bytes as \\xHH, controls and backslash escaped', () => {
  expect(escapeNameBytes(Buffer.from('legacy/café.jpg'))).toBe('legacy/café.jpg');
  expect(escapeNameBytes(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x6a]))).toBe('caf\\xE9.j');
  expect(escapeNameBytes(Buffer.from('Gro\xdfe.pdf', 'latin1'))).toBe('Gro\\xDFe.pdf');
  expect(escapeNameBytes(Buffer.from('a\nb\tc\\d\x01'))).toBe('a\\nb\\tc\\\\d\\x01');
  // an overlong encoding and a lone surrogate's bytes are not valid UTF-8
  expect(escapeNameBytes(Buffer.from([0xc0, 0xaf]))).toBe('\\xC0\\xAF');
  expect(escapeNameBytes(Buffer.from([0xed, 0xa0, 0x80]))).toBe('\\xED\\xA0\\x80');
  expect(escapeNameBytes(Buffer.from('😀'))).toBe('😀');
});

test('byte keys: round trip, byte order with <, UTF-8 detection', () => {
  const latin = Buffer.from([0x63, 0xe9]);
  expect(keyBytes(byteKey(latin)).equals(latin)).toBe(true);
  expect(displayKey(byteKey(latin))).toBe('c\\xE9');
  expect(isUtf8Key(byteKey(latin))).toBe(false);
  expect(isUtf8Key(keyOfText('café'))).toBe(true);
  // byte order: U+FFFD (EF BF BD) sorts before U+1F600 (F0 ...), unlike UTF-16 code-unit order
  const keys = ['😀', '\ufffd', 'a', 'a/b', 'a.b', 'Z'].map(keyOfText).sort();
  expect(keys.map((k) => keyBytes(k).toString('utf8'))).toEqual(['Z', 'a', 'a.b', 'a/b', '\ufffd', '😀']);
  // two different Latin-1 names never collide (decoded as UTF-8 both would be U+FFFD)
  expect(byteKey(Buffer.from([0xe9]))).not.toBe(byteKey(Buffer.from([0xdf])));
});

test('near twins: case-only and trailing blanks', () => {
  expect(caseTwin('D.JPG', ['c.jpg', 'd.jpg'])).toBe('d.jpg');
  expect(caseTwin('d.jpg', ['d.jpg'])).toBeUndefined();
  expect(caseTwin('x.JPG', ['X.jpg', 'x.jpg'])).toBe('X.jpg');
  expect(blankTrimmed('ugc/5/e.jpg ')).toBe('ugc/5/e.jpg');
  expect(blankTrimmed(' ugc/5\u00a0/e.jpg')).toBe('ugc/5/e.jpg');
  expect(blankTrimmed('ugc/5/e.jpg')).toBeUndefined();
  expect(blankTrimmed('ugc/ /e.jpg')).toBeUndefined();
});

const k = (key: string) => ({ key });
test('mergeSorted: pairs equal keys, one side only otherwise, across batch boundaries and empty batches', () => {
  const left = [[k('a'), k('c')], [], [k('d'), k('f')]];
  const right = [[k('b')], [k('c'), k('d')], [k('g')]];
  const pairs = [...mergeSorted(left, right)].map(([a, b]) => `${a?.key ?? '-'}${b?.key ?? '-'}`);
  expect(pairs).toEqual(['a-', '-b', 'cc', 'dd', 'f-', '-g']);
  expect([...mergeSorted([], [[k('x')]])].length).toBe(1);
});

test('mergeSorted: streams 1,000,000 entries per side holding at most two batches of each (never the whole tree)', () => {
  const N = 1_000_000;
  const BATCH = 4096;
  const pulled = [0, 0];
  function* side(which: 0 | 1, skip: number): Generator<Array<{ key: string; size: number }>> {
    let batch: Array<{ key: string; size: number }> = [];
    for (let i = 0; i < N; i++) {
      if (i % 1000 === skip) continue;
      batch.push({ key: `gallery/${String(i).padStart(9, '0')}/photo-with-a-long-name.jpg`, size: i });
      if (batch.length === BATCH) {
        pulled[which] += batch.length;
        yield batch;
        batch = [];
      }
    }
    pulled[which] += batch.length;
    if (batch.length) yield batch;
  }
  const consumed = [0, 0];
  let ahead = 0;
  let both = 0;
  let n = 0;
  for (const [a, b] of mergeSorted(side(0, 1), side(1, 2))) {
    if (a) consumed[0]++;
    if (b) consumed[1]++;
    if (a && b) both++;
    n++;
    // What the merge holds is what it pulled from a side and has not handed on yet: the structural form of "memory
    // stays flat" (a heap figure depends on when the collector last ran, which made this test flaky under load).
    ahead = Math.max(ahead, pulled[0] - consumed[0], pulled[1] - consumed[1]);
  }
  expect(n).toBe(N);
  expect(both).toBe(N - (2 * N) / 1000);
  expect(ahead).toBeLessThanOrEqual(2 * BATCH);
});

test('a file path stored with a trailing "/" is refused for its form alone (so the source is broken alike)', () => {
  expect(fileWithTrailingSlash('/app/.data/ugc/2/b.jpg/', 'file')).toBe(true);
  expect(fileWithTrailingSlash('/app/.data/gallery/1//', 'dir')).toBe(false);
  expect(fileWithTrailingSlash('/app/.data/ugc/2/b.jpg', 'file')).toBe(false);
});
