/**
 * Large objects, one test: the same OIDs on both sides, each with the same size and md5 (lib/checks/families/large-objects/large-objects.ts).
 */
import { afterAll, test } from 'vitest';
import { closePools, dbErrorMessage } from '../lib/core/db.ts';
import { deepContext, sides, withPinned } from '../lib/checks/shared/deep-context.ts';
import {
  compareLargeObjects,
  largeObjectsEvidence,
  largeObjectsMessage,
  largeObjectsQuery,
  largeObjectsSummaryQuery,
  type LargeObject,
  type LargeObjectsSummary,
} from '../lib/checks/families/large-objects/large-objects.ts';
import { fail, failNotChecked } from '../lib/checks/shared/verdict.ts';

const dc = deepContext();
afterAll(() => closePools());

const name = 'large objects';

if (dc.blocked) {
  test(name, () => failNotChecked(dc.blocked!));
} else if (!dc.cfg!.src) {
  test.skip(`${name} (SRC_DATABASE_URL is not set: nothing to compare the target with)`, () => {});
} else {
  const cfg = dc.cfg!;
  test(name, async ({ expect, annotate }) => {
    const s = sides(cfg);
    const read = async <T extends object>(which: 'src' | 'dst', q: { text: string }): Promise<T[]> => {
      try {
        return await withPinned(
          which === 'src' ? s.src! : s.dst,
          async (c) => (await c.query<T & object>(q.text)).rows,
        );
      } catch (e) {
        fail(
          `${name}: reading them on the ${which === 'src' ? 'source' : 'target'} failed: ${dbErrorMessage(which === 'src' ? cfg.src! : cfg.dst, e)}`,
        );
      }
    };
    const summary = largeObjectsSummaryQuery();
    const [a, b] = await Promise.all([
      read<LargeObjectsSummary>('src', summary),
      read<LargeObjectsSummary>('dst', summary),
    ]);
    await annotate(largeObjectsEvidence(a[0], b[0]), 'evidence');
    if (a[0].n === b[0].n && a[0].bytes === b[0].bytes && a[0].s === b[0].s) return;
    const list = largeObjectsQuery();
    const [src, dst] = await Promise.all([read<LargeObject>('src', list), read<LargeObject>('dst', list)]);
    const r = compareLargeObjects(src, dst);
    await annotate(
      `missing ${r.missing.length}, extra ${r.extra.length}, content differs ${r.changed.length}`,
      'evidence',
    );
    const msg = largeObjectsMessage(r);
    expect(msg === '', msg).toBe(true);
  });
}
