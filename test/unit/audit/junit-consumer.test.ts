/**
 * junit.xml as a standard consumer reads it (junit2json, the JSON form CI dashboards import): a failing check's
 * evidence text is in `system-out`, the copy phases carry their real durations, a skipped check keeps its stable
 * name with the reason in `skipped.message`, and an interrupted run's report says it was interrupted.
 */
import { parse } from 'junit2json';
import { expect, test } from 'vitest';
import { interruptedJunitXml, junitXml } from '../../../lib/audit/junit-writer.ts';
import type { CheckRecord } from '../../../lib/audit/reporter.ts';

function check(name: string, state: CheckRecord['state'], extra: Partial<CheckRecord> = {}): CheckRecord {
  return { file: 'specs/x.spec.ts', name, fullName: name, state, errors: [], annotations: [], ...extra };
}

type Case = {
  name?: string;
  time?: number;
  'system-out'?: string[];
  failure?: Array<{ message?: string; inner?: string }>;
  skipped?: Array<{ message?: string }>;
};

async function cases(xml: string): Promise<Case[]> {
  const doc = (await parse(xml)) as { testsuite?: Array<{ testcase?: Case[] }> };
  return doc.testsuite?.flatMap((s) => s.testcase ?? []) ?? [];
}

test('a failing check shows its evidence text, phases show their real durations, skip reasons are messages', async () => {
  const xml = junitXml({
    suiteName: 'migration-rehearsal',
    properties: [['run-id', 'r1']],
    phaseDurations: { dump: 10_400, restore: 2_500 },
    checks: [
      check('phase dump', 'passed', {
        file: 'specs/phases.spec.ts',
        durationMs: 2,
        annotations: [{ type: 'evidence', message: 'dump: ok in 10400 ms' }],
      }),
      check('phase restore', 'passed', { file: 'specs/phases.spec.ts', durationMs: 1 }),
      check('phase mirror', 'skipped', {
        file: 'specs/phases.spec.ts',
        note: 'SRC_ASSETS_DIR is not set: no asset mirror',
      }),
      check('row count public.users', 'failed', {
        family: 'row-counts',
        durationMs: 40,
        errors: ['row count public.users: source 30, target 29'],
        annotations: [
          { type: 'evidence', message: 'source: 30 rows, exact (3 ms)' },
          { type: 'evidence', message: 'target: 29 rows, exact (2 ms)' },
        ],
      }),
    ],
  });
  const [dump, restore, mirror, rows] = await cases(xml);
  expect(dump.name).toBe('phase dump');
  expect(Number(dump.time)).toBeCloseTo(10.4);
  expect(Number(restore.time)).toBeCloseTo(2.5);
  expect(mirror.name).toBe('phase mirror');
  expect(mirror.skipped?.[0]?.message).toBe('SRC_ASSETS_DIR is not set: no asset mirror');
  expect(rows.failure?.[0]?.message).toBe('row count public.users: source 30, target 29');
  expect(rows['system-out']?.join('\n')).toContain('source: 30 rows, exact (3 ms)\ntarget: 29 rows, exact (2 ms)');
});

test("an interrupted run's junit.xml is one failing case that says so", async () => {
  const xml = interruptedJunitXml({
    suiteName: 'migration-rehearsal',
    properties: [['run-id', 'r2']],
    exitCode: 130,
    reason: 'stopped by SIGINT before its checks reported',
  });
  const [c] = await cases(xml);
  expect(c.name).toBe('run interrupted');
  expect(c.failure?.[0]?.message).toMatch(/interrupted \(exit 130\): stopped by SIGINT/);
});
