/**
 * The cutover plan's downtime estimate: taken from the latest GREEN full rehearsal only (a refused, failed,
 * verify-only run or an unreadable manifest never), every phase the window runs in order, hooks measured from the
 * cutover log where it has them, the buffer on the total, and the duration in every format formatDuration prints.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import type { Manifest } from '../../../lib/audit/manifest.ts';
import {
  estimateLines,
  findGreenRehearsal,
  isGreenFullRun,
  measuredHooks,
  windowEstimate,
} from '../../../lib/cutover/estimate.ts';
import type { LogEntry } from '../../../lib/cutover/log.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function manifest(over: Partial<Manifest> = {}): Manifest {
  return {
    manifestVersion: 1,
    runId: '20250101T000000Z-abcd',
    mode: 'full',
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:10:00.000Z',
    durationMs: 600_000,
    exitCode: 0,
    tools: {},
    config: {},
    phases: [
      { name: 'preflight', status: 'ok', durationMs: 5_000 },
      { name: 'dump', status: 'ok', durationMs: 120_000 },
      { name: 'restore', status: 'ok', durationMs: 240_000 },
      { name: 'mirror', status: 'ok', durationMs: 60_000 },
    ],
    totals: { passed: 100, failed: 0, skipped: 0, notSelected: 0 },
    failures: [],
    auditProblems: [],
    reports: {},
    ...over,
  };
}

function reports(runs: Array<[string, Manifest | string]>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'estimate-'));
  dirs.push(dir);
  for (const [id, m] of runs) {
    fs.mkdirSync(path.join(dir, 'runs', id), { recursive: true });
    fs.writeFileSync(path.join(dir, 'runs', id, 'manifest.json'), typeof m === 'string' ? m : JSON.stringify(m));
  }
  return dir;
}

test('only a green full rehearsal counts: refused, failed, verify-only and unreadable runs are passed over', () => {
  expect(isGreenFullRun(manifest())).toBe(true);
  expect(isGreenFullRun(manifest({ exitCode: 2 }))).toBe(false);
  expect(isGreenFullRun(manifest({ exitCode: 1, totals: { passed: 1, failed: 1, skipped: 0, notSelected: 0 } }))).toBe(
    false,
  );
  expect(isGreenFullRun(manifest({ mode: 'verify-only' }))).toBe(false);
  const dir = reports([
    ['20250101T000000Z-aaaa', manifest({ runId: '20250101T000000Z-aaaa' })],
    ['20250102T000000Z-bbbb', manifest({ runId: '20250102T000000Z-bbbb' })],
    // newer, but refused at preflight (6.9 s of phases that never ran), failed, verify-only, unreadable
    ['20250103T000000Z-cccc', manifest({ runId: '20250103T000000Z-cccc', exitCode: 2, durationMs: 6_900 })],
    ['20250104T000000Z-dddd', manifest({ runId: '20250104T000000Z-dddd', exitCode: 3 })],
    ['20250105T000000Z-eeee', manifest({ runId: '20250105T000000Z-eeee', mode: 'verify-only' })],
    ['20250106T000000Z-ffff', '{ not json'],
  ]);
  expect(findGreenRehearsal(dir)?.manifest.runId).toBe('20250102T000000Z-bbbb');
  expect(findGreenRehearsal(reports([['20250103T000000Z-cccc', manifest({ exitCode: 2 })]]))).toBeUndefined();
});

const hook = (h: string, durationMs: number, status: 'ok' | 'failed' = 'ok') => ({
  hook: h,
  variable: `CUTOVER_HOOK_${h}`,
  status,
  durationMs,
});
function entry(phase: string, hooks: LogEntry['hooks']): LogEntry {
  return { phase, start: '', end: '', status: 'ok', exitCode: 0, summary: '', hooks };
}

test('the hooks are measured from the cutover log: the latest successful run of each, over every attempt', () => {
  const log = [
    entry('freeze', [hook('maintenanceOn', 3_000), hook('stopWorkers', 20_000)]),
    entry('freeze', [hook('maintenanceOn', 5_000), hook('stopWorkers', 99_000, 'failed')]),
  ];
  expect(measuredHooks(log)).toEqual({ maintenanceOn: 5_000, stopWorkers: 20_000 });
});

test('the estimate covers every phase the window runs, in order: hooks (measured or said unmeasured) and the copy work', () => {
  const log = [
    entry('freeze', [hook('maintenanceOn', 2_000), hook('stopWorkers', 30_000)]),
    entry('freeze-check', [hook('drainCheck', 8_000)]),
    entry('switch', [hook('switch', 15_000)]),
  ];
  const e = windowEstimate(manifest(), log);
  expect(e.parts.map((p) => [p.name, p.ms])).toEqual([
    ['freeze: CUTOVER_HOOK_MAINTENANCE_ON', 2_000],
    ['freeze: CUTOVER_HOOK_STOP_WORKERS', 30_000],
    ['freeze-check: CUTOVER_HOOK_DRAIN_CHECK', 8_000],
    ['dump', 120_000],
    ['restore', 240_000],
    ['sync', 60_000],
    ['verify', 180_000],
    ['switch: CUTOVER_HOOK_SWITCH', 15_000],
    ['smoke: CUTOVER_HOOK_SMOKE', 0],
    ['unfreeze: CUTOVER_HOOK_START_WORKERS', 0],
    ['unfreeze: CUTOVER_HOOK_MAINTENANCE_OFF', 0],
  ]);
  expect(e.unmeasured).toEqual(['CUTOVER_HOOK_SMOKE', 'CUTOVER_HOOK_START_WORKERS', 'CUTOVER_HOOK_MAINTENANCE_OFF']);
  expect(e.totalMs).toBe(655_000);
  expect(e.bufferedMs).toBe(982_500);
  const lines = estimateLines(e, '20250102T000000Z-bbbb');
  expect(lines[0]).toMatch(/latest green full rehearsal 20250102T000000Z-bbbb/);
  expect(lines.at(-1)).toMatch(/ESTIMATE\s+16 min 23 s .*not measured yet: CUTOVER_HOOK_SMOKE/);
});

test('every duration format of the estimate line', () => {
  const at = (ms: number) =>
    estimateLines(
      windowEstimate(manifest({ durationMs: ms, phases: [{ name: 'dump', status: 'ok', durationMs: ms }] }), []),
      'r',
    ).at(-1)!;
  const any = /ESTIMATE\s+(?:\d+(?:\.\d+)? (?:ms|s)|\d+ min \d{2} s|\d+ h \d{2} min)\s/;
  for (const ms of [400, 4_600, 78_000, 5_000_000]) expect(at(ms)).toMatch(any);
  expect(at(78_000)).toMatch(/ESTIMATE\s+1 min 57 s/); // the format that broke the old `\S+ s` assertion
});
