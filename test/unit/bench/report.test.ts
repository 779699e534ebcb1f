import { expect, test } from 'vitest';
import { formatFigure, na, scaleRows, stat } from '../../../lib/bench/report.ts';

test('stat: median (even and odd counts), min, max; n/a with the reason when nothing was measured', () => {
  expect(stat([3, 1, 2], 'ms')).toMatchObject({ kind: 'stat', median: 2, min: 1, max: 3 });
  expect(stat([4, 1, 2, 3, undefined], 'ms')).toMatchObject({ median: 2.5, samples: [4, 1, 2, 3] });
  expect(stat([undefined, Number.NaN], 'ms', 'did not run')).toEqual({ kind: 'na', reason: 'did not run' });
  expect(na('x')).toEqual({ kind: 'na', reason: 'x' });
  expect(formatFigure(undefined)).toBeTypeOf('string');
});

test('scaleRows: a ratio row judged against its target, an n/a row says why, a red run is named', () => {
  const rows = scaleRows({
    requestedRows: 1000,
    rows: 1000,
    rowsPerTable: {},
    files: 0,
    generate: { databaseMs: 0, assetsMs: 0, databaseBytes: 0 },
    figures: {
      'copy.suite.phases': stat([100], 'ms'),
      'copy.raw.steps': stat([200], 'ms'),
      'copy.suite.dump': na('phase not run'),
      'copy.raw.dump': stat([50], 'ms'),
    },
    families: {},
    red: [{ run: 'copy', rep: 1, exitCode: 1, detail: 'x' }],
    memoryTop: [],
    peer: [],
    warnings: [],
  } as unknown as Parameters<typeof scaleRows>[0]);
  const phases = rows.find((r) => r.suite === 'copy.suite.phases')!;
  expect(phases.ratio).toBe(0.5);
  expect(phases.met).toBe(true);
  expect(phases.note).toMatch(/RED RUN: copy rep 1 exit 1/);
  expect(rows.find((r) => r.suite === 'copy.suite.dump')!.note).toMatch(/n\/a: phase not run/);
  expect(rows.some((r) => r.suite === 'memory.process')).toBe(true);
});
