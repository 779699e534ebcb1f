/** Pure rules of the destructive-step guards (lib/phases/guards.ts). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
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

test('ASSETS_DELETE=<path> is compared as a real path: trailing slash, ./.. and a symlink name the same directory', () => {
  const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'guards-unit-')));
  onTestFinished(() => fs.rmSync(d, { recursive: true, force: true }));
  const data = path.join(d, 'staging', '.data');
  fs.mkdirSync(data, { recursive: true });
  fs.symlinkSync(path.join(d, 'staging'), path.join(d, 'link'));
  const confirm = (c: string, dir = data) =>
    deleteRefusal(
      cfg({ dstAssetsDir: dir, assetsDelete: true, assetsDeleteConfirm: c }),
      { count: 3 },
      undefined,
      undefined,
    );
  expect(confirm(data + '/')).toBeUndefined();
  expect(confirm(path.join(d, 'staging', 'x', '..', '.data').replace('/x/../', '/./x/../'))).toBeUndefined();
  expect(confirm(path.join(d, 'link', '.data'))).toBeUndefined();
  expect(confirm(data, path.join(d, 'link', '.data'))).toBeUndefined();
  expect(confirm(path.join(d, 'link'))).toMatch(
    /^ASSETS_DELETE="\S+\/link" \(which leads to \S+\/staging\) does not name/,
  );
  // Another directory is still refused, with the value as the operator wrote it.
  expect(confirm(path.join(d, 'staging') + '/')).toBe(
    `ASSETS_DELETE="${d}/staging/" does not name DST_ASSETS_DIR (${data}); to confirm, set ASSETS_DELETE=${data}`,
  );
});
