import { expect, test } from 'vitest';
import { migrateByHand, scenario } from '../helpers/scenario.ts';

test('migrateByHand copies the fixture (helper for check tests)', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const a = await s.src.query('SELECT count(*)::int AS n FROM gallery_items');
  const b = await s.dst.query('SELECT count(*)::int AS n FROM gallery_items');
  expect(b.rows[0].n).toBe(a.rows[0].n);
});
