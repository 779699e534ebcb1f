/**
 * `npm run bench` in tiny mode, as a child process: the harness runs end to end and writes a well-formed bench.json
 * (every figure a number or an explained "n/a") and bench.md. Correctness of the harness only: timings are never
 * asserted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import type { BenchResult, Figure } from '../../lib/bench/report.ts';
import { runCli, tempDir } from '../helpers/scenario.ts';

const TINY = { BENCH_ROWS: '2000', BENCH_FILES: '50', BENCH_REPS: '1', BENCH_SCALES: '2000' };

/** Figures the harness measures itself, whatever the state of the suite's checks: never "n/a". */
const ALWAYS_MEASURED = [
  'copy.suite.wall',
  'copy.raw.steps',
  'copy.raw.dump',
  'copy.raw.restore',
  'copy.raw.rsync',
  'copy.raw.wall',
  'verify.suite.wall',
  'verify.floor.count',
  'verify.floor.find',
  'verify.floor.wall',
  'overhead.suite.wall',
  'overhead.empty.wall',
  'verify.fused.alone',
  'split.one',
  'split.parts',
  'memory.process',
  'memory.tree',
];

function expectWellFormed(key: string, f: Figure) {
  if (f.kind === 'na') {
    expect(f.reason, `${key}: an n/a figure says why`).toMatch(/\w{3,}/);
    return;
  }
  expect(f.kind, key).toBe('stat');
  for (const x of [f.median, f.min, f.max, ...f.samples])
    expect(Number.isFinite(x), `${key}: ${x} is a finite number`).toBe(true);
  expect(f.min, key).toBeLessThanOrEqual(f.median);
  expect(f.median, key).toBeLessThanOrEqual(f.max);
  expect(f.samples.length, `${key}: one sample per repetition`).toBe(1);
}

test('tiny bench mode writes a complete bench.json and the markdown table', { timeout: 300_000 }, async () => {
  const out = path.join(tempDir('bench-test-'), 'out');
  const r = await runCli('bench', [], { ...TINY, BENCH_OUT_DIR: out }, { timeoutMs: 280_000 });
  expect(r.code, r.output.slice(-4000)).toBe(0);

  const result = JSON.parse(fs.readFileSync(path.join(out, 'bench.json'), 'utf8')) as BenchResult;
  expect(result.version).toBe(1);
  expect(Number.isNaN(Date.parse(result.date))).toBe(false);
  expect(result.machine.cores).toBeGreaterThan(0);
  expect(result.machine.memoryGiB).toBeGreaterThan(0);
  for (const k of ['cpuModel', 'node', 'postgres', 'pgvector', 'pgDump', 'rsync'] as const)
    expect(result.machine[k], k).toMatch(/\w/);
  expect(result.machine.postgres).toMatch(/PostgreSQL \d+/);
  expect(result.config).toMatchObject({ rows: 2000, files: 50, reps: 1, scales: [2000] });

  expect(result.scales).toHaveLength(1);
  const s = result.scales[0];
  expect(s.requestedRows).toBe(2000);
  expect(s.rows).toBeGreaterThanOrEqual(1990);
  expect(s.rows).toBeLessThanOrEqual(2010);
  expect(s.files).toBe(50);
  expect(s.warnings, 'the raw copy matches the source and find sees every generated file').toEqual([]);

  for (const key of ALWAYS_MEASURED) {
    expect(s.figures[key]?.kind, `${key} is measured: ${JSON.stringify(s.figures[key])}`).toBe('stat');
  }
  for (const [key, f] of Object.entries(s.figures)) {
    expectWellFormed(key, f);
    expect(result.method[key]?.length ?? 0, `${key}: the output says how it is measured`).toBeGreaterThan(20);
  }
  // The families the targets name are always reported, measured or n/a with a reason.
  for (const key of [
    'copy.suite.phases',
    'verify.suite.row-counts+orphans+path-prefix',
    'verify.suite.checksums',
    'verify.suite.asset-census',
  ]) {
    expect(s.figures[key], key).toBeDefined();
  }

  const targets = result.rows.filter((row) => row.target).map((row) => `${row.target!.op} ${row.target!.value}`);
  expect(targets).toEqual(expect.arrayContaining(['<= 1.05', '<= 1.2', '<= 2', '<= 1.5', '< 300', '<= 1.1']));
  for (const row of result.rows) {
    if (row.ratio !== null) expect(Number.isFinite(row.ratio), row.label).toBe(true);
    if (row.met !== null) expect(typeof row.met, row.label).toBe('boolean');
    if (row.scale !== 'all') expect(s.figures[row.suite], `${row.label}: figure ${row.suite} exists`).toBeDefined();
    if (row.met === null && row.target)
      expect(row.note, `${row.label}: an unjudged target says why`).toMatch(/n\/a|partial/);
  }
  // A red suite run is flagged, never hidden.
  for (const red of s.red)
    expect(result.rows.some((row) => row.note?.includes(`${red.run} rep ${red.rep}`))).toBe(true);

  const md = fs.readFileSync(path.join(out, 'bench.md'), 'utf8');
  const header = '| scale (rows) | figure | suite | raw / floor | ratio | target | met? | note |';
  expect(md).toContain(header);
  expect(md).toContain('## How each figure is measured');
  const tableLines = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---'));
  expect(tableLines).toHaveLength(result.rows.length + 1);
  for (const l of tableLines) expect(l.split(' | ').length, l).toBe(8);
  expect(r.stdout, 'the table is printed').toContain(header);
  // The sandbox's awkward password (lib/sandbox.ts) never reaches the output.
  const logs = fs
    .readdirSync(path.join(out, 'logs'), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile());
  expect(logs.length, 'every measured run keeps its log next to the reports').toBeGreaterThanOrEqual(5);
  const logText = logs.map((d) => fs.readFileSync(path.join(d.parentPath, d.name), 'utf8'));
  for (const text of [r.output, md, JSON.stringify(result), ...logText]) {
    expect(text).not.toContain('w/o%rd');
    expect(text).not.toContain('w%2Fo%25rd');
  }
});
