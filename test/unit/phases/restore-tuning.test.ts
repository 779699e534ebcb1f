/**
 * The restore session's settings (lib/phases/restore-tuning.ts), chosen from what the target allows, and the server
 * messages collected from the restore tools' output.
 */
import { describe, expect, test } from 'vitest';
import {
  chooseRestoreSettings,
  isLocalHost,
  pgOptions,
  ServerMessages,
  type TargetFacts,
} from '../../../lib/phases/restore-tuning.ts';

const MB = 2 ** 20;
const facts = (o: Partial<TargetFacts> = {}): TargetFacts => ({
  maintenanceWorkMem: 64 * MB,
  effectiveCacheSize: 4096 * MB,
  maxParallelMaintenanceWorkers: 2,
  maxParallelWorkers: 8,
  local: false,
  ...o,
});
const auto = { restoreMaintenanceWorkMem: 'auto', restoreMaintenanceWorkers: 'auto' } as const;
const get = (r: ReturnType<typeof chooseRestoreSettings>) => Object.fromEntries(r.settings);

describe('chooseRestoreSettings', () => {
  test('remote target: a quarter of effective_cache_size, capped at 1GB; workers left to the target', () => {
    expect(get(chooseRestoreSettings(facts(), auto))).toEqual({
      maintenance_work_mem: '1024MB',
      synchronous_commit: 'off',
    });
    expect(get(chooseRestoreSettings(facts({ effectiveCacheSize: 1024 * MB }), auto)).maintenance_work_mem).toBe(
      '256MB',
    );
  });
  test('local target: a quarter of the available memory; cores - 1 workers, at most max_parallel_workers', () => {
    const r = chooseRestoreSettings(facts({ local: true, memAvailable: 2048 * MB, cores: 2 }), auto);
    expect(get(r)).toEqual({
      maintenance_work_mem: '512MB',
      max_parallel_maintenance_workers: '1',
      synchronous_commit: 'off',
    });
    expect(r.why[0]).toMatch(/a quarter of this machine's available memory \(2048MB\)/);
    expect(
      get(chooseRestoreSettings(facts({ local: true, memAvailable: 64e9, cores: 32, maxParallelWorkers: 4 }), auto)),
    ).toMatchObject({ maintenance_work_mem: '1024MB', max_parallel_maintenance_workers: '4' });
  });
  test('never below the target’s own value, never below 64MB on a small machine', () => {
    const big = chooseRestoreSettings(facts({ maintenanceWorkMem: 2048 * MB }), auto);
    expect(get(big).maintenance_work_mem).toBeUndefined();
    expect(big.why[0]).toMatch(/left at the target's 2048MB/);
    const small = chooseRestoreSettings(
      facts({ maintenanceWorkMem: 1 * MB, local: true, memAvailable: 100 * MB, cores: 1 }),
      auto,
    );
    expect(get(small)).toMatchObject({ maintenance_work_mem: '64MB', max_parallel_maintenance_workers: '0' });
  });
  test('explicit values win; off sets nothing', () => {
    expect(
      get(chooseRestoreSettings(facts(), { restoreMaintenanceWorkMem: MB, restoreMaintenanceWorkers: 0 })),
    ).toEqual({
      maintenance_work_mem: '1MB',
      max_parallel_maintenance_workers: '0',
      synchronous_commit: 'off',
    });
    expect(
      chooseRestoreSettings(facts(), { restoreMaintenanceWorkMem: 'off', restoreMaintenanceWorkers: 'auto' }).settings,
    ).toEqual([]);
  });
  test('PGOPTIONS: the DSN’s own options first, ours after; hosts that are this machine', () => {
    expect(pgOptions([['maintenance_work_mem', '1024MB']])).toBe('-c maintenance_work_mem=1024MB');
    expect(pgOptions([['a', '1']], '-c search_path=x')).toBe('-c search_path=x -c a=1');
    expect(pgOptions([], '-c x=1')).toBe('-c x=1');
    for (const h of ['', '/var/run/postgresql', 'localhost', '127.0.0.1', '::1'])
      expect(isLocalHost({ host: h })).toBe(true);
    expect(isLocalHost({ host: 'db.internal' })).toBe(false);
  });
});

test('server messages: NOTICE/WARNING with their DETAIL and HINT, from psql and pg_restore output', () => {
  const m = new ServerMessages();
  for (const l of [
    'psql:<stdin>:120: NOTICE:  hnsw graph no longer fits into maintenance_work_mem after 1160 tuples',
    'DETAIL:  Building will take significantly more time.',
    'HINT:  Increase maintenance_work_mem to speed up builds.',
    'pg_restore: creating INDEX "public.emb_v_hnsw"',
    'pg_restore: WARNING:  something odd',
  ])
    m.line(l);
  expect(m.all).toEqual([
    {
      severity: 'NOTICE',
      message: 'hnsw graph no longer fits into maintenance_work_mem after 1160 tuples',
      detail: 'Building will take significantly more time.',
      hint: 'Increase maintenance_work_mem to speed up builds.',
    },
    { severity: 'WARNING', message: 'something odd' },
  ]);
  expect(m.hints()).toEqual([
    'NOTICE: hnsw graph no longer fits into maintenance_work_mem after 1160 tuples (Building will take significantly more time.) HINT: Increase maintenance_work_mem to speed up builds.',
  ]);
});
