/**
 * rw05: a sequence owned by no column, used by a DEFAULT. After a green rehearsal, `setval('order_no_seq', 1)` on the
 * target: `--verify-only` is red naming the sequence (the next insert would collide).
 */
import { expect, test } from 'vitest';
import { afterTheCopy, verifyInProcess } from '../../helpers/cases.ts';
import { bodyOf, describe, failedNames } from '../../helpers/family.ts';

const NAME = 'sequence public.order_no_seq (owned by no column)';

test('rw05 unowned sequence: setval back to 1 is red naming the sequence and the collision', async () => {
  const { s } = await afterTheCopy('rw05-unowned-sequence.sql', [NAME]);
  await s.dst.query(`SELECT setval('order_no_seq', 1)`);
  const r = await verifyInProcess(s);
  expect(failedNames(r), describe(r)).toEqual([NAME]);
  const body = bodyOf(r, NAME);
  expect(body).toMatch(/next value 2 <= max\(column\) 100/);
  expect(body).toMatch(/the default of public\.orders\.order_no/);
  expect(body).toMatch(/last_value 1 \(is_called true\) differs from the source's 100/);
});
