/**
 * Large objects, one test: the same OIDs on both sides, each with the same size and md5 (./large-objects.ts).
 */
import { dbErrorMessage } from '../../../core/db.ts';
import { failed, type Entry, type Family } from '../../family.ts';
import { configOf, type CheckContext } from '../../shared/context.ts';
import { sides, withPinned } from '../../shared/deep-context.ts';
import { NO_SOURCE } from '../../shared/plan-notes.ts';
import { fail } from '../../shared/verdict.ts';
import {
  compareLargeObjects,
  largeObjectsEvidence,
  largeObjectsMessage,
  largeObjectsQuery,
  largeObjectsSummaryQuery,
  type LargeObject,
  type LargeObjectsSummary,
} from './large-objects.ts';

const NAME = 'large objects';

function subjects(ctx: CheckContext): Array<Entry<'all'>> {
  if (!ctx.blocked && !ctx.config?.src)
    return [{ skip: NAME, reason: 'SRC_DATABASE_URL is not set: nothing to compare the target with' }];
  return [{ subject: 'all' }];
}

export const largeObjects: Family<'all'> = {
  id: 'large-objects',
  label: 'large objects',
  spec: 'specs/large-objects.spec.ts',
  prefixes: ['large objects'],
  needsSource: true,
  reads: [],
  passesWhen: 'the same large objects (by OID) on both sides, each with the same size and md5',
  planLines: ({ config }) =>
    config.src
      ? {
          head: 'one check of every large object (OID, size, md5), source vs target',
          checks: [largeObjects.name('all')],
        }
      : { head: NO_SOURCE, checks: [] },
  concurrent: false,
  subjects,
  name: () => NAME,
  async check(_all, ctx, notes) {
    const cfg = configOf(ctx);
    const s = sides(cfg);
    const read = async <T extends object>(which: 'src' | 'dst', q: { text: string }): Promise<T[]> => {
      try {
        return await withPinned(
          which === 'src' ? s.src! : s.dst,
          async (c) => (await c.query<T & object>(q.text)).rows,
        );
      } catch (e) {
        fail(
          `${NAME}: reading them on the ${which === 'src' ? 'source' : 'target'} failed: ${dbErrorMessage(which === 'src' ? cfg.src! : cfg.dst, e)}`,
        );
      }
    };
    const summary = largeObjectsSummaryQuery();
    const [a, b] = await Promise.all([
      read<LargeObjectsSummary>('src', summary),
      read<LargeObjectsSummary>('dst', summary),
    ]);
    await notes(largeObjectsEvidence(a[0], b[0]), 'evidence');
    if (a[0].n === b[0].n && a[0].bytes === b[0].bytes && a[0].s === b[0].s) return;
    const list = largeObjectsQuery();
    const [src, dst] = await Promise.all([read<LargeObject>('src', list), read<LargeObject>('dst', list)]);
    const r = compareLargeObjects(src, dst);
    await notes(
      `missing ${r.missing.length}, extra ${r.extra.length}, content differs ${r.changed.length}`,
      'evidence',
    );
    const msg = largeObjectsMessage(r);
    if (msg) return failed(msg);
  },
};
