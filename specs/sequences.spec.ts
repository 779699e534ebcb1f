/**
 * Sequences, one test per sequence owned by a column (serial or identity) and one per sequence owned by no column:
 * the target's next value is past every value in the column(s) it feeds, and last_value/is_called equal the source's
 * (lib/checks/families/sequences/sequences.ts).
 */
import { afterAll, test } from 'vitest';
import { closePools, dbErrorMessage } from '../lib/core/db.ts';
import { catalogRows, deepContext, sides, withPinned } from '../lib/checks/shared/deep-context.ts';
import { fail, failNotChecked } from '../lib/checks/shared/verdict.ts';
import { displayTable } from '../lib/core/ident.ts';
import type { Query } from '../lib/core/query.ts';
import {
  OWNED_SEQUENCES_SQL,
  collision,
  nextValue,
  ownedFromRows,
  sequenceStateQuery,
  UNOWNED_SEQUENCES_SQL,
  unownedFromRows,
  unownedStateQuery,
  type OwnedSequence,
  type SequenceState,
} from '../lib/checks/families/sequences/sequences.ts';

const dc = deepContext();
afterAll(() => closePools());

const name = (q: OwnedSequence) => `sequence ${displayTable(q.sequence)} (${displayTable(q.table)}.${q.column})`;

/** One compared sequence: its test name, what it feeds (for messages), and the query reading its state. */
interface Subject {
  name: string;
  kind: string;
  feeds: string;
  query: Query;
}

if (dc.blocked) {
  test('sequences (not checked)', () => failNotChecked(dc.blocked!));
} else {
  const cfg = dc.cfg!;
  const s = sides(cfg);
  let subjects: OwnedSequence[] = [];
  let from = s.src ? 'source' : 'target';
  let error: string | undefined;
  let unowned: Subject[] = [];
  try {
    subjects = ownedFromRows(await catalogRows(s.src ?? s.dst, OWNED_SEQUENCES_SQL));
    unowned = unownedFromRows(await catalogRows(s.src ?? s.dst, UNOWNED_SEQUENCES_SQL)).map((u) => ({
      name: `sequence ${displayTable(u.sequence)} (owned by no column)`,
      kind: 'owned by no column',
      feeds: u.users.length
        ? `the default of ${u.users.map((x) => `${displayTable(x.table)}.${x.column}`).join(', ')}`
        : 'no column default (only called by the application)',
      query: unownedStateQuery(u),
    }));
  } catch (e) {
    error = dbErrorMessage(cfg.src ?? cfg.dst, e);
  }
  const planned = dc.ctx.plan?.tables ?? [];
  if (planned.length) {
    const keep = new Set(planned.map(displayTable));
    subjects = subjects.filter((q) => keep.has(displayTable(q.table)));
  }
  if (error) test('sequences (discovery)', () => fail(`could not list the owned sequences of the ${from}: ${error}`));
  if (!error && subjects.length === 0 && unowned.length === 0) {
    test.skip(`sequences (none in the compared tables of the ${from})`, () => {});
  }
  const all: Subject[] = [
    ...subjects.map((q) => ({
      name: name(q),
      kind: q.kind,
      feeds: `${displayTable(q.table)}.${q.column}`,
      query: sequenceStateQuery(q),
    })),
    ...unowned,
  ];
  for (const q of all) {
    test.concurrent(q.name, async ({ expect, annotate }) => {
      const sql = q.query;
      const read = async (which: 'src' | 'dst'): Promise<SequenceState> => {
        try {
          return await withPinned(
            which === 'src' ? s.src! : s.dst,
            async (c) => (await c.query<SequenceState>(sql.text, sql.values)).rows[0],
          );
        } catch (e) {
          fail(
            `${q.name}: reading it on the ${which === 'src' ? 'source' : 'target'} failed: ${dbErrorMessage(which === 'src' ? cfg.src! : cfg.dst, e)}`,
          );
        }
      };
      const [src, dst] = await Promise.all([s.src ? read('src') : Promise.resolve(undefined), read('dst')]);
      const show = (x: SequenceState) =>
        `last_value ${x.last_value}, is_called ${x.is_called}, next ${nextValue(x)}, column max ${x.max_value ?? 'NULL'}`;
      await annotate(
        `${q.kind}, feeds ${q.feeds}; target: ${show(dst)}${src ? `; source: ${show(src)}` : '; no source: not compared'}`,
        'evidence',
      );
      const problems: string[] = [];
      const c = collision(dst);
      if (c)
        problems.push(
          `on the target the ${c}: the next insert using it (${q.feeds}) collides (setval it past the column's values)`,
        );
      if (src && (src.last_value !== dst.last_value || src.is_called !== dst.is_called)) {
        problems.push(
          `target last_value ${dst.last_value} (is_called ${dst.is_called}) differs from the source's ${src.last_value} (is_called ${src.is_called})`,
        );
      }
      expect(problems.length === 0, `${q.name}: ${problems.join('; ')}`).toBe(true);
    });
  }
}
