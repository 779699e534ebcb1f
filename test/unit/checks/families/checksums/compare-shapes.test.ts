/**
 * compareShapes: columns matched by name (an inheritance child's column order is no difference), and the detached
 * child rule (lib/checks/shared/inheritance.ts), without a database.
 */
import { describe, expect, test } from 'vitest';
import {
  compareShapes,
  type ColumnShape,
  type TableShape,
} from '../../../../../lib/checks/families/checksums/checksum.ts';
import { detached } from '../../../../../lib/checks/shared/inheritance.ts';

const col = (name: string, type = 'integer', o: Partial<ColumnShape> = {}): ColumnShape => ({
  name,
  type,
  collatable: type === 'text',
  hashable: true,
  outputFn: null,
  pkOrd: name === 'id' ? 1 : null,
  integer: type === 'integer',
  ...o,
});
const shape = (columns: ColumnShape[]): TableShape => ({
  exists: true,
  columns,
  key: columns.filter((c) => c.pkOrd !== null),
  version: 170000,
});

describe('compareShapes', () => {
  test('another column order alone is no difference: columns in the source order, a note saying so', () => {
    // pg_dump recreates an inheritance child with its inherited columns first (rw24, gpdb#4955)
    const src = shape([col('id'), col('kind', 'text'), col('payload_kg'), col('color', 'text')]);
    const dst = shape([col('id'), col('kind', 'text'), col('color', 'text', { hashable: false }), col('payload_kg')]);
    const cmp = compareShapes(src, dst);
    expect(cmp.problem).toBeUndefined();
    expect(cmp.shape!.columns.map((c) => c.name)).toEqual(['id', 'kind', 'payload_kg', 'color']);
    // hashability is ANDed by name, not by position
    expect(cmp.shape!.columns.find((c) => c.name === 'color')!.hashable).toBe(false);
    expect(cmp.shape!.columns.find((c) => c.name === 'payload_kg')!.hashable).toBe(true);
    expect(cmp.orderNote).toBe(
      'column order differs (source: id, kind, payload_kg, color; target: id, kind, color, payload_kg): columns compared by name',
    );
    expect(cmp.hasKey).toBe(true);
  });

  test('the same order: no note; a missing, extra or retyped column is still a problem', () => {
    const src = shape([col('id'), col('a', 'text')]);
    expect(compareShapes(src, shape([col('id'), col('a', 'text')])).orderNote).toBeUndefined();
    expect(compareShapes(src, shape([col('id')])).problem).toBe(
      'columns differ (missing or different on target: a text)',
    );
    expect(compareShapes(src, shape([col('id'), col('a', 'text'), col('b')])).problem).toBe(
      'columns differ (extra or different on target: b integer)',
    );
    expect(compareShapes(src, shape([col('id'), col('a', 'varchar')])).problem).toMatch(
      /missing or different on target: a text; extra or different on target: a varchar/,
    );
  });
});

describe('detached children', () => {
  const t = (name: string) => ({ schema: 'public', name });
  test('a source child that is no longer a child on the target, but still a table there', () => {
    expect(detached([t('trucks'), t('vans')], [t('vans')], [t('trucks'), t('vans')])).toEqual([t('trucks')]);
  });
  test('a child missing on the target altogether is not "detached" (its rows are gone, not moved)', () => {
    expect(detached([t('trucks')], [], [])).toEqual([]);
    expect(detached([t('trucks')], [t('trucks')], [t('trucks')])).toEqual([]);
  });
});
