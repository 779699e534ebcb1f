/** The server-progress lines (pg_stat_progress_copy / pg_stat_progress_create_index rows → text), pure. */
import { expect, test } from 'vitest';
import {
  copyFraction,
  copyLine,
  followToolLine,
  indexLine,
  stepsOf,
  type CopyRow,
  type IndexRow,
  type ToolSaid,
} from '../../../lib/phases/server-progress.ts';

const copy = (o: Partial<CopyRow> = {}): CopyRow => ({
  pid: 7,
  table: 'public.events',
  command: 'COPY TO',
  bytesProcessed: 47_395_635,
  bytesTotal: 0,
  tuplesProcessed: 812_345,
  ...o,
});
const index = (o: Partial<IndexRow> = {}): IndexRow => ({
  pid: 8,
  index: 'public.events_pkey',
  table: 'public.events',
  phase: 'building index: scanning table',
  blocksDone: 1234,
  blocksTotal: 5678,
  tuplesDone: 0,
  tuplesTotal: 0,
  ...o,
});

test('a COPY: rows against the expected rows, bytes; rows alone without an estimate', () => {
  expect(copyLine({ ...copy(), tuplesExpected: 2_000_000 })).toBe(
    'table public.events: 812,345 of ~2,000,000 rows (40%), 45.2 MiB',
  );
  expect(copyLine(copy())).toBe('table public.events: 812,345 rows, 45.2 MiB');
  expect(copyFraction(copy({ bytesTotal: 100, bytesProcessed: 25 }))).toBe(0.25);
});

test('an index build: blocks, else tuples, else the phase alone', () => {
  expect(indexLine(index())).toBe(
    'index public.events_pkey on public.events: building index: scanning table, 1,234 of 5,678 blocks (21%)',
  );
  expect(
    indexLine(
      index({ phase: 'building index: loading tuples in tree', blocksTotal: 0, tuplesDone: 5, tuplesTotal: 10 }),
    ),
  ).toMatch(/loading tuples in tree, 5 of 10 tuples \(50%\)$/);
  expect(indexLine(index({ phase: 'initializing', blocksTotal: 0, table: '' }))).toBe(
    'index public.events_pkey: initializing',
  );
});

test("what the restore's transaction hides from the catalog is named from pg_restore's verbose lines", () => {
  const said: ToolSaid = {};
  expect(followToolLine(said, 'pg_restore: processing data for table "public.events"')).toBe(true);
  const [c] = stepsOf([copy({ table: '', command: 'COPY FROM' })], [], new Map([['public.events', 2_000_000]]), said);
  expect(c.text).toBe('table public.events: 812,345 of ~2,000,000 rows (40%), 45.2 MiB');
  expect(followToolLine(said, 'pg_restore: creating CONSTRAINT "public.events events_pkey"')).toBe(true);
  expect(said).toEqual({ table: 'public.events', index: 'public.events_pkey' });
  followToolLine(said, 'pg_restore: creating INDEX "public.events_at"');
  const [i] = stepsOf([], [index({ index: '', table: '' })], undefined, said);
  expect(i.text).toMatch(/^index public\.events_at: building index/);
  expect(followToolLine(said, 'pg_restore: creating TABLE "public.x"')).toBe(false);
});
