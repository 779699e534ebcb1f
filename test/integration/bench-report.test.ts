/**
 * The bench's pure pieces, without a database: settings, the generated shape, statistics, family grouping, the
 * ratio/target rows and the raw scripts' output parsing. (Named bench-*.test.ts to stay in the bench's own files.)
 */
import { spawn } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { parseBenchConfig } from '../../lib/bench/config.ts';
import { benchShape, totalFiles } from '../../lib/bench/generate.ts';
import { countSql, parseBenchLine } from '../../lib/bench/raw.ts';
import { crossScaleRows, markdownTable, scaleRows, stat, type ScaleResult } from '../../lib/bench/report.ts';
import { descendants, sampleTree } from '../../lib/bench/rss.ts';
import { familyOf, familyTimes } from '../../lib/bench/suite.ts';

describe('bench settings', () => {
  test('defaults: 1M rows, 20k files, 3 repetitions, scales 1M and 4M', () => {
    const c = parseBenchConfig({});
    expect(c).toMatchObject({
      rows: 1_000_000,
      files: 20_000,
      reps: 3,
      scales: [1_000_000, 4_000_000],
      dims: 16,
      keep: false,
    });
    expect(c.outDir).toMatch(/reports[/\\]bench$/);
  });
  test('BENCH_ROWS is always one of the scales', () => {
    expect(parseBenchConfig({ BENCH_ROWS: '2000', BENCH_SCALES: '50000' }).scales).toEqual([2000, 50000]);
    expect(parseBenchConfig({ BENCH_ROWS: '2000', BENCH_SCALES: '2000' }).scales).toEqual([2000]);
  });
  test('every bad setting is reported at once', () => {
    expect(() => parseBenchConfig({ BENCH_ROWS: 'many', BENCH_REPS: '0', BENCH_FILES: '-1' })).toThrow(
      /BENCH_ROWS[\s\S]*BENCH_FILES[\s\S]*BENCH_REPS/,
    );
  });
});

describe('generated shape', () => {
  test('13 rows per user plus the probe row; the files are shared out 3:2:2 and all exist', () => {
    const s = benchShape(1_000_000, 20_000);
    expect(s.users).toBe(76_923);
    expect(Object.values(s.rows).reduce((a, b) => a + b, 0)).toBe(76_923 * 13 + 1);
    expect(s.files).toEqual({ knowledge: 8571, ugc: 5714, gallery: 5715 });
    expect(totalFiles(s)).toBe(20_000);
  });
  test('a column never has more files than rows', () => {
    const s = benchShape(26, 1000);
    expect(s.files).toEqual({ knowledge: 6, ugc: 4, gallery: 4 });
  });
});

