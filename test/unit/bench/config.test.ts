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
