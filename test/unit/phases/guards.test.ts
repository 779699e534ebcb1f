/** Pure rules of the destructive-step guards (lib/phases/guards.ts). */
import { expect, test } from 'vitest';
import type { Config } from '../../../lib/core/config.ts';
import { deleteRefusal, describeDrop, dropRefusal, lockBudget } from '../../../lib/phases/guards.ts';

const settings = { maxLocksPerTransaction: 64, maxConnections: 10, maxPreparedTransactions: 0 };
const cfg = (over: Partial<Config>) => ({ dstAssetsDir: '/srv/staging/.data', ...over }) as Config;
const preview = (over = {}) => ({
  tables: [{ name: 'public.payments', rows: '500' }],
  totalTables: 1,
  database: 'prod',
  ...over,
});

test('a single-transaction restore that overflows the lock table is refused with the fix; near the limit it warns', () => {
  expect(lockBudget(100, settings)).toBeUndefined();
  const warn = lockBudget(400, settings);
  expect(warn?.level).toBe('warn');
  const refuse = lockBudget(1000, settings);
  expect(refuse?.level).toBe('refuse');
  expect(refuse?.message).toMatch(
    /locks 1000 relations, more than the target's lock table holds \(max_locks_per_transaction 64 × 10 connection slots = 640\)/,
  );
  expect(refuse?.message).toMatch(/ALTER SYSTEM SET max_locks_per_transaction = \d+/);
});

test('DST_DROP_SCHEMA: =1 needs the marker, =<dbname> must be the target, identity must be proven', () => {
  expect(dropRefusal(cfg({ dstDropSchema: true }), preview(), undefined)).toMatch(/confirm with DST_DROP_SCHEMA=prod/);
  expect(dropRefusal(cfg({ dstDropSchema: true }), preview({ marker: 'run1' }), undefined)).toBeUndefined();
  expect(dropRefusal(cfg({ dstDropSchema: true, dstDropSchemaConfirm: 'prod' }), preview(), undefined)).toBeUndefined();
  expect(dropRefusal(cfg({ dstDropSchema: true, dstDropSchemaConfirm: 'staging' }), preview(), undefined)).toMatch(
    /does not name the target database \("prod"\)/,
  );
  expect(
    dropRefusal(cfg({ dstDropSchema: true, dstDropSchemaConfirm: 'prod' }), preview(), {
      kind: 'unproven',
      reason: 'permission denied',
    }),
  ).toMatch(/could not prove the target is not the source/);
  expect(dropRefusal(cfg({ dstDropSchema: true }), preview({ tables: [], totalTables: 0 }), undefined)).toBeUndefined();
  expect(describeDrop(preview())).toEqual([
    'DST_DROP_SCHEMA would drop 1 table(s) of public in "prod":',
    '  public.payments: 500 rows',
  ]);
});

test('ASSETS_DELETE: =1 needs nothing to delete or the marker; =<path> must be DST_ASSETS_DIR', () => {
  const on = cfg({ assetsDelete: true });
  expect(deleteRefusal(on, { count: 0 }, undefined, undefined)).toBeUndefined();
  expect(deleteRefusal(on, { count: 3 }, undefined, undefined)).toMatch(
    /confirm with ASSETS_DELETE=\/srv\/staging\/\.data/,
  );
  expect(deleteRefusal(on, { count: 3 }, '/srv/staging/.data', undefined)).toBeUndefined();
  expect(
    deleteRefusal(
      cfg({ assetsDelete: true, assetsDeleteConfirm: '/srv/staging/.data' }),
      { count: 3 },
      undefined,
      undefined,
    ),
  ).toBeUndefined();
  expect(
    deleteRefusal(cfg({ assetsDelete: true, assetsDeleteConfirm: '/home/ops' }), { count: 3 }, undefined, undefined),
  ).toMatch(/does not name DST_ASSETS_DIR/);
  expect(deleteRefusal(on, { error: 'rsync --dry-run exited 23' }, undefined, undefined)).toMatch(/could not count/);
});
