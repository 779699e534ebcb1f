/**
 * The cutover's pure parts (issue 8): configuration, the order rules over the log, the rollback plan, the rehearsal
 * gate, the downtime estimate, and the hook runner's timeout and redaction.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../../lib/core/errors.ts';
import { parseCutoverConfig, type CutoverConfig } from '../../../lib/cutover/config.ts';
import { formatDuration } from '../../../lib/core/format.ts';
import { downtimeEstimate } from '../../../lib/cutover/estimate.ts';
import { findRehearsal, judgeRehearsal, type FoundManifest } from '../../../lib/cutover/gate.ts';
import { runHook } from '../../../lib/cutover/hooks.ts';
import { acquireLock } from '../../../lib/cutover/lock.ts';
import { currentAttempt, type LogEntry } from '../../../lib/cutover/log.ts';
import { orderProblem, rollbackPlan } from '../../../lib/cutover/phases.ts';
import { parseDsn } from '../../../lib/core/dsn.ts';
import type { Manifest } from '../../../lib/audit/manifest.ts';
import { redactor } from '../../../lib/core/redact.ts';
import { PhaseLog } from '../../../lib/core/tools.ts';

const ENV = {
  SRC_DATABASE_URL: `postgresql://app:${'<password>'}@db-old.example:5432/app`,
  DST_DATABASE_URL: `postgresql://app:${'<password>'}@db-new.example:5432/app`,
  SRC_ASSETS_DIR: '/srv/old/.data',
  DST_ASSETS_DIR: '/srv/new/.data',
  WORK_DIR: '/srv/cutover/2025-01-01',
};

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-unit-'));
}

describe('parseCutoverConfig', () => {
  test('defaults, and the hooks by variable', () => {
    const c = parseCutoverConfig({ ...ENV, CUTOVER_HOOK_SWITCH: 'deploy switch', CUTOVER_HOOK_SMOKE: '  ' });
    expect(c).toMatchObject({
      workDir: '/srv/cutover/2025-01-01',
      maxRehearsalAgeDays: 7,
      hookTimeoutMs: 300_000,
      verifyTimeoutMs: 3_600_000,
      freezeIgnoreApps: [],
    });
    expect(c.hooks).toEqual({ switch: 'deploy switch' });
    expect(c.base.src?.host).toBe('db-old.example');
  });

  test("every problem at once, the shared contract and the cutover's own", () => {
    let err: ConfigError | undefined;
    try {
      parseCutoverConfig({
        SRC_DB_DUMP_PATH: '/tmp/x.dump',
        DST_ASSETS_DIR: '/srv/new/.data',
        CUTOVER_MAX_REHEARSAL_AGE_DAYS: 'a week',
        CUTOVER_HOOK_TIMEOUT_MS: '5',
      });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const p = err!.problems.join('\n');
    expect(p).toMatch(/^DST_DATABASE_URL is not set/m);
    expect(p).toContain('CUTOVER_MAX_REHEARSAL_AGE_DAYS="a week" is not a whole number');
    expect(p).toContain('CUTOVER_HOOK_TIMEOUT_MS=5 is out of range');
    expect(p).toContain('WORK_DIR is not set; the cutover needs a fixed path');
    expect(p).toContain('SRC_DATABASE_URL is not set');
    expect(p).toContain('SRC_DB_DUMP_PATH is set, but the cutover makes its own dump');
    expect(p).toContain('SRC_ASSETS_DIR is not set');
    expect(p).not.toContain('nothing to restore');
  });

  test('target == source is refused by the shared contract', () => {
    expect(() =>
      parseCutoverConfig({
        ...ENV,
        DST_DATABASE_URL: 'host=db-old.example port=5432 dbname=app user=x password=<password>',
      }),
    ).toThrow(/name the same database/);
  });

  test('COPY_ENGINE=pgcopydb is refused for the cutover (not atomic); ASSETS_ENGINE=fpsync is accepted', () => {
    expect(() => parseCutoverConfig({ ...ENV, COPY_ENGINE: 'pgcopydb' })).toThrow(
      /COPY_ENGINE=pgcopydb is for rehearsals only/,
    );
    expect(parseCutoverConfig({ ...ENV, ASSETS_ENGINE: 'fpsync' }).base.assetsEngine).toBe('fpsync');
  });
});

let clock = Date.parse('2025-01-01T10:00:00Z');
function e(phase: string, status: LogEntry['status'] = 'ok'): LogEntry {
  const at = new Date((clock += 60_000)).toISOString();
  return {
    phase,
    start: at,
    end: at,
    status,
    exitCode: { ok: 0, red: 1, refused: 2, failed: 3, interrupted: 130, note: 0 }[status],
    summary: `${phase} ${status}`,
  };
}
const run = (...phases: string[]) => phases.map((p) => e(p));

describe('order rules', () => {
  const upToVerify = run('freeze', 'freeze-check', 'dump', 'restore', 'sync', 'verify');

  test('each phase names the one that must come first', () => {
    expect(orderProblem('freeze', [])).toBeUndefined();
    expect(orderProblem('presync', [])).toBeUndefined();
    expect(orderProblem('dump', [])).toBe('dump needs freeze-check first: run npm run cutover -- --phase freeze-check');
    expect(orderProblem('switch', run('freeze', 'freeze-check', 'dump', 'restore', 'sync'))).toBe(
      'switch needs verify first: run npm run cutover -- --phase verify',
    );
    expect(orderProblem('verify', run('freeze', 'freeze-check', 'dump', 'restore'))).toMatch(
      /^verify needs sync first/,
    );
    expect(orderProblem('switch', upToVerify)).toBeUndefined();
  });

  test('a red or failed prerequisite blocks, and says what it was', () => {
    const red = [...run('freeze', 'freeze-check', 'dump', 'restore', 'sync'), e('verify', 'red')];
    expect(orderProblem('switch', red)).toMatch(
      /^switch needs a successful verify first; the last verify \(at .*\) was red: verify red\. .*--rollback --confirm/,
    );
    // A later green verify clears it; a refusal entry changes nothing.
    expect(orderProblem('switch', [...red, e('verify'), e('switch', 'refused')])).toBeUndefined();
  });

  test('a result made stale by a later write must be redone', () => {
    expect(orderProblem('switch', [...upToVerify, e('restore')])).toMatch(
      /^switch needs verify again: restore ran at .* after the last verify/,
    );
    expect(orderProblem('dump', [...run('freeze', 'freeze-check'), e('freeze')])).toMatch(
      /^dump needs freeze-check again: freeze ran/,
    );
  });

  test('after the switch the target is live: no more writes to it; unfreeze only after a green smoke', () => {
    const switched = [...upToVerify, e('switch')];
    expect(orderProblem('restore', switched)).toMatch(/the target is live/);
    expect(orderProblem('presync', switched)).toMatch(/the target is live/);
    expect(orderProblem('unfreeze', switched)).toMatch(/^unfreeze needs smoke first/);
    expect(orderProblem('unfreeze', [...switched, e('smoke', 'red')])).toMatch(
      /^unfreeze needs a successful smoke first/,
    );
    expect(orderProblem('unfreeze', [...switched, e('smoke')])).toBeUndefined();
    expect(orderProblem('unfreeze', run('freeze'))).toMatch(/--rollback --confirm/);
  });

  test('a rollback or an unfreeze closes the attempt; the next starts from the freeze', () => {
    const rolled = [...upToVerify, e('rollback')];
    expect(currentAttempt(rolled)).toEqual([]);
    expect(orderProblem('switch', rolled)).toMatch(/^switch needs verify first/);
    expect(orderProblem('freeze-check', rolled)).toMatch(
      /^freeze-check needs freeze first \(the previous attempt ended with rollback at .*\)/,
    );
    // A failed rollback does not close it.
    expect(currentAttempt([...upToVerify, e('rollback', 'failed')])).toHaveLength(7);
  });
});

describe('rollback plan', () => {
  test('before the switch: unfreeze hooks; after: switch-back first; after a completed cutover: refused', () => {
    expect(rollbackPlan([])).toMatchObject({ kind: 'nothing' });
    expect(rollbackPlan(run('presync'))).toMatchObject({ kind: 'hooks', hooks: [] });
    expect(rollbackPlan([...run('freeze', 'freeze-check'), e('dump', 'failed')])).toMatchObject({
      kind: 'hooks',
      switched: false,
      hooks: ['startWorkers', 'maintenanceOff'],
    });
    expect(
      rollbackPlan([...run('freeze', 'freeze-check', 'dump', 'restore', 'sync', 'verify'), e('switch', 'failed')]),
    ).toMatchObject({ kind: 'hooks', switched: true, hooks: ['switchBack', 'startWorkers', 'maintenanceOff'] });
    expect(
      rollbackPlan(run('freeze', 'freeze-check', 'dump', 'restore', 'sync', 'verify', 'switch', 'smoke', 'unfreeze')),
    ).toMatchObject({ kind: 'refused', message: expect.stringMatching(/the window is closed/) });
    expect(rollbackPlan(run('freeze', 'rollback'))).toMatchObject({
      kind: 'nothing',
      message: expect.stringMatching(/already rolled back/),
    });
  });
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
    config: { SRC_DATABASE_URL: 'postgresql://app:***@db-old.example:5432/app' },
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

describe('rehearsal gate', () => {
  const src = parseDsn(ENV.SRC_DATABASE_URL);
  const at = new Date('2025-01-03T00:00:00Z');
  const found = (m: Manifest): FoundManifest => ({ manifest: m, runDir: '/r/runs/x', via: 'latest' });

  test('green, same source (whatever the DSN form), recent enough', () => {
    const v = judgeRehearsal(
      found(manifest()),
      parseDsn('host=db-old.example port=5432 dbname=app user=other password=<password>'),
      7,
      at,
      '/r',
    );
    expect(v).toMatchObject({ ok: true, runId: '20250101T000000Z-abcd' });
    expect(v.message).toMatch(/green \(100 checks passed\), same source, 2\.0 days old \(limit 7\)/);
  });

  test('each reason to refuse is named, with the way forward', () => {
    expect(judgeRehearsal(undefined, src, 7, at, '/r').message).toMatch(
      /^no rehearsal manifest in REPORTS_DIR \(\/r\).*npm test/,
    );
    const red = judgeRehearsal(
      found(
        manifest({
          exitCode: 1,
          totals: { passed: 99, failed: 1, skipped: 0, notSelected: 0 },
          failures: [{ file: 'specs/row-counts.spec.ts', name: 'row count public.users' }],
        }),
      ),
      src,
      7,
      at,
      '/r',
    );
    expect(red.ok).toBe(false);
    expect(red.message).toContain('it is not green (exit 1, 1 failed check(s), e.g. row count public.users)');
    const other = judgeRehearsal(
      found(manifest({ config: { SRC_DATABASE_URL: 'postgresql://app:***@db-other.internal:5432/app' } })),
      src,
      7,
      at,
      '/r',
    );
    expect(other.message).toContain(
      'it rehearsed another source (db-other.internal:5432/app), not db-old.example:5432/app',
    );
    const old = judgeRehearsal(found(manifest()), src, 1, at, '/r');
    expect(old.message).toMatch(
      /it is too old: finished 2025-01-01T00:10:00.000Z, 2\.0 days before .* more than CUTOVER_MAX_REHEARSAL_AGE_DAYS=1/,
    );
  });

  test('a later verify-only run does not hide the newest full rehearsal', () => {
    const dir = tmp();
    const write = (id: string, m: Manifest) => {
      fs.mkdirSync(path.join(dir, 'runs', id), { recursive: true });
      fs.writeFileSync(path.join(dir, 'runs', id, 'manifest.json'), JSON.stringify(m));
    };
    write('20250101T000000Z-aaaa', manifest({ runId: '20250101T000000Z-aaaa' }));
    write('20250102T000000Z-bbbb', manifest({ runId: '20250102T000000Z-bbbb', mode: 'verify-only' }));
    fs.writeFileSync(
      path.join(dir, 'latest.json'),
      JSON.stringify({ runId: '20250102T000000Z-bbbb', dir: 'runs/20250102T000000Z-bbbb' }),
    );
    expect(findRehearsal(dir)).toMatchObject({ via: 'newest full run', manifest: { runId: '20250101T000000Z-aaaa' } });
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

test('the downtime estimate is dump + restore + sync + verify from the rehearsal, plus 50 %', () => {
  const est = downtimeEstimate(manifest());
  expect(est.parts.map((p) => [p.name, p.ms])).toEqual([
    ['dump', 120_000],
    ['restore', 240_000],
    ['sync', 60_000],
    ['verify', 180_000],
  ]);
  expect(est.totalMs).toBe(600_000);
  expect(est.bufferedMs).toBe(900_000);
  expect(formatDuration(900_000)).toBe('15 min 00 s');
  expect(formatDuration(5_400_000)).toBe('1 h 30 min');
});

describe('hooks', () => {
  const config = (hooks: CutoverConfig['hooks'], hookTimeoutMs = 10_000) => ({
    ...parseCutoverConfig(ENV),
    hooks,
    hookTimeoutMs,
    workDir: tmp(),
  });

  test('the exit code is recorded and every output line is redacted', async () => {
    redactor.add('hook-secret-value');
    const lines: string[] = [];
    const log = new PhaseLog();
    const c = config({ drainCheck: 'echo token hook-secret-value; exit 4' });
    const rec = await runHook(c, 'drainCheck', { phase: 'freeze-check', log, say: (l) => lines.push(l) });
    expect(rec).toMatchObject({ status: 'failed', exitCode: 4, variable: 'CUTOVER_HOOK_DRAIN_CHECK' });
    expect(lines.join('\n')).toContain('token ***');
    expect(lines.join('\n')).not.toContain('hook-secret-value');
    const skipped = await runHook(c, 'smoke', { phase: 'smoke', log, say: () => {} });
    expect(skipped).toMatchObject({ status: 'skipped', variable: 'CUTOVER_HOOK_SMOKE' });
  });

  test('a hook that outlives CUTOVER_HOOK_TIMEOUT_MS is stopped with its children', async () => {
    const c = config({ switch: 'sleep 30 & sleep 30; echo never' }, 300);
    const t0 = Date.now();
    const rec = await runHook(c, 'switch', { phase: 'switch', log: new PhaseLog(), say: () => {} });
    expect(rec.status).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

test('one invocation at a time per WORK_DIR; a stale lock is taken over', () => {
  const dir = tmp();
  const a = acquireLock(dir, 'dump');
  expect(a.ok).toBe(true);
  const b = acquireLock(dir, 'restore');
  expect(b).toMatchObject({ ok: false });
  // Held by this very process here, so simulate another live holder: pid 1 always exists.
  if (a.ok) a.release();
  fs.writeFileSync(path.join(dir, 'cutover.lock'), JSON.stringify({ pid: 1, what: 'restore', since: 'now' }));
  expect(acquireLock(dir, 'sync')).toMatchObject({
    ok: false,
    message: expect.stringMatching(/another cutover invocation is running .*pid 1, restore/),
  });
  fs.writeFileSync(
    path.join(dir, 'cutover.lock'),
    JSON.stringify({ pid: 2 ** 22 + 12345, what: 'restore', since: 'then' }),
  );
  const c = acquireLock(dir, 'sync');
  expect(c.ok).toBe(true);
  if (c.ok) c.release();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the cutover keeps the links production has (ISOLATION=keep) unless the operator chose otherwise', async () => {
  const { withCutoverDefaults } = await import('../../../lib/cutover/config.ts');
  expect(withCutoverDefaults({}).ISOLATION).toBe('keep');
  expect(withCutoverDefaults({ ISOLATION: 'detach' }).ISOLATION).toBe('detach');
});
