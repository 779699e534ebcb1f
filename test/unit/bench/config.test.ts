import path from 'node:path';
import { expect, test } from 'vitest';
import { BENCH_VARS, parseBenchConfig } from '../../../lib/bench/config.ts';
import { ConfigError } from '../../../lib/core/errors.ts';

test('parseBenchConfig: the defaults, BENCH_ROWS always among the scales, scales sorted and de-duplicated', () => {
  const c = parseBenchConfig({ BENCH_ROWS: '2000', BENCH_SCALES: '5000, 2000,1000', BENCH_OUT_DIR: 'out' });
  expect(c.rows).toBe(2000);
  expect(c.scales).toEqual([1000, 2000, 5000]);
  expect(c.outDir).toBe(path.resolve('out'));
  expect(c.keep).toBe(false);
  expect(BENCH_VARS.map((v) => v.name)).toContain('BENCH_ROWS');
});

test('parseBenchConfig: every bad value is named in one ConfigError', () => {
  let err: unknown;
  try {
    parseBenchConfig({ BENCH_ROWS: 'many', BENCH_KEEP: 'maybe' });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  const text = (err as Error).message;
  expect(text).toMatch(/BENCH_ROWS/);
  expect(text).toMatch(/BENCH_KEEP/);
});

test('parseBenchConfig: BENCH_HNSW defaults to 1; BENCH_SCHEMA_BEFORE must hold a checkout (bin/run.mjs)', () => {
  expect(parseBenchConfig({}).hnsw).toBe(true);
  expect(parseBenchConfig({ BENCH_HNSW: '0' }).hnsw).toBe(false);
  expect(parseBenchConfig({}).schemaBefore).toBeUndefined();
  const root = path.resolve(__dirname, '../../..');
  expect(parseBenchConfig({ BENCH_SCHEMA_BEFORE: root }).schemaBefore).toBe(root);
  expect(() => parseBenchConfig({ BENCH_SCHEMA_BEFORE: '/nonexistent-checkout', BENCH_HNSW: 'x' })).toThrow(
    /BENCH_SCHEMA_BEFORE=\/nonexistent-checkout holds no bin\/run\.mjs[\s\S]*BENCH_HNSW|BENCH_HNSW[\s\S]*BENCH_SCHEMA_BEFORE/,
  );
  expect(BENCH_VARS.map((v) => v.name)).toEqual(expect.arrayContaining(['BENCH_HNSW', 'BENCH_SCHEMA_BEFORE']));
});
