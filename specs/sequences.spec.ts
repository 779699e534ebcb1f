/**
 * Sequences, one test per sequence owned by a column (serial or identity): the target's next value is past every
 * value in the column, and last_value/is_called equal the source's (lib/sequences.ts).
 */
import { afterAll, test } from 'vitest';
import { closePools, dbErrorMessage } from '../lib/core/db.ts';
import { catalogRows, deepContext, sides, withPinned } from '../lib/checks/deep-context.ts';
import { fail, failNotChecked } from '../lib/checks/verdict.ts';
import { displayTable } from '../lib/core/ident.ts';
import {
  OWNED_SEQUENCES_SQL,
  collision,
  nextValue,
  ownedFromRows,
  sequenceStateQuery,
  type OwnedSequence,
  type SequenceState,
} from '../lib/checks/sequences.ts';

const dc = deepContext();
afterAll(() => closePools());

const name = (q: OwnedSequence) => `sequence ${displayTable(q.sequence)} (${displayTable(q.table)}.${q.column})`;

if (dc.blocked) {
  test('sequences (not checked)', () => failNotChecked(dc.blocked!));
} else {
  const cfg = dc.cfg!;
  const s = sides(cfg);
  let subjects: OwnedSequence[] = [];
  let from = s.src ? 'source' : 'target';
  let error: string | undefined;
  try {
    subjects = ownedFromRows(await catalogRows(s.src ?? s.dst, OWNED_SEQUENCES_SQL));
  } catch (e) {
    error = dbErrorMessage(cfg.src ?? cfg.dst, e);
  }
  const planned = dc.ctx.plan?.tables ?? [];
  if (planned.length) {
    const keep = new Set(planned.map(displayTable));
    subjects = subjects.filter((q) => keep.has(displayTable(q.table)));
  }
  if (error) test('sequences (discovery)', () => fail(`could not list the owned sequences of the ${from}: ${error}`));
  if (!error && subjects.length === 0) {
    test.skip(`sequences (none owned by a column of the compared tables in the ${from})`, () => {});
  }
  for (const q of subjects) {
    test.concurrent(name(q), async ({ expect, annotate }) => {
      const sql = sequenceStateQuery(q);
      const read = async (which: 'src' | 'dst'): Promise<SequenceState> => {
        try {
          return await withPinned(
            which === 'src' ? s.src! : s.dst,
            async (c) => (await c.query<SequenceState>(sql.text, sql.values)).rows[0],
          );
        } catch (e) {
          fail(
            `${name(q)}: reading it on the ${which === 'src' ? 'source' : 'target'} failed: ${dbErrorMessage(which === 'src' ? cfg.src! : cfg.dst, e)}`,
          );
        }
      };
      const [src, dst] = await Promise.all([s.src ? read('src') : Promise.resolve(undefined), read('dst')]);
      const show = (x: SequenceState) =>
        `last_value ${x.last_value}, is_called ${x.is_called}, next ${nextValue(x)}, column max ${x.max_value ?? 'NULL'}`;
      await annotate(
        `${q.kind}; target: ${show(dst)}${src ? `; source: ${show(src)}` : '; no source: not compared'}`,
        'evidence',
      );
      const problems: string[] = [];
      const c = collision(dst);
      if (c)
        problems.push(
          `on the target the ${c}: the next insert into ${displayTable(q.table)} collides (setval it past the column's values)`,
        );
      if (src && (src.last_value !== dst.last_value || src.is_called !== dst.is_called)) {
        problems.push(
          `target last_value ${dst.last_value} (is_called ${dst.is_called}) differs from the source's ${src.last_value} (is_called ${src.is_called})`,
        );
      }
      expect(problems.length === 0, `${name(q)}: ${problems.join('; ')}`).toBe(true);
    });
  }
}
