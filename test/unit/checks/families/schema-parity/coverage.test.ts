import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  TOC_COVERAGE,
  coverageOf,
  coverageTableMarkdown,
} from '../../../../../lib/checks/families/schema-parity/coverage.ts';
import { FAMILIES, familyOfTest } from '../../../../../lib/checks/registry.ts';
import { KINDS } from '../../../../../lib/checks/families/schema-parity/schema-parity.ts';
import { TOC_TYPES } from '../../../../../lib/phases/toc-filter.ts';

const ROOT = path.resolve(import.meta.dirname, '../../../../..');

describe('archive TOC coverage', () => {
  test('every multi-word TOC type the parser knows has a coverage entry', () => {
    expect(TOC_TYPES.filter((t) => !TOC_COVERAGE[t])).toEqual([]);
  });
  test('every covering check is a test name some family claims (a schema kind, or a family prefix)', () => {
    const schemaTests = new Set(KINDS.map((k) => `schema ${k.kind}`));
    for (const [type, c] of Object.entries(TOC_COVERAGE)) {
      if (!c.check) continue;
      expect(familyOfTest(c.check), `${type} -> ${c.check}`).toBeDefined();
      if (c.check.startsWith('schema ')) expect(schemaTests.has(c.check), `${type} -> ${c.check}`).toBe(true);
    }
    expect(FAMILIES.some((f) => f.id === 'large-objects')).toBe(true);
  });
  test('types sort into covered, not compared and unknown', () => {
    const r = coverageOf({ 'TABLE DATA': 3, ACL: 2, 'NEW THING': 1, TABLE: 3 });
    expect(r.covered).toEqual([
      { type: 'TABLE', check: 'schema tables and columns', entries: 3 },
      { type: 'TABLE DATA', check: 'checksum', entries: 3 },
    ]);
    expect(r.uncovered.map((u) => u.type)).toEqual(['ACL']);
    expect(r.unknown).toEqual([{ type: 'NEW THING', entries: 1 }]);
  });
  test('docs/checks.md carries the generated table', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/checks.md'), 'utf8');
    expect(doc).toContain(coverageTableMarkdown());
  });
});
