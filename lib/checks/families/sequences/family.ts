/**
 * Sequences, one test per sequence owned by a column (serial or identity) and one per sequence owned by no column:
 * the target's next value is past every value in the column(s) it feeds, and last_value/is_called equal the source's
 * (./sequences.ts).
 */
import { dbErrorMessage } from '../../../core/db.ts';
import { displayTable } from '../../../core/ident.ts';
import type { Query } from '../../../core/query.ts';
import { failed, type Entry, type Family } from '../../family.ts';
import { configOf, type CheckContext } from '../../shared/context.ts';
import { catalogRows, sides, withPinned } from '../../shared/deep-context.ts';
import { fail, warn } from '../../shared/verdict.ts';
import {
  OWNED_SEQUENCES_SQL,
  UNOWNED_SEQUENCES_SQL,
  judgeSequence,
  nextValue,
  ownedFromRows,
  sequenceStateQuery,
  unownedFromRows,
  unownedStateQuery,
  type OwnedSequence,
  type SequenceState,
} from './sequences.ts';

/** One compared sequence: its test name, what it feeds (for messages), and the query reading its state. */
export interface SequenceSubject {
  name: string;
  kind: string;
  feeds: string;
  query: Query;
}

/** The test name of a sequence owned by a column. */
export const ownedName = (q: OwnedSequence) =>
  `sequence ${displayTable(q.sequence)} (${displayTable(q.table)}.${q.column})`;

async function subjects(ctx: CheckContext): Promise<Array<Entry<SequenceSubject>>> {
  if (ctx.blocked)
    return [{ name: 'sequences (not checked)', verdict: { status: 'not-checked', reason: ctx.blocked } }];
  const cfg = configOf(ctx);
  const s = sides(cfg);
  const from = s.src ? 'source' : 'target';
  let owned: OwnedSequence[];
  let unowned: SequenceSubject[];
  try {
    owned = ownedFromRows(await catalogRows(s.src ?? s.dst, OWNED_SEQUENCES_SQL));
    unowned = unownedFromRows(await catalogRows(s.src ?? s.dst, UNOWNED_SEQUENCES_SQL)).map((u) => ({
      name: `sequence ${displayTable(u.sequence)} (owned by no column)`,
      kind: 'owned by no column',
      feeds: u.users.length
        ? `the default of ${u.users.map((x) => `${displayTable(x.table)}.${x.column}`).join(', ')}`
        : 'no column default (only called by the application)',
      query: unownedStateQuery(u),
    }));
  } catch (e) {
    const error = dbErrorMessage(cfg.src ?? cfg.dst, e);
    return [
      { name: 'sequences (discovery)', verdict: failed(`could not list the owned sequences of the ${from}: ${error}`) },
    ];
  }
  const planned = ctx.run.plan?.tables ?? [];
  if (planned.length) {
    const keep = new Set(planned.map(displayTable));
    owned = owned.filter((q) => keep.has(displayTable(q.table)));
  }
  if (owned.length === 0 && unowned.length === 0)
    return [{ skip: `sequences (none in the compared tables of the ${from})` }];
  const all = [
    ...owned.map((q) => ({
      name: ownedName(q),
      kind: q.kind,
      feeds: `${displayTable(q.table)}.${q.column}`,
      query: sequenceStateQuery(q),
    })),
    ...unowned,
  ];
  return all.map((subject) => ({ subject }));
}

export const sequences: Family<SequenceSubject> = {
  id: 'sequences',
  label: 'sequences',
  spec: 'specs/sequences.spec.ts',
  prefixes: ['sequence', 'sequences'],
  needsSource: false,
  reads: ['PREEXISTING_DEFECTS_FAIL'],
  passesWhen:
    "the next value equals the source's and no nextval() reaches a value the column holds; a collision the source has too warns",
  planLines: ({ config }) => ({
    head: `one per sequence owned by a column of the compared tables (read from the ${config.src ? 'source' : 'target'} catalog when the checks run)`,
    checks: ['(sequence <schema.sequence> (<schema.table>.<column>); exact names: rehearse --list)'],
  }),
  concurrent: true,
  subjects,
  name: (q) => q.name,
  async check(q, ctx, notes) {
    const cfg = configOf(ctx);
    const s = sides(cfg);
    const read = async (which: 'src' | 'dst'): Promise<SequenceState> => {
      try {
        return await withPinned(
          which === 'src' ? s.src! : s.dst,
          async (c) => (await c.query<SequenceState>(q.query.text, q.query.values)).rows[0],
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
    await notes(
      `${q.kind}, feeds ${q.feeds}; target: ${show(dst)}${src ? `; source: ${show(src)}` : '; no source: not compared'}`,
      'evidence',
    );
    const j = judgeSequence(q.name, q.feeds, src, dst, { preexistingDefectsFail: cfg.preexistingDefectsFail });
    for (const line of j.evidence) await notes(line, 'evidence');
    if (j.warning) await warn(notes, j.warning);
    if (j.failure) return failed(j.failure);
  },
};
