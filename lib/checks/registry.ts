/**
 * The check families, in run order: the single list that `--dry-run`, `--list`, `--select`/`--exclude`, the bench,
 * the demo faults, JUnit's classname and the docs' check-name table are read from. Each family is one folder,
 * `lib/checks/families/<id>/` (its `family.ts`: metadata, subjects, test names, judge), registered by
 * `specs/<id>.spec.ts` (`await registerFamily('<id>')`). A unit test (test/unit/checks/registry.test.ts) fails when
 * `specs/`, this list, the families' names and docs/checks.md / docs/architecture.md disagree.
 *
 * Adding a family: its folder, one line here, its spec (one line), its tests, a row in the docs.
 */
import type { AnyFamily, CheckFamily } from './family.ts';
import { phases } from './families/phases/family.ts';
import { rowCounts } from './families/row-counts/family.ts';
import { orphans } from './families/orphans/family.ts';
import { assets } from './families/assets/family.ts';
import { pathPrefix } from './families/path-prefix/family.ts';
import { health } from './families/health/family.ts';
import { checksums } from './families/checksums/family.ts';
import { schemaParity } from './families/schema-parity/family.ts';
import { sequences } from './families/sequences/family.ts';
import { pgvector } from './families/pgvector/family.ts';
import { largeObjects } from './families/large-objects/family.ts';
import { assetCensus } from './families/asset-census/family.ts';
import { isolation } from './families/isolation/family.ts';

export type { CheckFamily, PlanInput, PlanLines } from './family.ts';

export const FAMILIES: readonly AnyFamily[] = [
  phases,
  rowCounts,
  orphans,
  assets,
  pathPrefix,
  health,
  checksums,
  schemaParity,
  sequences,
  pgvector,
  largeObjects,
  assetCensus,
  isolation,
];

/** The family a test name belongs to (longest matching prefix), or undefined for a name no family claims. */
export function familyOfTest(name: string): AnyFamily | undefined {
  let best: { f: AnyFamily; len: number } | undefined;
  for (const f of FAMILIES) {
    for (const p of f.prefixes) {
      if ((name === p || name.startsWith(p + ' ')) && (!best || p.length > best.len)) best = { f, len: p.length };
    }
  }
  return best?.f;
}

/** The family with this id; throws a message listing the known ids for an unknown one. */
export function familyById(id: string): AnyFamily {
  const f = FAMILIES.find((x) => x.id === id);
  if (!f) throw new Error(`unknown check family "${id}"; known: ${FAMILIES.map((x) => x.id).join(', ')}`);
  return f;
}
