import { expect, test } from 'vitest';
import { descendants } from '../../../lib/bench/rss.ts';

test('descendants: the root and every process below it, from a pid → parent map', () => {
  const parents = new Map([
    [2, 1],
    [3, 2],
    [4, 2],
    [5, 9],
  ]);
  expect(descendants(1, parents).sort()).toEqual([1, 2, 3, 4]);
});
