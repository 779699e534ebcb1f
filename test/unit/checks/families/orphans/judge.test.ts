/**
 * The orphans rule (lib/checks/families/orphans/judge.ts), without a database: the target's orphans split into new
 * ones (a failure) and ones the source already has (a warning, a failure with PREEXISTING_DEFECTS_FAIL=1).
 */
import { expect, test } from 'vitest';
import {
  formatKey,
  judgeOrphans,
  orphanListLines,
  sourceNote,
} from '../../../../../lib/checks/families/orphans/judge.ts';
import type { Relation } from '../../../../../lib/core/config.ts';

const rel: Relation = {
  child: { schema: 'public', name: 'ugc_assets' },
  childColumns: ['user_id'],
  parent: { schema: 'public', name: 'users' },
  parentColumns: ['id'],
  origin: 'declared',
};
const name = 'ugc_assets(user_id) -> users(id)';
const opts = { preexistingDefectsFail: false, ms: 3 };
const none = { orphans: 0, newOrphans: 0, newExamples: [], oldExamples: [] };

test('no orphan: no warning, no failure; the evidence says in source / in target / new', () => {
  const j = judgeOrphans(rel, name, { status: 'read', orphans: 0, distinctKeys: 0, keys: [] }, none, opts);
  expect(j.failure).toBeUndefined();
  expect(j.warning).toBeUndefined();
  expect(j.evidence).toEqual([
    '0 orphan row(s) in the target (3 ms)',
    '0 orphan row(s) in the source',
    'orphans: in source 0, in target 0, new 0',
  ]);
});

test('orphans the source already has: a warning naming them, not a failure', () => {
  const src = { status: 'read' as const, orphans: 2, distinctKeys: 1, keys: ['["7"]'] };
  const dst = { orphans: 2, newOrphans: 0, newExamples: [], oldExamples: ['["7"]'] };
  const j = judgeOrphans(rel, name, src, dst, opts);
  expect(j.failure).toBeUndefined();
  expect(j.warning).toBe(
    `orphans ${name}: 2 orphan row(s) already in the source, e.g. keys (user_id): (7): not a migration failure (PREEXISTING_DEFECTS_FAIL=1 makes it fail)`,
  );
  expect(j.evidence).toContain('orphans: in source 2, in target 2, new 0');
});

test('PREEXISTING_DEFECTS_FAIL=1: the pre-existing orphans fail, with no warning', () => {
  const src = { status: 'read' as const, orphans: 1, distinctKeys: 1, keys: ['["7"]'] };
  const dst = { orphans: 1, newOrphans: 0, newExamples: [], oldExamples: ['["7"]'] };
  const j = judgeOrphans(rel, name, src, dst, { ...opts, preexistingDefectsFail: true });
  expect(j.warning).toBeUndefined();
  expect(j.failure).toMatch(
    /1 orphan row\(s\) already in the source, e\.g\. keys \(user_id\): \(7\); failing because PREEXISTING_DEFECTS_FAIL=1$/,
  );
});

test('new orphans beside pre-existing ones: both said, the failure counts only the new ones and names their keys', () => {
  const src = { status: 'read' as const, orphans: 1, distinctKeys: 1, keys: ['["7"]'] };
  const dst = { orphans: 3, newOrphans: 2, newExamples: ['["9"]', '[null]'], oldExamples: ['["7"]'] };
  const j = judgeOrphans(rel, name, src, dst, opts);
  expect(j.warning).toMatch(/1 orphan row\(s\) already in the source/);
  expect(j.failure).toBe(
    `orphans ${name}: expected 0 rows of ugc_assets whose key has no users row, found 2 new (besides 1 already in the source); example keys (user_id): (9); (NULL)`,
  );
  expect(j.evidence).toContain('example keys (user_id): (9); (NULL)');
});

test('no source, or a source that cannot be read: every orphan in the target counts as new', () => {
  const dst = { orphans: 1, newOrphans: 1, newExamples: ['["5"]'], oldExamples: [] };
  const j = judgeOrphans(rel, name, { status: 'none' }, dst, opts);
  expect(j.evidence[1]).toBe('no source configured: every orphan in the target counts as new');
  expect(j.evidence[2]).toBe('orphans: in target 1, new 1 (source not compared)');
  expect(j.failure).toMatch(/found 1; example keys \(user_id\): \(5\)$/);
  expect(sourceNote({ status: 'error', message: 'connection refused' })).toBe(
    'could not check the source (connection refused): every orphan in the target counts as new',
  );
});

test('only the first keys told apart in the source: said in the evidence', () => {
  expect(sourceNote({ status: 'read', orphans: 10, distinctKeys: 5, keys: ['["1"]', '["2"]'] })).toBe(
    '10 orphan row(s) in the source (only the first 2 of 5 keys are told apart: orphans beyond them count as new)',
  );
});

test('keys and full-list lines: composite keys in order, NULL spelled out, the child table first', () => {
  expect(formatKey('["1","no-such-gallery"]')).toBe('(1, no-such-gallery)');
  expect(formatKey('[null,"x"]')).toBe('(NULL, x)');
  expect(orphanListLines(rel, ['["7"]'])).toEqual(['public.ugc_assets (7)']);
});
