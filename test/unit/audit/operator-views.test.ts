/**
 * The operator's views as pure functions: wrapping without mid-word cuts, findings without matcher tails, JUnit with
 * families and distinct property names, the effective view over reruns, the selection, and report.html's shape.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { combineRuns } from '../../../lib/audit/effective.ts';
import { validateJunit } from '../../../lib/audit/junit.ts';
import { annotationProperties, junitXml } from '../../../lib/audit/junit-writer.ts';
import { buildManifest } from '../../../lib/audit/manifest.ts';
import { renderReportHtml, renderSummaryMd } from '../../../lib/audit/report-html.ts';
import type { CheckRecord } from '../../../lib/audit/reporter.ts';
import { selectionSpecs } from '../../../lib/audit/selection.ts';
import { findingMessage, wrapText } from '../../../lib/audit/text.ts';
import { listFileName, writeFullList } from '../../../lib/checks/shared/full-list.ts';

const check = (name: string, state: CheckRecord['state'], extra: Partial<CheckRecord> = {}): CheckRecord => ({
  file: 'specs/x.spec.ts',
  name,
  fullName: name,
  namePath: [name],
  state,
  errors: state === 'failed' ? [`${name}: broken: expected 1 to be +0 // Object.is equality`] : [],
  annotations: [],
  ...extra,
});

describe('text', () => {
  test('wrapText never cuts a word and keeps every character', () => {
    const text = 'orphans ugc_assets(user_id) -> users(id): expected 0 rows, found 1; example keys (user_id): (1050)';
    const lines = wrapText(text, 40, '  ✗ ', '    ');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(40);
    expect(lines.map((l) => l.trim().replace(/^✗ /, '')).join(' ')).toBe(text);
  });
  test('findingMessage drops the matcher tail and the diff, keeps the finding', () => {
    expect(
      findingMessage('row count public.users: expected 30 rows, got 29: expected 29 to be 30 // Object.is equality'),
    ).toBe('row count public.users: expected 30 rows, got 29');
    expect(findingMessage('orphans x: expected 0 rows of a, found 1\n\n- Expected\n+ Received')).toBe(
      'orphans x: expected 0 rows of a, found 1',
    );
    expect(findingMessage('isolation x: a live link: expected false to be true // Object.is equality')).toBe(
      'isolation x: a live link',
    );
    expect(findingMessage('schema rules: 1 differ: expected [ Array(1) ] to deeply equal []')).toBe(
      'schema rules: 1 differ',
    );
  });
});

describe('JUnit', () => {
  test('classname is the family, evidence properties have distinct names, warnings in system-out, run properties', () => {
    const checks = [
      check('row count public.users', 'failed', {
        family: 'row-counts',
        annotations: [
          { type: 'evidence', message: 'source 30' },
          { type: 'evidence', message: 'target 29' },
        ],
      }),
      check('asset census unreferenced files under DST_ASSETS_DIR', 'passed', {
        family: 'asset-census',
        warning: true,
        annotations: [{ type: 'warning', message: '1 stray file' }],
      }),
      check('phase dump', 'skipped', { family: 'phases', note: 'not run: phase preflight failed' }),
    ];
    const xml = junitXml({
      suiteName: 's',
      properties: [
        ['run-id', 'r1'],
        ['rerun-of', 'r0'],
      ],
      checks,
    });
    const r = validateJunit(xml);
    expect(r.problems).toEqual([]);
    expect(r.cases.map((c) => c.classname)).toEqual(['row-counts', 'asset-census', 'phases']);
    expect(r.cases[0].properties.map((p) => p.name)).toEqual(['evidence.1', 'evidence.2']);
    expect(xml).toContain('<property name="rerun-of" value="r0"/>');
    expect(xml).toContain('<property name="warnings" value="1"/>');
    expect(xml).toContain('<system-out>WARNING: 1 stray file</system-out>');
    // Evidence reaches <system-out> (what GitLab and Jenkins display), not only the per-case properties.
    expect(xml).toContain('<system-out>source 30\ntarget 29</system-out>');
    expect(xml).toContain('name="phase dump"');
    expect(xml).toContain('<skipped message="not run: phase preflight failed"/>');
    expect(xml).toContain('message="row count public.users: broken"');
    expect(
      annotationProperties({
        annotations: [
          { type: 'a', message: '1' },
          { type: 'a', message: '2' },
        ],
      }),
    ).toEqual([
      ['a.1', '1'],
      ['a.2', '2'],
    ]);
  });
});

describe('effective view', () => {
  test("each check's latest executed result; a check a rerun did not select keeps the original's", () => {
    const v = combineRuns([
      {
        runId: 'r1',
        checks: {
          finishedAt: '',
          reason: '',
          unhandledErrors: [],
          checks: [check('a', 'failed'), check('b', 'passed'), check('c', 'failed')],
        },
      },
      {
        runId: 'r2',
        checks: {
          finishedAt: '',
          reason: '',
          unhandledErrors: [],
          checks: [check('a', 'passed'), check('b', 'skipped', { selected: false }), check('c', 'failed')],
        },
      },
    ]);
    expect(v.runs).toEqual(['r1', 'r2']);
    expect(v.checks.map((c) => `${c.name}:${c.state}@${c.fromRun}`)).toEqual([
      'a:passed@r2',
      'b:passed@r1',
      'c:failed@r2',
    ]);
    expect(v.totals).toMatchObject({ passed: 2, failed: 1, skipped: 0 });
  });
});

describe('selection', () => {
  test('--select / --exclude become spec files; phases always run; unknown ids are refused', () => {
    const s = selectionSpecs(['orphans'], undefined)!;
    expect(s.families).toEqual(['phases', 'orphans']);
    expect(s.apply([])).toEqual(['specs/phases.spec.ts', 'specs/orphans.spec.ts']);
    expect(s.apply(['specs/orphans.spec.ts', 'specs/health.spec.ts', '-t', 'x'])).toEqual([
      'specs/orphans.spec.ts',
      '-t',
      'x',
    ]);
    expect(selectionSpecs(undefined, ['asset-census'])!.families).not.toContain('asset-census');
    expect(selectionSpecs(undefined, undefined)).toBeUndefined();
    expect(() => selectionSpecs(['orphan'], undefined)).toThrow(/unknown check family "orphan"/);
  });
});

describe('full lists', () => {
  test('one item per line, capped with a count of what was left out, announced by a full-list annotation', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'full-list-'));
    const notes: Array<[string, string | undefined]> = [];
    const annotate = async (m: string, t?: string) => void notes.push([m, t]);
    const rel = await writeFullList(annotate, 'orphans a(x) -> b(y)', 'keys', ['k1', 'k2', 'k3'], {
      max: 2,
      total: 5,
      runDir: dir,
    });
    expect(rel).toBe(`failures/${listFileName('orphans a(x) -> b(y)')}`);
    const text = fs.readFileSync(path.join(dir, rel!), 'utf8');
    expect(text.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(['k1', 'k2']);
    expect(text).toContain('# … 3 more left out (FULL_LIST_MAX=2)');
    expect(notes).toEqual([[`${rel}: 2 item(s), 3 more left out (FULL_LIST_MAX=2)`, 'full-list']]);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('report.html and summary.md', () => {
  test('self-contained, failures first with their evidence and full list, warnings, hashes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
    fs.mkdirSync(path.join(dir, 'failures'));
    fs.writeFileSync(path.join(dir, 'failures', 'o.txt'), '# o\n# keys\npublic.ugc_assets (1050)\n');
    const checks = [
      check('orphans o', 'failed', {
        family: 'orphans',
        annotations: [
          { type: 'evidence', message: 'example keys (user_id): (1050)' },
          { type: 'full-list', message: 'failures/o.txt: 1 item(s)' },
        ],
      }),
      check('asset census tree', 'passed', {
        family: 'asset-census',
        warning: true,
        annotations: [{ type: 'warning', message: 'stray.bin' }],
      }),
    ];
    const manifest = buildManifest({
      runId: 'r1',
      mode: 'full',
      startedAt: '2026-01-01T00:00:00Z',
      finishedAt: '2026-01-01T00:00:10Z',
      exitCode: 1,
      tools: {},
      config: {},
      totals: { passed: 1, failed: 1, skipped: 0, notSelected: 0, warnings: 1 },
      failures: [],
      auditProblems: [],
      reports: { 'junit.xml': { sha256: 'ab'.repeat(32), bytes: 10 } },
      extra: { target: { database: 'postgresql://u:***@h:5432/staging', assetsDir: '/srv/data' } },
    });
    const html = renderReportHtml({ manifest, checks, runDir: dir });
    expect(html).not.toMatch(/<script|<link|https?:\/\//);
    expect(html.indexOf('Failures (1)')).toBeLessThan(html.indexOf('Warnings and pre-existing'));
    expect(html).toContain('public.ugc_assets (1050)');
    expect(html).toContain('stray.bin');
    expect(html).toContain('ab'.repeat(32));
    expect(html).toContain('postgresql://u:***@h:5432/staging');
    const md = renderSummaryMd({ manifest, checks, runDir: dir });
    expect(md).toMatch(/1 passed, 1 failed, 0 not run, 1 warning/);
    // Names and messages are literal markdown (lib/core/escape.ts markdownText): punctuation backslash-escaped.
    expect(md).toContain('| orphans o | orphans | orphans o: broken | failures/o.txt |');
    fs.rmSync(dir, { recursive: true });
  });
});
