/**
 * The two-sided orphan queries (lib/checks/families/orphans/sql.ts): the source's orphan keys, and the target's orphans split
 * into new and pre-existing by those keys. Pure builders; the real behaviour is proven by rw16's integration test.
 */
import { expect, test } from 'vitest';
import type { Relation } from '../../../../../lib/core/config.ts';
import { newOrphansQuery, orphanKeysQuery, ORPHAN_KEYS_MAX } from '../../../../../lib/checks/families/orphans/sql.ts';

const rel: Relation = {
  child: { schema: 'public', name: 'ugc_assets' },
  childColumns: ['user_id'],
  parent: { schema: 'public', name: 'users' },
  parentColumns: ['id'],
  origin: 'configured',
};

test('orphanKeysQuery: distinct keys as JSON text arrays, bounded by a parameter', () => {
  const q = orphanKeysQuery(rel);
  expect(q.values).toEqual([ORPHAN_KEYS_MAX]);
  expect(q.text).toContain('to_json(ARRAY[ch."user_id"::text])::text COLLATE "C" AS k');
  expect(q.text).toContain('NOT EXISTS (SELECT 1 FROM "public"."users" AS pa WHERE pa."id" = ch."user_id")');
  expect(q.text).toContain('ch."user_id" IS NOT NULL');
});

test('newOrphansQuery: the known keys are one array parameter; new and old examples apart', () => {
  const q = newOrphansQuery(rel, ['["999"]']);
  expect(q.values).toEqual([['["999"]']]);
  expect(q.text).toMatch(/FILTER \(WHERE NOT \(k = ANY \(\$1::text\[\]\)\)\)\)::text AS new_orphans/);
  expect(q.text).toContain('AS old_examples');
});

test('a relation with mismatched column counts is refused', () => {
  expect(() => orphanKeysQuery({ ...rel, parentColumns: [] })).toThrow(/same number/);
});
