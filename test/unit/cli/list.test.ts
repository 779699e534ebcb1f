import { expect, test } from 'vitest';
import { groupByFamily, listLines } from '../../../lib/cli/list.ts';
import { FAMILIES } from '../../../lib/checks/registry.ts';

const checks = [
  { name: 'phase preflight', file: 'specs/phases.spec.ts' },
  { name: 'check discovery', file: 'specs/phases.spec.ts' },
  { name: 'row count public.users', file: 'specs/row-counts.spec.ts' },
  { name: 'asset census ugc_assets.storage_path', file: 'specs/asset-census.spec.ts' },
  { name: 'asset ugc_assets.storage_path /app/.data/ugc/1/a.jpg', file: 'specs/assets.spec.ts' },
  { name: 'something else', file: 'specs/new.spec.ts' },
];

test('groupByFamily: every family in registry order, each check under the family its name belongs to', () => {
  const { families, unclaimed } = groupByFamily(checks);
  expect(families.map((f) => f.family.id)).toEqual(FAMILIES.map((f) => f.id));
  const of = (id: string) => families.find((f) => f.family.id === id)!.checks;
  expect(of('phases')).toEqual(['phase preflight', 'check discovery']);
  expect(of('asset-census')).toEqual(['asset census ugc_assets.storage_path']);
  expect(of('assets')).toEqual(['asset ugc_assets.storage_path /app/.data/ugc/1/a.jpg']);
  expect(of('health')).toEqual([]);
  expect(unclaimed).toEqual([{ name: 'something else', file: 'specs/new.spec.ts' }]);
});

test('listLines: a header per family with its count, checks indented two spaces, unclaimed ones last', () => {
  const lines = listLines(checks);
  expect(lines[0]).toMatch(/^Checks a full run would run \(6,/);
  expect(lines.slice(1, 3).join(' ')).toMatch(/read from the source \(and target\) at run time/);
  expect(lines).toContain('row counts [row-counts] specs/row-counts.spec.ts: 1');
  expect(lines).toContain('  row count public.users');
  expect(lines).toContain('health probe [health] specs/health.spec.ts: 0');
  expect(lines.slice(-2)).toEqual(['checks of no registered family: 1', '  something else   (specs/new.spec.ts)']);
});
