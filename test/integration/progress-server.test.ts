/**
 * Issue 27 item 3, "progress that tells the truth": a 2M-row table shows its rows moving INSIDE the table during the
 * dump (the source's pg_stat_progress_copy, COPY TO) and during the restore (the target's, COPY FROM), and the index
 * builds after it show as their own step (pg_stat_progress_create_index). In-process through the pipeline's steps,
 * with the lines each phase says captured; the poll interval and the log throttle are shortened (on this shared
 * machine a 2M-row COPY takes seconds, the default log rule prints a line per ~5 s and 10%).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, expect, test } from 'vitest';
import { parseConfig, registerSecrets } from '../../lib/core/config.ts';
import { closePools } from '../../lib/core/db.ts';
import type { RunState } from '../../lib/core/state.ts';
import { PhaseLog } from '../../lib/core/tools.ts';
import type { PhaseCtx } from '../../lib/phases/phase.ts';
import { dumpStep, preflightStep, restoreStep } from '../../lib/phases/pipeline.ts';
import { serverProgressDefaults } from '../../lib/phases/server-progress.ts';
import { scenario } from '../helpers/scenario.ts';

afterAll(() => closePools());
const saved = { ...serverProgressDefaults };
afterEach(() => Object.assign(serverProgressDefaults, saved));

const ROWS = 2_000_000;

/** The distinct row counts the lines of `table` showed before the end (a line `table public.x: N of ~M rows (P%)`). */
function rowCounts(lines: string[], table: string): number[] {
  const re = new RegExp(`progress: table ${table.replace('.', '\\.')}: ([\\d,]+) (?:of ~[\\d,]+ )?rows`);
  const counts = lines.map((l) => re.exec(l)?.[1]).filter((x): x is string => x !== undefined);
  return [...new Set(counts.map((c) => Number(c.replace(/,/g, ''))))].filter((n) => n > 0 && n < ROWS);
}

test('a 2M-row table shows rows moving inside it during the dump and the restore, and its index builds as a step', async () => {
  Object.assign(serverProgressDefaults, { intervalMs: 100, logThrottle: { minIntervalMs: 0, minStep: 0.02 } });
  const s = await scenario();
  await s.src.query(
    `CREATE TABLE public.big_events (id bigint PRIMARY KEY, account int NOT NULL, payload text NOT NULL);
     INSERT INTO public.big_events SELECT g, g % 977, md5(g::text) FROM generate_series(1, ${ROWS}) g;
     CREATE INDEX big_events_payload ON public.big_events (payload);
     ANALYZE public.big_events`,
  );
  const config = parseConfig(s.env, { mode: 'full' });
  registerSecrets(config);
  const said: Record<'dump' | 'restore', string[]> = { dump: [], restore: [] };
  const log = new PhaseLog(path.join(s.workDir, 'logs', 'progress.log'));
  const state: RunState = {
    runId: 'progress-run',
    mode: 'full',
    startedAt: new Date().toISOString(),
    workDir: s.workDir,
    phases: [],
    tools: {},
  };
  const ctxOf = (phase: 'dump' | 'restore'): PhaseCtx => ({
    config,
    state,
    workDir: s.workDir,
    log,
    say: (line) => said[phase].push(line),
  });
  const { facts } = await preflightStep(config, { log });
  const { archive } = await dumpStep(ctxOf('dump'), facts);
  await restoreStep(ctxOf('restore'), archive, facts);
  log.close();
  const logText = fs.readFileSync(path.join(s.workDir, 'logs', 'progress.log'), 'utf8');
  const gaveUp = logText.split('\n').filter((l) => /server progress not available/.test(l));
  expect(gaveUp, 'the watcher gave up').toEqual([]);

  const dumpRows = rowCounts(said.dump, 'public.big_events');
  const restoreRows = rowCounts(said.restore, 'public.big_events');
  expect(dumpRows.length, `dump lines:\n${said.dump.join('\n')}`).toBeGreaterThanOrEqual(2);
  expect(restoreRows.length, `restore lines:\n${said.restore.join('\n')}`).toBeGreaterThanOrEqual(2);
  // The dump's totals come from the source's statistics, the restore's from the source's too (the target is empty).
  expect(said.dump.join('\n')).toMatch(/table public\.big_events: [\d,]+ of ~2,000,000 rows \(\d+%\), /);
  expect(said.restore.join('\n')).toMatch(/table public\.big_events: [\d,]+ of ~2,000,000 rows \(\d+%\), /);
  // Index builds are their own step, with the server's phase and its counts.
  expect(said.restore.join('\n')).toMatch(
    /progress: index public\.big_events_(pkey|payload)( on public\.big_events)?: [a-z][^,]*, [\d,]+ of [\d,]+ (blocks|tuples) \(\d+%\)/,
  );
  // The rows really arrived.
  const { rows } = await s.dst.query<{ n: string }>('SELECT count(*) AS n FROM public.big_events');
  expect(Number(rows[0].n)).toBe(ROWS);
}, 240_000);
