/**
 * lib/audit/report-data.ts, history.ts (historyEntry, recentRuns), provenance.ts and charts.ts with plain inputs: the
 * numbers behind report.html's pictures, and the pictures as inline SVG with the expected marks.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { censusBarSvg, historyChartSvg, phaseTimelineSvg, tableChartSvg } from '../../../lib/audit/charts.ts';
import { historyEntry, recentRuns } from '../../../lib/audit/history.ts';
import type { Manifest } from '../../../lib/audit/manifest.ts';
import { NOT_GIT, collectProvenance, gitCommit } from '../../../lib/audit/provenance.ts';
import { censusCounts, phaseSpans, tableRows } from '../../../lib/audit/report-data.ts';
import { renderReportHtml, renderSummaryMd } from '../../../lib/audit/report-html.ts';
import type { CheckRecord } from '../../../lib/audit/reporter.ts';

const check = (name: string, state: CheckRecord['state'], extra: Partial<CheckRecord> = {}): CheckRecord => ({
  file: 'specs/x.spec.ts',
  name,
  fullName: name,
  state,
  errors: [],
  annotations: [],
  ...extra,
});
const ev = (...messages: string[]) => messages.map((message) => ({ type: 'evidence', message }));

test('tableRows: target rows from the row count, sizes, worst state, seconds; largest first; no prefix confusion', () => {
  const rows = tableRows(
    ['public.users', 'public.users_old', 'public.items'],
    [
      check('row count public.users', 'passed', {
        durationMs: 500,
        annotations: ev('source: 30 rows', 'target: 30 rows, exact'),
      }),
      check('checksum public.users', 'failed', { durationMs: 1500 }),
      check('row count public.users_old', 'passed', { annotations: ev('target: 7 rows, exact') }),
      check('row count public.items', 'passed', { annotations: ev('target: 1000 rows, exact') }),
    ],
    { 'public.users': 8192, 'public.items': 65536 },
  );
  expect(rows.map((r) => r.table)).toEqual(['public.items', 'public.users', 'public.users_old']);
  expect(rows[1]).toEqual({
    table: 'public.users',
    rows: 30,
    bytes: 8192,
    status: 'failed',
    seconds: 2,
    failedChecks: ['checksum public.users'],
  });
  expect(rows[2]).toMatchObject({ rows: 7, status: 'passed' });
});

test('censusCounts: matched / differing / missing / already missing / unreferenced from the census evidence', () => {
  const c = censusCounts([
    check('asset census ugc_assets.storage_path', 'failed', {
      family: 'asset-census',
      annotations: ev('100 non-null paths; 3 dangling', 'dangling paths: in source 1, in target 3, new 2'),
    }),
    check('asset census unreferenced files under DST_ASSETS_DIR', 'passed', {
      family: 'asset-census',
      annotations: ev('4 of 336 files under /x are referenced by no row of a.b'),
    }),
    check('asset census every file size, mtime (source = target)', 'failed', {
      family: 'asset-census',
      annotations: ev('336 source files compared (size, mtime) in 76 ms; 5 differ; 0 with another mtime'),
    }),
  ]);
  expect(c).toEqual({ matched: 331, differing: 5, missing: 2, alreadyMissing: 1, unreferenced: 4 });
  expect(censusCounts([check('row count x', 'passed')])).toBeUndefined();
});

const manifest = (runId: string, ms: Record<string, number>, durationMs: number): Manifest =>
  ({
    runId,
    mode: 'full',
    startedAt: '2026-12-07T00:00:00.000Z',
    durationMs,
    exitCode: 1,
    phases: Object.entries(ms).map(([name, d], i) => ({
      name,
      status: d < 0 ? 'skipped' : 'ok',
      ...(d >= 0
        ? { durationMs: d, startedAt: new Date(Date.parse('2026-12-07T00:00:00.000Z') + i * 1000).toISOString() }
        : {}),
    })),
  }) as unknown as Manifest;

test('phaseSpans and historyEntry: phases on the run clock, then the checks; the estimate is measured × 1.5', () => {
  const m = manifest('r2', { preflight: 500, dump: 10_400, restore: 2_000, mirror: -1 }, 20_000);
  const spans = phaseSpans(m);
  expect(spans.map((s) => [s.name, s.start, s.end])).toEqual([
    ['preflight', 0, 0.5],
    ['dump', 1, 11.4],
    ['restore', 2, 4],
    ['checks', 11.4, 20],
  ]);
  expect(spans.at(-1)!.status).toBe('failed');
  const h = historyEntry(m)!;
  expect(h.phases.map((p) => p.name)).toEqual(['preflight', 'dump', 'restore', 'checks']);
  // dump 10.4 + restore 2 + sync 0 + verify (20 - 12.9 + 0.5) = 20 s measured → 30 s.
  expect(h.estimateSeconds).toBe(30);
  expect(historyEntry({ ...m, mode: 'verify-only' })).toBeUndefined();
});

test('recentRuns: the last full runs before this one, oldest first, from their manifests', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'history-'));
  try {
    for (const id of ['20261201T000000Z-a', '20261202T000000Z-b', '20261203T000000Z-c', '20261204T000000Z-d']) {
      fs.mkdirSync(path.join(dir, 'runs', id), { recursive: true });
      if (id.endsWith('b')) continue; // interrupted: no manifest
      fs.writeFileSync(path.join(dir, 'runs', id, 'manifest.json'), JSON.stringify(manifest(id, { dump: 1000 }, 3000)));
    }
    expect(recentRuns(dir, '20261204T000000Z-d').map((r) => r.runId)).toEqual([
      '20261201T000000Z-a',
      '20261203T000000Z-c',
    ]);
    expect(recentRuns(dir, '20261204T000000Z-d', 1).map((r) => r.runId)).toEqual(['20261203T000000Z-c']);
    expect(recentRuns(path.join(dir, 'nowhere'), 'z')).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('provenance: tool version, commit (or not a git checkout), vitest, node, host, operator', () => {
  const p = collectProvenance('ops@example.com');
  expect(p.tool).toMatch(/^migration-rehearsal \d+\.\d+\.\d+$/);
  expect(p.commit).toMatch(/^([0-9a-f]{40}(\+dirty)?|not a git checkout)$/);
  expect(p.vitest).toMatch(/^\d+\.\d+\.\d+/);
  expect(p.node).toBe(process.versions.node);
  expect(p.operator).toBe('ops@example.com');
  expect(collectProvenance(undefined).operator).toBe(os.userInfo().username);
  const notGit = fs.mkdtempSync(path.join(os.tmpdir(), 'not-git-'));
  try {
    expect(gitCommit(notGit)).toBe(NOT_GIT);
  } finally {
    fs.rmSync(notGit, { recursive: true, force: true });
  }
});

test('charts: inline SVG, no script, one bar per phase / table / census part / run phase, failures red', () => {
  const rects = (svg: string) => (svg.match(/<rect /g) ?? []).length;
  const timeline = phaseTimelineSvg([
    { name: 'dump', status: 'ok', start: 0, end: 10.4 },
    { name: 'checks', status: 'failed', start: 10.4, end: 20 },
  ]);
  expect(timeline).toMatch(/^<svg /);
  expect(rects(timeline)).toBe(2);
  expect(timeline).toContain('fill="#c62828"');
  expect(timeline).toContain('10.4 s');
  const tables = tableChartSvg([
    { table: 'public.items', rows: 1000, bytes: 65536, status: 'failed', seconds: 1.5, failedChecks: ['x'] },
    { table: 'public.users', rows: 30, bytes: 8192, status: 'passed', seconds: 0.2, failedChecks: [] },
  ]);
  expect(rects(tables)).toBe(2);
  expect(tables).toContain('1,000 rows · 64.0 KiB · 1.50 s · FAILED');
  const census = censusBarSvg({ matched: 331, differing: 5, missing: 2, alreadyMissing: 1, unreferenced: 4 });
  expect(census).toContain('already missing in the source');
  const history = historyChartSvg([
    {
      runId: 'r1',
      phases: [
        { name: 'dump', seconds: 10 },
        { name: 'checks', seconds: 5 },
      ],
      estimateSeconds: 22.5,
    },
  ]);
  expect(history).toContain('estimate 22.5 s');
  for (const svg of [timeline, tables, census, history]) expect(svg).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
});

test('report.html and summary.md tell the same numbers: source, provenance, evidence on expand, charts, tables', () => {
  const m = {
    ...manifest('20261207T000000Z-r', { preflight: 500, dump: 10_400, restore: 2_000 }, 20_000),
    finishedAt: '2026-12-07T00:00:20.000Z',
    config: {},
    totals: { passed: 1, failed: 1, skipped: 0, notSelected: 0, warnings: 0 },
    failures: [],
    auditProblems: [],
    reports: {},
    source: { database: 'postgresql://app:***@src.example/app', assetsDir: '/srv/.data' },
    target: { database: 'postgresql://app:***@dst.example/app', assetsDir: '/mnt/.data' },
    provenance: {
      tool: 'migration-rehearsal 0.1.0',
      commit: NOT_GIT,
      vitest: '4.1.12',
      node: '20.20.2',
      host: 'ci-runner',
      operator: 'ops',
    },
    tables: [
      {
        table: 'public.users',
        rows: 30,
        bytes: 8192,
        status: 'failed',
        seconds: 2,
        failedChecks: ['checksum public.users'],
      },
    ],
    census: { matched: 10, differing: 1, missing: 0, alreadyMissing: 0, unreferenced: 2 },
  } as Manifest;
  const checks = [
    check('row count public.users', 'passed', {
      family: 'row-counts',
      annotations: ev('source: 30 rows', 'target: 30 rows, exact'),
    }),
    check('checksum public.users', 'failed', { family: 'checksums', errors: ['checksum public.users: sums differ'] }),
  ];
  const input = { manifest: m, checks, runDir: os.tmpdir() };
  const html = renderReportHtml(input);
  expect(html).not.toMatch(/<script/i);
  expect(html).toContain('postgresql://app:***@src.example/app');
  expect(html).toContain('migration-rehearsal 0.1.0, commit not a git checkout');
  expect(html).toContain('ci-runner / ops');
  expect(html).toMatch(
    /<details class="evidence"><summary>row count public\.users<\/summary><ul class="ev"><li>source: 30 rows<\/li>/,
  );
  for (const id of ['timeline', 'tables', 'census', 'history']) expect(html).toContain(`data-chart="${id}"`);
  const md = renderSummaryMd(input);
  // Table names are literal markdown (lib/core/escape.ts markdownText): `.` is backslash-escaped.
  expect(md).toContain('| public.users | 30 | 8.0 KiB | failed | 2.00 |');
  expect(md).toContain(
    'Asset census: 10 matched, 1 differing, 0 missing, 0 already missing in the source, 2 unreferenced',
  );
  expect(md).toMatch(/Downtime estimate from this run's timings: /);
});
