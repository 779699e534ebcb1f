/**
 * lib/checks/schema-parity across majors: an extension newer on the target is evidence, not a difference (unless
 * EXTENSION_VERSIONS_EQUAL=1); an older one is a difference; PostgreSQL 18's NOT NULL constraint rows are not read.
 */
import { describe, expect, test } from 'vitest';
import {
  KINDS,
  compareObjects,
  judgeExtensionVersion,
} from '../../../../../lib/checks/families/schema-parity/schema-parity.ts';

const extensions = KINDS.find((k) => k.kind === 'extensions')!;
const ext = (v: string, schema = 'public') => [{ name: 'vector', def: `version ${v} in schema ${schema}` }];

describe('extension versions', () => {
  test('newer on the target: accepted, with the versions as evidence', () => {
    const r = compareObjects(extensions, ext('0.8.1'), ext('0.8.0'));
    expect(r.different).toEqual([]);
    expect(r.accepted).toEqual(['vector: source 0.8.0, target 0.8.1: newer, accepted']);
  });
  test('EXTENSION_VERSIONS_EQUAL=1 makes a newer target a difference', () => {
    const r = compareObjects(extensions, ext('0.8.1'), ext('0.8.0'), { extensionVersionsEqual: true });
    expect(r.different.map((d) => d.name)).toEqual(['vector']);
  });
  test('older on the target, or another schema: a difference', () => {
    expect(compareObjects(extensions, ext('0.7.4'), ext('0.8.0')).different).toHaveLength(1);
    expect(compareObjects(extensions, ext('0.8.1', 'ext'), ext('0.8.0')).different).toHaveLength(1);
  });
  test('judgeExtensionVersion compares numerically', () => {
    expect(judgeExtensionVersion('pgvector', '0.8.9', '0.8.10')).toEqual({
      ok: true,
      evidence: 'pgvector: source 0.8.9, target 0.8.10: newer, accepted',
    });
    expect(judgeExtensionVersion('pgvector', '0.8.0', '0.8.0').ok).toBe(true);
    expect(judgeExtensionVersion('pgvector', '0.8.0', '0.7.0').evidence).toMatch(/OLDER on the target/);
  });
});

test('constraints leave out PostgreSQL 18 NOT NULL rows (contype n): nullability is compared with the columns', () => {
  const constraints = KINDS.find((k) => k.kind === 'constraints')!;
  expect(constraints.sql).toMatch(/con\.contype <> 'n'/);
  expect(KINDS.find((k) => k.kind === 'tables and columns')!.sql).toMatch(/attnotnull THEN ' not null'/);
});
