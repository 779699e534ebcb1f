/** Byte progress lines: bytes against the total, rate, elapsed and ETA (pure: the clock is a parameter). */
import { expect, test } from 'vitest';
import { byteLine, timing } from '../../../lib/core/progress.ts';
import { formatBytes, formatDuration } from '../../../lib/core/format.ts';
import { dumpProgressLine } from '../../../lib/phases/dump.ts';

test('byteLine: bytes of total, percentage, average rate, elapsed, ETA at that pace', () => {
  const line = byteLine(
    { bytes: 50 * 1024 * 1024, total: 200 * 1024 * 1024, of: 'source table data', elapsedMs: 10_000 },
    formatBytes,
    formatDuration,
  );
  expect(line).toBe('50.0 MiB of 200.0 MiB source table data (25%), 5.0 MiB/s, elapsed 10.0 s, ETA 30.0 s');
  expect(byteLine({ bytes: 0, total: 10, elapsedMs: 1000 }, formatBytes, formatDuration)).toMatch(/ETA unknown$/);
  expect(byteLine({ bytes: 10, total: 10, elapsedMs: 1000 }, formatBytes, formatDuration)).toMatch(/done$/);
});

test('timing: ETA from the done fraction', () => {
  expect(timing(0.5, 4000)).toBe('elapsed 4.0 s, ETA 4.0 s');
  expect(timing(undefined, 500)).toBe('elapsed 500 ms, ETA unknown');
});

test("dump progress: table data by the source tables' sizes, tables, and the archive written so far", () => {
  expect(
    dumpProgressLine({
      done: 3,
      total: 8,
      doneBytes: 1024 * 1024,
      totalBytes: 4 * 1024 * 1024,
      written: 2048,
      elapsedMs: 2000,
    }),
  ).toBe(
    '1.0 MiB of 4.0 MiB source table data (25%), 512.0 KiB/s, elapsed 2.0 s, ETA 6.0 s; 3/8 tables; archive 2.0 KiB written',
  );
  expect(dumpProgressLine({ done: 1, doneBytes: 0, written: 0, elapsedMs: 10 })).toBe(
    '1 tables, elapsed 10 ms; archive 0 B written',
  );
});

test("restore progress: by the source tables' sizes when known, else the table count with elapsed and ETA", async () => {
  const { restoreProgressLine } = await import('../../../lib/phases/restore.ts');
  expect(restoreProgressLine({ done: 2, total: 4, doneBytes: 1024, totalBytes: 4096, elapsedMs: 1000 })).toBe(
    '1.0 KiB of 4.0 KiB source table data (25%), 1.0 KiB/s, elapsed 1.0 s, ETA 3.0 s; 2/4 tables restored (50%)',
  );
  expect(restoreProgressLine({ done: 2, total: 4, doneBytes: 0, elapsedMs: 1000 })).toBe(
    '2/4 tables restored (50%), elapsed 1.0 s, ETA 1.0 s',
  );
});
