/**
 * The sequence rule (collision point, pre-existing source state), without a database.
 */
import { describe, expect, test } from 'vitest';
import {
  collision,
  judgeSequence,
  sequenceStateQuery,
  type SequenceState,
} from '../../../../../lib/checks/families/sequences/sequences.ts';

const NAME = 'sequence public.orders_id_seq (public.orders.id)';
const FEEDS = 'public.orders.id';
const state = (last: number, collidesAt: number | null, o: Partial<SequenceState> = {}): SequenceState => ({
  last_value: String(last),
  is_called: true,
  increment: '1',
  max_value: '1000',
  min_value: '1',
  collides_at: collidesAt === null ? null : String(collidesAt),
  ...o,
});
const rules = { preexistingDefectsFail: false };

describe('collision', () => {
  test('none when nextval() reaches no existing value, even below max(column)', () => {
    expect(collision(state(1000, null))).toBeUndefined();
    expect(collision(state(40, null))).toBeUndefined();
  });

  test('the very next value exists: the next insert collides', () => {
    const c = collision(state(1, 2))!;
    expect(c.calls).toBe(1n);
    expect(c.text).toBe('next value 2 <= max(column) 1000 and already in the column: the next insert collides');
  });

  test('a legacy id far above the sequence: the number of calls until the collision', () => {
    const c = collision(state(40, 1000))!;
    expect(c).toMatchObject({ next: 41n, at: 1000n, calls: 960n });
    expect(c.text).toMatch(/nextval\(\) reaches the existing value 1000 after 959 more calls, so insert number 960/);
  });

  test('increment and is_called are honoured; descending sequences use min(column)', () => {
    expect(collision(state(10, 30, { increment: '10' }))!.calls).toBe(2n); // 20, 30
    expect(collision(state(10, 10, { is_called: false }))!.calls).toBe(1n);
    const d = collision(state(-5, -10, { increment: '-1', min_value: '-10' }))!;
    expect(d.calls).toBe(5n); // -6 .. -10
    expect(d.text).toMatch(/next value -6 >= min\(column\) -10/);
  });
});

describe('judgeSequence', () => {
  test('a collision the source has with the same state is a pre-existing defect: a warning with both values', () => {
    const j = judgeSequence(NAME, FEEDS, state(40, 1000), state(40, 1000), rules);
    expect(j.failure).toBeUndefined();
    expect(j.warning).toMatch(/^sequence public\.orders_id_seq \(public\.orders\.id\): already in the source: /);
    expect(j.warning).toMatch(/source last_value 40 \(is_called true\), target last_value 40 \(is_called true\)/);
    expect(j.warning).toMatch(/the source has the same state/);
    expect(j.warning).toMatch(/after 959 more calls/);
  });

  test('PREEXISTING_DEFECTS_FAIL=1 makes the pre-existing collision fail', () => {
    const j = judgeSequence(NAME, FEEDS, state(40, 1000), state(40, 1000), { preexistingDefectsFail: true });
    expect(j.warning).toBeUndefined();
    expect(j.failure).toMatch(
      /already in the source: .*the source has the same state.*\(PREEXISTING_DEFECTS_FAIL=1\)$/,
    );
  });

  test('a target set back behind the source stays red (copy-induced), naming both values', () => {
    const j = judgeSequence(NAME, FEEDS, state(1000, null), state(1, 2), rules);
    expect(j.warning).toBeUndefined();
    expect(j.failure).toMatch(/on the target the next value 2 <= max\(column\) 1000 and already in the column/);
    expect(j.failure).toMatch(/target last_value 1 \(is_called true\) differs from the source's 1000/);
  });

  test('a source defect plus a target moved elsewhere is red (the states differ)', () => {
    const j = judgeSequence(NAME, FEEDS, state(40, 1000), state(30, 1000), rules);
    expect(j.failure).toMatch(/on the target the next value 31/);
    expect(j.failure).toMatch(/differs from the source's 40/);
  });

  test('equal state, no collision: pass without a warning', () => {
    expect(judgeSequence(NAME, FEEDS, state(1000, null), state(1000, null), rules)).toEqual({ evidence: [] });
  });
});

test('the state query computes the first colliding value on the sequence path, index-friendly', () => {
  const q = sequenceStateQuery({
    sequence: { schema: 'public', name: 'orders_id_seq' },
    table: { schema: 'public', name: 'orders' },
    column: 'id',
    kind: 'identity',
  });
  expect(q.text).toMatch(
    /min\("?id"?\) FROM "?public"?\."?orders"? WHERE "?id"? >= LEAST\(x\.next, 9223372036854775807\)::int8/,
  );
  expect(q.text).toMatch(/% ps\.seqincrement = 0/);
  expect(q.values).toEqual(['"public"."orders_id_seq"']);
});
