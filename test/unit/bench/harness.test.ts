import { expect, test } from 'vitest';
import { emptyScaleRuns, scaleFigures, schemaDumpMs } from '../../../lib/bench/harness.ts';

const noRuns = emptyScaleRuns();

test('scaleFigures: with no run, every figure is n/a with a reason; the copy phases say none was timed', () => {
  const { figures, families } = scaleFigures(noRuns);
  expect(families).toEqual({});
  expect(figures['copy.suite.dump']).toEqual({ kind: 'na', reason: expect.stringMatching(/no copy phase timings/) });
  expect(figures['peer.suite.clean']).toEqual({ kind: 'na', reason: 'pg_comparator did not run' });
  expect(figures['memory.process'].kind).toBe('na');
  for (const f of Object.values(figures)) expect(f.kind).toBe('na');
});

test('scaleFigures: raw restore + ANALYZE summed per run; the phases summed per suite run', () => {
  const runs = {
    ...noRuns,
    suiteCopy: [
      {
        code: 0,
        wallMs: 900,
        notes: [],
        logFile: '',
        phases: [
          { name: 'dump', status: 'passed', durationMs: 100 },
          { name: 'restore', status: 'passed', durationMs: 300 },
        ],
      },
    ],
    rawCopy: [{ stepsMs: 1, dumpMs: 2, rsyncMs: 3, wallMs: 4, restoreMs: 200, analyzeMs: 50 }],
  };
  const { figures } = scaleFigures(runs as unknown as Parameters<typeof scaleFigures>[0]);
  expect(figures['copy.suite.phases']).toMatchObject({ kind: 'stat', median: 400 });
  expect(figures['copy.raw.restore']).toMatchObject({ kind: 'stat', median: 250 });
  expect(figures['copy.raw.restoreTuned']).toEqual({ kind: 'na', reason: 'the tuned raw restore did not run' });
});

test('schemaDumpMs: the slower side of the schema dump, from the schema-parity evidence line', () => {
  const checks = [
    { name: 'row count public.users', annotations: [{ message: 'walked in 12 ms' }] },
    {
      name: 'schema tables',
      annotations: [
        {
          message:
            'pg_dump 15.20 --schema-only of both sides: source 54 entries (9000 bytes, 310 ms), target 54 entries (9000 bytes, 355 ms)',
        },
      ],
    },
  ];
  expect(schemaDumpMs(checks as never)).toBe(355);
  expect(schemaDumpMs([])).toBeUndefined();
  const runs = { ...noRuns, suiteVerify: [{ code: 0, wallMs: 1, notes: [], logFile: '', checks }] };
  const { figures } = scaleFigures(runs as unknown as Parameters<typeof scaleFigures>[0]);
  expect(figures['verify.schema.dump']).toMatchObject({ kind: 'stat', median: 355 });
  expect(figures['verify.before.schema-parity']).toEqual({ kind: 'na', reason: 'BENCH_SCHEMA_BEFORE not set' });
});
