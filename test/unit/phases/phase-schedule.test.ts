/**
 * lib/phases/phase-schedule.ts and lib/phases/phase-types.ts: the copy phases of a full run, in PHASES order, each
 * wanted or skipped with the reason the skipped test shows (the checks receive this as data, never by import).
 */
import { expect, test } from 'vitest';
import { parseConfig } from '../../../lib/core/config.ts';
import { phaseSchedule, plannedPhases } from '../../../lib/phases/phase-schedule.ts';
import { PHASES } from '../../../lib/phases/phase-types.ts';

const base = {
  SRC_DATABASE_URL: 'postgresql://app@127.0.0.1:5433/legacy',
  DST_DATABASE_URL: 'postgresql://stage@127.0.0.1:5434/staging',
  SRC_ASSETS_DIR: '/srv/src/.data',
  DST_ASSETS_DIR: '/srv/dst/.data',
  WORK_DIR: '/tmp/phase-schedule-unit-work',
};

test('a full copy: every phase wanted, in PHASES order, no reason', () => {
  const s = phaseSchedule(parseConfig(base));
  expect(s.map((p) => p.name)).toEqual([...PHASES]);
  expect(s.every((p) => p.wanted && p.whyNot === '')).toBe(true);
});

test('no source and no archive: dump and restore skipped with their reasons; no SRC_ASSETS_DIR: no mirror', () => {
  const s = phaseSchedule(
    parseConfig({ ...base, SRC_DATABASE_URL: undefined, SRC_ASSETS_DIR: undefined }, { mode: 'verify-only' }),
  );
  expect(s.map((p) => [p.name, p.wanted, p.whyNot])).toEqual([
    ['preflight', true, ''],
    ['dump', false, 'nothing to dump (no SRC_DATABASE_URL, no SRC_DB_DUMP_PATH)'],
    ['restore', false, 'nothing to restore'],
    ['mirror', false, 'SRC_ASSETS_DIR is not set: no asset mirror'],
  ]);
});

test('plannedPhases agrees with the schedule for a provided archive (no dump of its own, the archive restored)', () => {
  const c = parseConfig({ ...base, SRC_DB_DUMP_PATH: '/tmp/x.dump' });
  expect(plannedPhases(c)).toEqual({ dump: false, restore: true, mirror: true });
  // The schedule still runs the dump phase: it validates and records the given archive.
  expect(phaseSchedule(c).find((p) => p.name === 'dump')?.wanted).toBe(true);
});
