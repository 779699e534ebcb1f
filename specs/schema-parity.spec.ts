/**
 * Schema parity, one test per object kind: source vs target by name (missing / extra / different), plus the states a
 * restore can leave wrong on the target (lib/checks/schema-parity.ts); and `schema coverage`, the archive's object
 * types each mapped to the check that compares them (lib/checks/coverage.ts).
 */
import { afterAll, test } from 'vitest';
import { closePools, dbErrorMessage } from '../lib/core/db.ts';
import { catalogRows, deepContext, sides } from '../lib/checks/deep-context.ts';
import { fail, failNotChecked } from '../lib/checks/verdict.ts';
import { KINDS, compareObjects, parityMessage, type SchemaObject } from '../lib/checks/schema-parity.ts';
import { coverageOf } from '../lib/checks/coverage.ts';
import { warn } from '../lib/checks/verdict.ts';
import { compareSchemaDumps, serverMajors, type DumpParity } from '../lib/checks/families/schema-parity/dump-schema.ts';
import { dumpParityMessage } from '../lib/checks/families/schema-parity/dump-diff.ts';

const dc = deepContext();
afterAll(() => closePools());

// Both sides rendered once by pg_dump --schema-only (one client for both majors), shared by every kind's test.
let dumps: Promise<DumpParity | string> | undefined;
const dumpParity = (cfg: NonNullable<typeof dc.cfg>): Promise<DumpParity | string> => {
  const s = sides(cfg);
  const major = (p: NonNullable<typeof s.src>) => serverMajors((sql) => catalogRows<{ v: number }>(p, sql));
  return (dumps ??= Promise.all([major(s.src!), major(s.dst)]).then(([src, dst]) =>
    compareSchemaDumps(cfg.src!, cfg.dst, { src, dst }, cfg),
  ));
};

for (const spec of KINDS) {
  const name = `schema ${spec.kind}`;
  if (dc.blocked) {
    test(name, () => failNotChecked(dc.blocked!));
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
    let rendered = '';
    if (cfg.src) {
      const p = await dumpParity(cfg).catch((e: Error) => fail(`${name}: dumping the schema failed: ${e.message}`));
      if (typeof p === 'string') await warn(annotate, `not compared as pg_dump renders it: ${p}`);
      else {
        await annotate(p.evidence, 'evidence');
        rendered = dumpParityMessage(p.diffs.filter((d) => d.kind === spec.kind));
      }
    }
    const diff = [parityMessage(spec.kind, r), rendered]
      .filter(Boolean)
      .join('; ')
      .replace(/^(?!schema )(?=.)/, `schema ${spec.kind}: `);
    const msg = diff && spec.hint ? `${diff}; ${spec.hint}` : diff;
    expect(msg === '', msg).toBe(true);
  });
}

// The archive's TOC as the checklist: every object type the dump holds is compared by a named check, or is listed
// here, as a warning, as compared by none (lib/checks/coverage.ts; docs/checks.md).
const coverage = 'schema coverage';
const toc = dc.ctx.toc;
if (!toc) {
  test.skip(`${coverage} (no archive in this run: nothing to read object types from)`, () => {});
} else {
  test(coverage, async ({ annotate }) => {
    const r = coverageOf(toc);
    await annotate(
      `archive entry types: ${r.covered.map((c) => `${c.type} (${c.entries}) by ${c.check}`).join('; ') || 'none covered'}`,
      'evidence',
    );
    if (r.uncovered.length)
      await warn(
        annotate,
        `in the archive but compared by no check: ${r.uncovered.map((u) => `${u.type} (${u.entries}: ${u.note})`).join('; ')}`,
      );
    if (r.unknown.length)
      await warn(
        annotate,
        `in the archive with a type no check knows (not compared): ${r.unknown.map((u) => `${u.type} (${u.entries})`).join('; ')}`,
      );
  });
}
