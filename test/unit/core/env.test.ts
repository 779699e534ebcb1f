import { expect, test } from 'vitest';
import { envBool, envInt, isSet, showDefault } from '../../../lib/core/env.ts';
import { didYouMean, parseCliArgs, unknownEnvWarnings } from '../../../lib/core/cli-args.ts';
import { VARS } from '../../../lib/core/config.ts';
import { CUTOVER_VARS } from '../../../lib/cutover/config.ts';
import { BENCH_VARS } from '../../../lib/bench/config.ts';

test('envInt: default when unset or blank, range and shape errors name the variable', () => {
  const rule = { default: 7, min: 1, max: 64 };
  expect(envInt('N', undefined, rule)).toBe(7);
  expect(envInt('N', '  ', rule)).toBe(7);
  expect(envInt('N', ' 12 ', rule)).toBe(12);
  expect(envInt('N', 'abc', rule)).toBe('N="abc" is not a whole number');
  expect(envInt('N', '0', rule)).toBe('N=0 is out of range: use 1..64');
  expect(envInt('N', '0', { default: 1, min: 1 })).toBe('N=0 is out of range: it must be at least 1');
  expect(envInt('N', '1_000', { default: 1, min: 1, underscores: true })).toBe(1000);
  expect(envInt('N', '1_000', { default: 1, min: 1 })).toBe('N="1_000" is not a whole number');
});

test('envBool and isSet', () => {
  expect(envBool('B', 'YES', false)).toBe(true);
  expect(envBool('B', 'off', true)).toBe(false);
  expect(envBool('B', '', true)).toBe(true);
  expect(envBool('B', 'maybe', true)).toBe('B="maybe" is not a boolean; use 1 or 0 (true/false)');
  expect(isSet(' ')).toBe(false);
  expect(showDefault(true)).toBe('1');
  expect(showDefault(300_000)).toBe('300000');
});

test('the three tables show typed defaults', () => {
  const d = (name: string) => [...VARS, ...CUTOVER_VARS, ...BENCH_VARS].find((v) => v.name === name)?.default;
  expect(d('ROWCOUNT_TIMEOUT_MS')).toBe('3000');
  expect(d('HEALTH_CHECK')).toBe('1');
  expect(d('RESTORE_SINGLE_TRANSACTION')).toBe('1 (0 when RESTORE_JOBS>1)');
  expect(d('DUMP_FORMAT')).toBe('custom');
  expect(d('CUTOVER_HOOK_TIMEOUT_MS')).toBe('300000');
  expect(d('BENCH_ROWS')).toBe('1000000');
});

test('did you mean: options and contract variables', () => {
  expect(didYouMean('--dryrun', ['--dry-run', '--list', '--verify-only'])).toBe('--dry-run');
  expect(didYouMean('--frobnicate', ['--dry-run', '--list'])).toBeUndefined();
  expect(() => parseCliArgs(['--dryrun'], { 'dry-run': { type: 'boolean' } }, 'npm run rehearse -- --help')).toThrow(
    'unknown option "--dryrun" (did you mean --dry-run?); see npm run rehearse -- --help',
  );
  expect(() => parseCliArgs(['--frobnicate'], { 'dry-run': { type: 'boolean' } }, 'x')).toThrow(
    'unknown option "--frobnicate"; see x',
  );
  const known = [...VARS, ...CUTOVER_VARS, ...BENCH_VARS].map((v) => v.name);
  expect(
    unknownEnvWarnings({ ROWCOUNT_TIMEOUT: '5', PATH: '/bin', HOME: '/root', DST_ASSETS_DIR: '/x' }, known),
  ).toEqual([
    'warning: ROWCOUNT_TIMEOUT is not a variable this tool reads (ignored); did you mean ROWCOUNT_TIMEOUT_MS?',
  ]);
  expect(unknownEnvWarnings({ CUTOVER_HOOK_SWICH: 'x' }, known)[0]).toMatch(/did you mean CUTOVER_HOOK_SWITCH\?/);
  expect(unknownEnvWarnings({ BENCH_ROW: '5' }, known)[0]).toMatch(/did you mean BENCH_ROWS\?/);
});
