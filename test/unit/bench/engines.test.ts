/**
 * lib/bench/engines.ts without running anything: the raw engines script's environment carries no password (URIs
 * without it, a passfile path), the passfile escapes libpq's separators, and the ratios are against pg_dump | pg_restore.
 */
import { expect, test } from 'vitest';
import type { Dsn } from '../../../lib/core/dsn.ts';
import { enginesEnv, enginesPassfile, engineRatios, RAW_ENGINES_SCRIPT } from '../../../lib/bench/engines.ts';

const d = (database: string): Dsn => ({
  host: '127.0.0.1',
  port: 55432,
  database,
  user: 'rehearsal',
  password: 'p:a\\ss#1',
  params: {},
  format: 'url',
});
const input = { src: d('bench_src'), dst: { dump: d('t_dump'), one: d('t_one'), n: d('t_n') }, jobs: 2 };

test('the script environment has URIs without the password and a passfile path; no fpsync without a tree', () => {
  const env = enginesEnv(input, '/w', '/w/engines.pgpass');
  expect(JSON.stringify(env)).not.toContain('p:a');
  expect(JSON.stringify(env)).not.toContain(encodeURIComponent('p:a\\ss#1'));
  expect(env.BENCH_SRC_URI).toBe('postgresql://rehearsal@127.0.0.1:55432/bench_src');
  expect(env.BENCH_JOBS).toBe('2');
  expect(env.BENCH_SRC_ASSETS).toBeUndefined();
  expect(enginesEnv({ ...input, assets: { src: '/a', dst: '/b' } }, '/w', '/p').BENCH_FILES_PER_JOB).toBe('20000');
  const tuned = enginesEnv({ ...input, sessionSettings: [['maintenance_work_mem', '256MB']] }, '/w', '/p');
  for (const k of ['BENCH_DST_URI_DUMP', 'BENCH_DST_URI_1', 'BENCH_DST_URI_N'])
    expect(new URL(tuned[k]!).searchParams.get('options'), k).toBe('-c maintenance_work_mem=256MB');
  expect(tuned.BENCH_SRC_URI).not.toContain('options');
});

test('the passfile escapes ":" and "\\"; the script never puts a password in argv', () => {
  expect(enginesPassfile([d('x')])).toBe('127.0.0.1:55432:x:rehearsal:p\\:a\\\\ss#1\n');
  expect(RAW_ENGINES_SCRIPT).not.toMatch(/PGPASSWORD|--password/);
  expect(RAW_ENGINES_SCRIPT).toContain('export PGPASSFILE="$BENCH_PASSFILE"');
});

test('ratios: each pgcopydb run against pg_dump | pg_restore, and N jobs against 1', () => {
  expect(engineRatios({ wallMs: 0, dumpRestoreMs: 10_000, pgcopydb1Ms: 12_000, pgcopydbNMs: 8_000, jobs: 2 })).toEqual({
    pgcopydb1: 1.2,
    pgcopydbN: 0.8,
    nOver1: 0.67,
  });
});
