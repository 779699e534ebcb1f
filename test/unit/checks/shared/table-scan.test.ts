/**
 * The fused table scan's SQL (lib/checks/shared/table-scan.ts), without a database: one query for count, checksum and the
 * path-prefix counts; block ranges that cover the whole heap exactly once.
 */
import { expect, test } from 'vitest';
import { blockRanges, scanQuery, splitDegree } from '../../../../lib/checks/shared/table-scan.ts';
import type { ColumnShape } from '../../../../lib/checks/families/checksums/checksum.ts';

const col = (name: string): ColumnShape => ({
  name,
  type: 'text',
  collatable: true,
  hashable: true,
  pkOrd: null,
  integer: false,
});
const t = { schema: 'public', name: 'knowledge_materials' };

test('one query: count, checksum and per-column prefix counts; values only for the prefix and the ".." pattern', () => {
  const q = scanQuery({
    table: t,
    checksum: { columns: [col('id'), col('storage_path')], method: 'record' },
    prefixColumns: ['storage_path', 'Thumb Path'],
    prefix: '/app/.data',
  });
  expect(q.text.split(' FROM ')).toHaveLength(2);
  expect(q.text).toContain('count(*)::text AS n');
  expect(q.text).toContain('coalesce(sum(hash_record_extended(ROW(');
  expect(q.text).toContain('count(t."storage_path")::text AS p0_total');
  expect(q.text).toContain('count(t."Thumb Path")::text AS p1_total');
  expect(q.text).toContain('AS p1_bad');
  expect(q.values).toEqual(['/app/.data/', '(^|/)\\.\\.(/|$)']);
  const countOnly = scanQuery({ table: t, prefixColumns: [], prefix: '/app/.data' });
  expect(countOnly.text).toMatch(/^SELECT count\(\*\)::text AS n FROM \S*knowledge_materials\S* t$/);
  expect(countOnly.values).toEqual([]);
});

test('block ranges: the first unbounded below, the last above, adjacent in between; never more parts than blocks', () => {
  expect(blockRanges(100, 4)).toEqual([{ hi: 25 }, { lo: 25, hi: 50 }, { lo: 50, hi: 75 }, { lo: 75 }]);
  expect(blockRanges(2, 4)).toEqual([{ hi: 1 }, { lo: 1 }]);
  expect(blockRanges(0, 4)).toEqual([{}]);
  expect(blockRanges(1000, 1)).toEqual([{}]);
  const q = scanQuery({ table: t, prefixColumns: [], prefix: '/' }, { lo: 25, hi: 50 });
  expect(q.text).toMatch(/WHERE t\.ctid >= '\(25,0\)'::tid AND t\.ctid < '\(50,0\)'::tid$/);
});

test('the split degree comes from the server: CHECK_CONCURRENCY capped by max_parallel_workers + 1 and max_worker_processes', () => {
  expect(splitDegree(8, { parallelWorkers: 8, workerProcesses: 8 })).toBe(8);
  expect(splitDegree(8, { parallelWorkers: 2, workerProcesses: 8 })).toBe(3);
  expect(splitDegree(8, { parallelWorkers: 8, workerProcesses: 3 })).toBe(4);
  expect(splitDegree(8, { parallelWorkers: 0, workerProcesses: 8 })).toBe(1);
  expect(splitDegree(4, { parallelWorkers: 16, workerProcesses: 16 })).toBe(4);
  expect(splitDegree(4, {})).toBe(4);
});
