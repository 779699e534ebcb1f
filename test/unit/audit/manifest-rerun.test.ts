/** prepareRerun and its pieces, against hand-made run folders (the end-to-end flow is in test/integration/rerun.test.ts). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { effectiveConfig, parseConfig, type Config } from '../../../lib/core/config.ts';
import { ConfigError } from '../../../lib/core/errors.ts';
import { updateLatest } from '../../../lib/audit/history.ts';
import type { CheckRecord, ChecksFile } from '../../../lib/audit/reporter.ts';
import { escapeRegExp, namePattern, prepareRerun, rerunOutcome } from '../../../lib/audit/run-record.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup(): { reports: string; config: Config } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rerun-unit-'));
  dirs.push(root);
  const reports = path.join(root, 'reports');
  const config = parseConfig(
    {
      DST_DATABASE_URL: `postgresql://u:${'pw-secret'}@127.0.0.1:5999/staging`,
      DST_ASSETS_DIR: path.join(root, 'dst'),
      REPORTS_DIR: reports,
    },
    { mode: 'verify-only' },
  );
  return { reports, config };
}

function check(file: string, name: string, state: CheckRecord['state'], extra: Partial<CheckRecord> = {}): CheckRecord {
  return { file, name, fullName: name, namePath: [name], state, errors: [], annotations: [], ...extra };
}

function writeRun(
  reports: string,
  id: string,
  config: Config,
  checks: CheckRecord[],
  opts: { plan?: boolean; configOverride?: Record<string, string> } = {},
) {
  const dir = path.join(reports, 'runs', id);
  fs.mkdirSync(dir, { recursive: true });
  const file: ChecksFile = { runId: id, finishedAt: 'x', reason: 'failed', unhandledErrors: [], checks };
  fs.writeFileSync(path.join(dir, 'checks.json'), JSON.stringify(file));
  fs.writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({ runId: id, config: { ...effectiveConfig(config), ...opts.configOverride } }),
  );
  if (opts.plan !== false) fs.writeFileSync(path.join(dir, 'plan.json'), '{}');
  updateLatest(reports, { runId: id, dir: `runs/${id}`, finishedAt: 'x', exitCode: 1 });
  return dir;
}

function refusal(config: Config): string {
  try {
    prepareRerun(config);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('prepareRerun did not refuse');
}

describe('namePattern', () => {
  const names = [
    'orphans gallery_items(owner_id, gallery_slug) -> galleries(owner_id, slug)',
    'row count public.users',
    'health GET /health?x=[1]+$',
  ];
  const re = new RegExp(namePattern(names));

  test('matches each name exactly, special characters included', () => {
    for (const n of names) expect(re.test(n), n).toBe(true);
  });

  test('does not match a longer name that contains one of them, or a near miss', () => {
    expect(re.test('row count public.users_archive')).toBe(false);
    expect(re.test('suite row count public.users')).toBe(false);
    expect(re.test('row count publicXusers')).toBe(false);
  });

  test('a name recorded with a masked secret matches the real name without the secret reaching the pattern', () => {
    const p = namePattern(['health GET /health?token=***']);
    expect(p).not.toContain('s3cr3t');
    expect(new RegExp(p).test('health GET /health?token=s3cr3t')).toBe(true);
    expect(new RegExp(p).test('health GET /other?token=s3cr3t')).toBe(false);
  });

  test('escapeRegExp escapes every metacharacter', () => {
    const s = '.*+?^${}()|[]\\/';
    expect(new RegExp(`^${escapeRegExp(s)}$`).test(s)).toBe(true);
  });
});

describe('prepareRerun', () => {
  test('refuses when there is no previous run', () => {
    const { config } = setup();
    expect(refusal(config)).toMatch(
      /--rerun-failed: there is no previous run in REPORTS_DIR .*run the rehearsal first/,
    );
  });

  test('refuses when the latest run checked another target, naming what differs (redacted)', () => {
    const { reports, config } = setup();
    writeRun(reports, 'r1', config, [check('specs/a.spec.ts', 'x', 'failed')], {
      configOverride: { DST_DATABASE_URL: 'postgresql://u:***@127.0.0.1:5999/other' },
    });
    const msg = refusal(config);
    expect(msg).toMatch(
      /the latest run r1 checked a different target \(DST_DATABASE_URL was postgresql:\/\/u:\*\*\*@127\.0\.0\.1:5999\/other, now postgresql:\/\/u:\*\*\*@127\.0\.0\.1:5999\/staging\)/,
    );
    expect(msg).not.toContain('pw-secret');
  });

  test('says there is nothing to do when the latest run had no failures', () => {
    const { reports, config } = setup();
    writeRun(reports, 'r1', config, [
      check('specs/a.spec.ts', 'x', 'passed'),
      check('specs/a.spec.ts', 'y', 'skipped'),
    ]);
    expect(prepareRerun(config)).toEqual({
      kind: 'nothing',
      message: '--rerun-failed: the latest run r1 had no failed checks (1 passed, 1 skipped); nothing to rerun',
    });
  });

  test('reruns exactly the failed checks: their files as filters, an anchored name pattern, the retried plan', () => {
    const { reports, config } = setup();
    const dir = writeRun(reports, 'r1', config, [
      check('specs/row-counts.spec.ts', 'row count public.users', 'failed'),
      check('specs/row-counts.spec.ts', 'row count public.galleries', 'passed'),
      check('specs/health.spec.ts', 'health GET /health', 'failed'),
      check('specs/phases.spec.ts', 'phase dump (--verify-only: no copy phases)', 'skipped'),
      check('specs/assets.spec.ts', 'asset x', 'skipped', { selected: false }),
    ]);
    const plan = prepareRerun(config);
    expect(plan).toEqual({
      kind: 'rerun',
      rerunOf: 'r1',
      planFile: path.join(dir, 'plan.json'),
      vitestArgs: [
        'specs/health.spec.ts',
        'specs/row-counts.spec.ts',
        '--testNamePattern=^(?:health GET \\/health|row count public\\.users)$',
      ],
      previouslyFailed: [
        'specs/row-counts.spec.ts › row count public.users',
        'specs/health.spec.ts › health GET /health',
      ],
    });
  });

  test('refuses when a copy phase failed (a rerun does not copy)', () => {
    const { reports, config } = setup();
    writeRun(reports, 'r1', config, [
      check('specs/phases.spec.ts', 'phase restore', 'failed'),
      check('specs/health.spec.ts', 'health GET /health', 'failed'),
    ]);
    expect(refusal(config)).toMatch(
      /failed in a copy phase \(phase restore\), and a rerun does not copy again; fix the cause and run the full rehearsal/,
    );
  });

  test('refuses when a spec failed to load (its checks have no names)', () => {
    const { reports, config } = setup();
    writeRun(reports, 'r1', config, [
      {
        file: 'specs/a.spec.ts',
        name: '(module specs/a.spec.ts failed to load)',
        fullName: 'specs/a.spec.ts',
        state: 'failed',
        errors: ['x'],
        annotations: [],
      },
    ]);
    expect(refusal(config)).toMatch(/specs\/a\.spec\.ts failed to load/);
  });

  test('refuses when the latest run kept no plan', () => {
    const { reports, config } = setup();
    writeRun(reports, 'r1', config, [check('specs/health.spec.ts', 'health GET /health', 'failed')], { plan: false });
    expect(refusal(config)).toMatch(/recorded no plan \(plan\.json/);
  });
});

test('rerunOutcome sorts the previously failed checks into now passing, still failing and not run', () => {
  const prev: ChecksFile = {
    finishedAt: '',
    reason: 'failed',
    unhandledErrors: [],
    checks: [
      check('f', 'a', 'failed'),
      check('f', 'b', 'failed'),
      check('f', 'c', 'failed'),
      check('f', 'd', 'passed'),
    ],
  };
  const now: ChecksFile = {
    finishedAt: '',
    reason: 'failed',
    unhandledErrors: [],
    checks: [
      check('f', 'a', 'passed'),
      check('f', 'b', 'failed'),
      check('f', 'c', 'skipped', { selected: false }),
      check('f', 'd', 'skipped', { selected: false }),
    ],
  };
  expect(rerunOutcome('r1', prev, now)).toEqual({
    of: 'r1',
    previouslyFailed: ['f › a', 'f › b', 'f › c'],
    nowPassing: ['f › a'],
    stillFailing: ['f › b'],
    notRun: ['f › c'],
  });
});
