/**
 * Large objects, one test: the same OIDs on both sides, each with the same size and md5 (lib/checks/large-objects.ts).
 */
import { afterAll, test } from 'vitest';
import { closePools, dbErrorMessage } from '../lib/core/db.ts';
import { deepContext, fail, sides, withPinned } from '../lib/checks/deep-context.ts';
import {
  compareLargeObjects,
  largeObjectsMessage,
  largeObjectsQuery,
  type LargeObject,
} from '../lib/checks/large-objects.ts';
import { notChecked } from '../lib/checks/verdict.ts';

const dc = deepContext();
afterAll(() => closePools());

const name = 'large objects';

if (dc.blocked) {
  test(name, () => fail(notChecked(dc.blocked!)));
} else if (!dc.cfg!.src) {
  test.skip(`${name} (SRC_DATABASE_URL is not set: nothing to compare the target with)`, () => {});
} else {
  const cfg = dc.cfg!;
  test(name, async ({ expect, annotate }) => {
    const s = sides(cfg);
    const q = largeObjectsQuery();
    const read = async (which: 'src' | 'dst'): Promise<LargeObject[]> => {
      try {
        return await withPinned(
          which === 'src' ? s.src! : s.dst,
          async (c) => (await c.query<LargeObject>(q.text)).rows,
        );
      } catch (e) {
        fail(
          `${name}: reading them on the ${which === 'src' ? 'source' : 'target'} failed: ${dbErrorMessage(which === 'src' ? cfg.src! : cfg.dst, e)}`,
        );
      }
    };
    const [src, dst] = await Promise.all([read('src'), read('dst')]);
    const r = compareLargeObjects(src, dst);
    await annotate(
      `source ${r.source}, target ${r.target}; missing ${r.missing.length}, extra ${r.extra.length}, content differs ${r.changed.length} (size + md5 of each object, computed in PostgreSQL)`,
      'evidence',
    );
    const msg = largeObjectsMessage(r);
    expect(msg === '', msg).toBe(true);
  });
}
