/**
 * lib/checks/schema-parity: the catalog facts kept beside the dump comparison. An extension newer on the target is
 * evidence, not a difference (unless EXTENSION_VERSIONS_EQUAL=1); an older one is a difference; presence (missing /
 * extra) is the dump's to say except for database properties; states are judged on the target; every kept query says
 * why pg_dump's rendering is not enough (docs/checks.md carries the list).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  KINDS,
  catalogFactsTableMarkdown,
  compareObjects,
  judgeExtensionVersion,
} from '../../../../../lib/checks/families/schema-parity/schema-parity.ts';

const ROOT = path.resolve(import.meta.dirname, '../../../../..');
const kind = (k: string) => KINDS.find((x) => x.kind === k)!;
const extensions = kind('extensions');
const ext = (v: string, name = 'vector') => [{ name, def: `version ${v}` }];

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
  test('older on the target: a difference', () => {
    expect(compareObjects(extensions, ext('0.7.4'), ext('0.8.0')).different).toHaveLength(1);
  });
  test('an extension on one side only is no catalog difference: the dump says it is missing or extra', () => {
    const r = compareObjects(extensions, ext('1.6', 'pg_trgm'), ext('0.8.0'));
    expect([r.missing, r.extra, r.different]).toEqual([[], [], []]);
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

describe('catalog facts kept beside the dump', () => {
  test('database properties compare presence and values: pg_dump renders none of them without --create', () => {
    const db = kind('database properties');
    const r = compareObjects(
      db,
      [{ name: 'encoding', def: 'SQL_ASCII' }],
      [
        { name: 'encoding', def: 'UTF8' },
        { name: 'ICU rules', def: 'none' },
      ],
    );
    expect(r.different).toEqual([{ name: 'encoding', src: 'UTF8', dst: 'SQL_ASCII' }]);
    expect(r.missing).toEqual(['ICU rules']);
  });
  test('states: a NOT VALID constraint is named with its fix, with or without a source', () => {
    const c = kind('constraints');
    const dst = [{ name: 'public.t.t_fk', def: '', state: 'not validated' }];
    expect(compareObjects(c, dst, [{ ...dst[0], state: 'validated' }]).states).toEqual([
      {
        name: 'public.t.t_fk',
        problem: 'NOT VALID on the target but validated on the source (VALIDATE CONSTRAINT it)',
      },
    ]);
    expect(compareObjects(c, dst, [{ ...dst[0] }]).states).toEqual([]);
    expect(compareObjects(c, dst).states[0].problem).toMatch(/^NOT VALID on the target \(VALIDATE/);
  });
  test('enabled states differ: trigger, rule, event trigger, row security say both sides', () => {
    for (const k of ['triggers', 'rules', 'event triggers', 'row-level security']) {
      const r = compareObjects(
        kind(k),
        [{ name: 'x', def: '', state: 'disabled' }],
        [{ name: 'x', def: '', state: 'enabled' }],
      );
      expect(r.states, k).toEqual([{ name: 'x', problem: 'disabled on the target but enabled on the source' }]);
    }
  });
  test('constraints leave out PostgreSQL 18 NOT NULL rows (contype n) and partition clones (conparentid)', () => {
    expect(kind('constraints').sql).toMatch(/con\.contype <> 'n'/);
    expect(kind('constraints').sql).toMatch(/conparentid/);
  });
  test('a kind with a catalog query says why; a kind without one is compared only as pg_dump renders it', () => {
    for (const k of KINDS) expect(Boolean(k.sql), k.kind).toBe(Boolean(k.catalogFact));
    expect(KINDS.filter((k) => !k.sql).map((k) => k.kind)).toEqual([
      'tables and columns',
      'functions',
      'sequences',
      'schemas',
      'types and domains',
      'comments',
      'extended statistics',
      'collations',
      'other objects',
    ]);
  });
  test('docs/checks.md carries the generated table of kept catalog facts', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/checks.md'), 'utf8');
    expect(doc).toContain(catalogFactsTableMarkdown());
  });
});
