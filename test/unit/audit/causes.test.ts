/**
 * One cause, one red (issue 27 item 5): the grouping of failures by the culprit key the families already name (the
 * table, the stored file path, a failed copy phase), and the one tally that counts causes.
 */
import { describe, expect, test } from 'vitest';
import { consequencesByCause, culpritsOf, groupByCause, markConsequences, qualify } from '../../../lib/audit/causes.ts';
import type { CheckRecord } from '../../../lib/audit/reporter.ts';
import { failedText, failingTests, tally } from '../../../lib/audit/totals.ts';

const rec = (name: string, family: string, error?: string, state: CheckRecord['state'] = 'failed'): CheckRecord => ({
  file: `specs/${family}.spec.ts`,
  name,
  fullName: name,
  state,
  family,
  errors: error ? [error] : [],
  annotations: [],
});

const FILE = '/app/.data/ugc/7/lost.png';
// What the demo's `--break missing-file` makes fail (messages as the families write them), in spec-file order.
const missingFile = () => [
  rec(
    'asset census sampled files size and sha256 (source = target)',
    'asset-census',
    `asset census sampled files size and sha256 (source = target): ${FILE}: missing on the target`,
  ),
  rec(
    'asset census ugc_assets.storage_path',
    'asset-census',
    `asset census ugc_assets.storage_path: 1 of 40 paths do not resolve under /srv/dst: ${FILE} (expected a file, found nothing (missing))`,
  ),
  rec(`asset ugc_assets.storage_path ${FILE}`, 'assets', `asset ugc_assets.storage_path ${FILE}: no such file`),
  rec('row count public.users', 'row-counts', undefined, 'passed'),
];

describe('culpritsOf', () => {
  test('tables from row counts, checksums and both ends of an orphan relation; files from assets and the census', () => {
    expect(culpritsOf(rec('row count public.users', 'row-counts')).owns).toEqual(['table public.users']);
    expect(culpritsOf(rec('checksum app."Events"', 'checksums')).owns).toEqual(['table app."Events"']);
    expect(culpritsOf(rec('orphans ugc_assets(user_id) -> users(id)', 'orphans')).owns).toEqual([
      'table public.ugc_assets',
      'table public.users',
    ]);
    const [sample, census, asset] = missingFile();
    expect(culpritsOf(asset).owns).toEqual([`file ${FILE}`]);
    expect(culpritsOf(census).owns).toEqual([`file ${FILE}`]);
    expect(culpritsOf(sample).owns).toEqual([`file ${FILE}`]);
  });

  test('a census line of paths already dangling in the source names its file too', () => {
    const msg = `asset census ugc_assets.storage_path: 1 dangling path(s) already dangling in the source tree, e.g. ${FILE} (expected a file, found nothing (missing)) (PREEXISTING_DEFECTS_FAIL=1)`;
    expect(culpritsOf(rec('asset census ugc_assets.storage_path', 'asset-census', msg)).owns).toEqual([`file ${FILE}`]);
  });

  test('the assets directory named in a message is no culprit (two unrelated files stay two causes)', () => {
    expect(
      culpritsOf(rec('asset census ugc_assets.storage_path', 'asset-census', 'x: 0 paths under /srv/dst')).owns,
    ).toEqual([]);
  });

  test('a failed phase owns "copy"; a not-checked failure only follows it', () => {
    expect(culpritsOf(rec('phase restore', 'phases', 'restore failed'))).toEqual({ owns: ['copy'], follows: [] });
    expect(culpritsOf(rec('row counts (not checked)', 'row-counts', 'not checked: the restore failed'))).toEqual({
      owns: [],
      follows: ['copy'],
    });
    expect(qualify('users')).toBe('public.users');
    expect(qualify('app.users')).toBe('app.users');
  });
});

describe('groupByCause', () => {
  test('one missing file: the asset check is the cause, the census line and the sampled sha256 its consequences', () => {
    const checks = missingFile();
    const cause = `asset ugc_assets.storage_path ${FILE}`;
    expect(groupByCause(checks)).toEqual([cause, cause, undefined, undefined]);
    const t = tally(markConsequences(checks));
    expect(t).toMatchObject({ passed: 1, failed: 1, consequences: 2 });
    expect(failingTests(t)).toBe(3);
    expect(failedText(t)).toBe('1 failed (+2 consequences of it)');
    expect(
      consequencesByCause(checks)
        .get(cause)!
        .map((c) => c.name),
    ).toEqual(['asset census sampled files size and sha256 (source = target)', 'asset census ugc_assets.storage_path']);
  });

  test('a table missing rows: its row count is the cause; its checksum and the orphans that touch it follow', () => {
    const checks = [
      rec('checksum public.galleries', 'checksums', 'differs'),
      rec('orphans gallery_items(gallery_id) -> galleries(id)', 'orphans', '3 orphans'),
      rec('row count public.galleries', 'row-counts', 'source 10, target 7'),
      rec('row count public.users', 'row-counts', 'source 30, target 29'),
    ];
    expect(groupByCause(checks)).toEqual([
      'row count public.galleries',
      'row count public.galleries',
      undefined,
      undefined,
    ]);
    expect(tally(markConsequences(checks))).toMatchObject({ failed: 2, consequences: 2 });
  });

  test('a failed copy phase is the cause of every not-checked failure; without one they stay causes', () => {
    const notChecked = [
      rec('row counts (not checked)', 'row-counts', 'not checked: the restore failed'),
      rec('orphans (not checked)', 'orphans', 'not checked: the restore failed'),
    ];
    expect(groupByCause([...notChecked, rec('phase restore', 'phases', 'pg_restore exited 1')])).toEqual([
      'phase restore',
      'phase restore',
      undefined,
    ]);
    expect(groupByCause(notChecked)).toEqual([undefined, undefined]);
  });

  test('unrelated failures stay separate causes; passed and unselected checks take no part', () => {
    const checks = [
      rec('row count public.users', 'row-counts', 'x'),
      rec('checksum public.orders', 'checksums', 'y'),
      { ...rec('checksum public.users', 'checksums', 'z'), selected: false },
      rec('checksum public.users', 'checksums', undefined, 'passed'),
    ];
    expect(groupByCause(checks)).toEqual([undefined, undefined, undefined, undefined]);
    // A record from before the grouping existed (no causedBy) counts as a cause, as it always did.
    expect(tally(checks.slice(0, 2))).toMatchObject({ failed: 2, consequences: 0 });
  });
});
