/**
 * Schema parity, one test per object kind: source vs target by name (missing / extra / different), plus the states a
 * restore can leave wrong on the target (lib/schema-parity.ts).
 */
import { afterAll, test } from 'vitest';
import { closePools, dbErrorMessage } from '../lib/core/db.ts';
import { catalogRows, deepContext, fail, sides } from '../lib/checks/deep-context.ts';
import { KINDS, compareObjects, parityMessage, type SchemaObject } from '../lib/checks/schema-parity.ts';

const dc = deepContext();
afterAll(() => closePools());

for (const spec of KINDS) {
  const name = `schema ${spec.kind}`;
  if (dc.blocked) {
    test(name, () => fail(`not checked: ${dc.blocked}`));
    continue;
  }
  const cfg = dc.cfg!;
  if (!cfg.src && !spec.stateProblem) {
    test.skip(`${name} (SRC_DATABASE_URL is not set: nothing to compare the target with)`, () => {});
    continue;
  }
  test.concurrent(name, async ({ expect, annotate }) => {
    const s = sides(cfg);
    const read = async (which: 'src' | 'dst') => {
      try {
        return await catalogRows<SchemaObject>(which === 'src' ? s.src! : s.dst, spec.sql);
      } catch (e) {
        fail(
          `${name}: reading the ${which === 'src' ? 'source' : 'target'} catalog failed: ${dbErrorMessage(which === 'src' ? cfg.src! : cfg.dst, e)}`,
        );
      }
    };
    const [src, dst] = await Promise.all([s.src ? read('src') : Promise.resolve(undefined), read('dst')]);
    const r = compareObjects(spec, dst, src, { extensionVersionsEqual: cfg.extensionVersionsEqual });
    await annotate(
      `${spec.kind}: source ${src ? src.length : '(not configured: not compared)'}, target ${dst.length}; ` +
        `missing ${r.missing.length}, extra ${r.extra.length}, different ${r.different.length}, state problems ${r.states.length}`,
      'evidence',
    );
    for (const a of r.accepted) await annotate(a, 'evidence');
    const msg = parityMessage(spec.kind, r);
    expect(msg === '', msg).toBe(true);
  });
}