describe('statistics and rows', () => {
  test('median, min, max; n/a says why', () => {
    expect(stat([30, 10, 20], 'ms')).toEqual({
      kind: 'stat',
      unit: 'ms',
      median: 20,
      min: 10,
      max: 30,
      samples: [30, 10, 20],
    });
    expect(stat([10, 20, undefined, NaN, 40, 30], 'ms')).toMatchObject({ median: 25, min: 10, max: 40 });
    expect(stat([undefined], 'ms', 'phase not run')).toEqual({ kind: 'na', reason: 'phase not run' });
  });

  const base = (figures: ScaleResult['figures'], extra: Partial<ScaleResult> = {}): ScaleResult => ({
    requestedRows: 1000,
    rows: 1001,
    rowsPerTable: {},
    files: 10,
    generate: { databaseMs: 1, assetsMs: 1, databaseBytes: 1 },
    figures,
    families: {},
    red: [],
    warnings: [],
    memoryTop: [],
    ...extra,
  });
  const ms = (x: number) => stat([x], 'ms');

  test('ratios are judged against the targets; an absent family is n/a, a partial sum is not judged', () => {
    const rows = scaleRows(
      base({
        'copy.suite.phases': ms(105),
        'copy.raw.steps': ms(100),
        'verify.suite.row-counts': ms(50),
        'verify.suite.orphans': ms(50),
        'verify.suite.path-prefix': stat([], 'ms', 'no check of this family ran'),
        'verify.suite.row-counts+orphans+path-prefix': ms(100),
        'verify.floor.count': ms(50),
        'verify.suite.checksums': ms(90),
        'verify.suite.asset-census': stat([], 'ms', 'no census spec'),
        'verify.floor.find': ms(10),
        'memory.process': stat([310], 'MB'),
      }),
    );
    const row = (label: RegExp) => rows.find((r) => label.test(r.label))!;
    expect(row(/^copy: all phases/)).toMatchObject({ ratio: 1.05, met: true });
    expect(row(/row counts \+ orphans/)).toMatchObject({ ratio: 2, met: null });
    expect(row(/row counts \+ orphans/).note).toMatch(/partial: without path-prefix/);
    expect(row(/checksums/)).toMatchObject({ ratio: 1.8, met: true });
    expect(row(/census/)).toMatchObject({ ratio: null, met: null, note: 'n/a: no census spec' });
    expect(row(/largest node process/)).toMatchObject({ met: false });
    const md = markdownTable({ rows, scales: [base({})] });
    expect(md.split('\n')).toHaveLength(rows.length + 2);
  });

  test('a red run flags the rows of its kind', () => {
    const rows = scaleRows(
      base(
        { 'copy.suite.phases': ms(1), 'copy.raw.steps': ms(1) },
        { red: [{ run: 'verify', rep: 2, exitCode: 1, detail: 'x' }] },
      ),
    );
    expect(rows.find((r) => r.suite === 'copy.suite.phases')!.note ?? '').not.toMatch(/RED/);
    expect(rows.find((r) => r.suite === 'verify.suite.wall')!.note).toMatch(/RED RUN: verify rep 2 exit 1/);
    expect(rows.find((r) => r.suite === 'memory.process')!.note).toMatch(/RED RUN/);
  });

  test('memory flatness compares the largest scale with the smallest', () => {
    const lo = base({ 'memory.process': stat([200], 'MB'), 'memory.tree': stat([400], 'MB') });
    const hi = { ...base({ 'memory.process': stat([230], 'MB'), 'memory.tree': stat([420], 'MB') }), rows: 4001 };
    const [proc, tree] = crossScaleRows([lo, hi]);
    expect(proc).toMatchObject({ ratio: 1.15, met: false });
    expect(tree).toMatchObject({ ratio: 1.05, met: null });
    expect(crossScaleRows([lo])[0].note).toMatch(/needs two scales/);
  });
});

describe('check families', () => {
  test("by registry id (the test name's family), else by spec file", () => {
    expect(familyOf({ file: 'specs/row-counts.spec.ts', name: 'row count public.users' })).toBe('row-counts');
    expect(familyOf({ file: 'specs/assets.spec.ts', name: 'asset census knowledge_materials.storage_path' })).toBe(
      'asset-census',
    );
    expect(familyOf({ file: 'specs/assets.spec.ts', name: 'asset ugc_assets.storage_path /app/.data/ugc/1.jpg' })).toBe(
      'assets',
    );
    expect(familyOf({ file: 'specs/sequences.spec.ts', name: 'sequence users_id_seq' })).toBe('sequences');
    const t = familyTimes([
      {
        file: 'specs/orphans.spec.ts',
        name: 'a',
        fullName: 'a',
        state: 'passed',
        durationMs: 10.04,
        errors: [],
        annotations: [],
      },
      {
        file: 'specs/orphans.spec.ts',
        name: 'b',
        fullName: 'b',
        state: 'failed',
        durationMs: 5,
        errors: [],
        annotations: [],
      },
    ]);
    expect(t.orphans).toEqual({ ms: 15, checks: 2, failed: 1, files: ['specs/orphans.spec.ts'] });
  });
});

describe('raw scripts and sampling', () => {
  test('count script and timing line', () => {
    expect(countSql(['public.users', `public."it's"`])).toBe(
      `SELECT 'public.users', count(*) FROM public.users;\nSELECT 'public."it''s"', count(*) FROM public."it's";\n`,
    );
    expect(parseBenchLine('noise\nBENCH dump_ms=12 restore_ms=3 rsync_ms=0\n')).toEqual({
      dump_ms: 12,
      restore_ms: 3,
      rsync_ms: 0,
    });
  });

  test('the sampler sees a node child of the tree and its peak', async () => {
    const child = spawn(process.execPath, [
      '-e',
      'const b = Buffer.alloc(64 * 1024 * 1024, 1); setTimeout(() => {}, 600)',
    ]);
    const sampler = sampleTree(process.pid, 50);
    await new Promise((r) => child.on('exit', r));
    const peak = sampler.stop();
    expect(descendants(process.pid)).toContain(process.pid);
    expect(peak.processes.some((p) => p.pid === child.pid)).toBe(true);
    expect(peak.maxProcessMb).toBeGreaterThan(60);
    expect(peak.maxTreeMb).toBeGreaterThan(60);
  });
});
