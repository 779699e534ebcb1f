import { expect, test } from 'vitest';
import { countSql, parseBenchLine, sideEnv } from '../../../lib/bench/raw.ts';
import { parseDsn } from '../../../lib/core/dsn.ts';

test('countSql: one count(*) per table, labelled with its name as a literal', () => {
  expect(countSql(['public.users', '"odd"."t"'])).toBe(
    `SELECT 'public.users', count(*) FROM public.users;\nSELECT '"odd"."t"', count(*) FROM "odd"."t";\n`,
  );
});

test('parseBenchLine: the last BENCH line of a script output, as numbers', () => {
  expect(parseBenchLine('noise\nBENCH a_ms=1 b_ms=2\nBENCH dump_ms=10 rsync_ms=20\ntrailing')).toEqual({
    dump_ms: 10,
    rsync_ms: 20,
  });
  expect(parseBenchLine('no line here')).toEqual({});
});

test('sideEnv: one side of a raw script as BENCH_<SIDE>_* variables', () => {
  const env = sideEnv('SRC', parseDsn(`postgresql://u:${'pw'}@127.0.0.1:5433/app`));
  expect(env).toEqual({
    BENCH_SRC_HOST: '127.0.0.1',
    BENCH_SRC_PORT: '5433',
    BENCH_SRC_USER: 'u',
    BENCH_SRC_PASSWORD: 'pw',
    BENCH_SRC_DB: 'app',
  });
});
