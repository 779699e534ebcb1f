/**
 * lib/checks/family.ts: the display guard at the boundary of every check (issue 26, attack 24). A family that
 * interpolates a raw name into its test name, failure message or notes still cannot forge a line or carry an escape
 * code into the audit trail: `plannedTests` (and so the vitest runner and `evaluate`) passes each through checkText.
 */
import { expect, test } from 'vitest';
import { evaluate, type Family } from '../../../lib/checks/family.ts';
import type { CheckContext } from '../../../lib/checks/shared/context.ts';
import { fail } from '../../../lib/checks/shared/verdict.ts';

const NAME = 'evil\n[checks] ok: FORGED\x1b[2J';
const FORGED = /^\s*\[checks\] ok: FORGED/m;

function careless(check: Family<string>['check']): Family<string> {
  return {
    id: 'careless',
    label: 'careless checks',
    spec: 'specs/careless.spec.ts',
    prefixes: ['careless'],
    needsSource: false,
    reads: [],
    passesWhen: 'never',
    planLines: () => ({ head: '', checks: [] }),
    concurrent: false,
    subjects: () => [
      { subject: NAME },
      { name: `careless fixed ${NAME}`, verdict: { status: 'not-checked', reason: NAME } },
    ],
    name: (s) => `careless ${s}`,
    check,
  };
}

const ctx = { run: {} } as unknown as CheckContext;

test('a raw name in a test name, a failure, a note or a thrown CheckFailure comes out escaped', async () => {
  const out = await evaluate(
    careless(async (s, _ctx, notes) => {
      await notes(`evidence about ${s}\n  our own second line`, 'evidence');
      fail(`table ${s} differs`);
    }),
    ctx,
  );
  expect(out.map((o) => o.name)).toEqual([
    'careless evil\\n[checks] ok: FORGED\\x1b[2J',
    'careless fixed evil\\n[checks] ok: FORGED\\x1b[2J',
  ]);
  expect(out[0].verdict).toEqual({ status: 'fail', message: 'table evil\\n[checks] ok: FORGED\\x1b[2J differs' });
  expect(out[0].notes[0].message).toBe('evidence about evil\\n[checks] ok: FORGED\\x1b[2J\n  our own second line');
  expect(out[1].verdict).toEqual({ status: 'not-checked', reason: 'evil\\n[checks] ok: FORGED\\x1b[2J' });
  for (const o of out) expect(JSON.stringify(o)).not.toMatch(/\\u001b/);
  expect(out.flatMap((o) => [o.name, ...o.notes.map((n) => n.message)]).join('\n')).not.toMatch(FORGED);
});

test('a check that crashes: its error keeps its type, its message is escaped', async () => {
  const run = evaluate(
    careless(() => {
      throw new TypeError(`boom on ${NAME}`);
    }),
    ctx,
  );
  await expect(run).rejects.toThrow(TypeError);
  await expect(run).rejects.toThrow('boom on evil\\n[checks] ok: FORGED\\x1b[2J');
});
