/**
 * lib/phases/engines/steps.ts and the schedule without a database: under COPY_ENGINE=pgcopydb the dump phase is
 * skipped with the engine's reason and the restore phase stays (the stable check names), the dry-run shows the
 * pgcopydb and fpsync commands without a secret, and the preflight's lines end with the not-atomic line.
 */
import { expect, test } from 'vitest';
import { parseConfig } from '../../../../lib/core/config.ts';
import { COPY_ENGINE_DUMP_SKIP, phaseSchedule } from '../../../../lib/phases/phase-schedule.ts';
import {
  fpsyncDryRunLines,
  pgcopydbDryRunLines,
  pgcopydbPreflightLines,
} from '../../../../lib/phases/engines/steps.ts';
import { PGCOPYDB_NOT_ATOMIC } from '../../../../lib/phases/engines/pgcopydb.ts';

const PASSWORD = 's3cr:et@x';
const env = {
  SRC_DATABASE_URL: `postgresql://app:${encodeURIComponent(PASSWORD)}@127.0.0.1:5433/legacy`,
  DST_DATABASE_URL: `postgresql://stage:${encodeURIComponent(PASSWORD)}@127.0.0.1:5434/staging`,
  SRC_ASSETS_DIR: '/srv/src/.data',
  DST_ASSETS_DIR: '/srv/dst/.data',
  WORK_DIR: '/tmp/wiring-unit-work',
  COPY_ENGINE: 'pgcopydb',
  COPY_JOBS: '3',
  ASSETS_ENGINE: 'fpsync',
  ASSETS_JOBS: '4',
};

test('COPY_ENGINE=pgcopydb: phase dump skipped with the engine reason, restore and mirror kept (same names)', () => {
  const schedule = phaseSchedule(parseConfig(env));
  expect(schedule.map((p) => [p.name, p.wanted])).toEqual([
    ['preflight', true],
    ['dump', false],
    ['restore', true],
    ['mirror', true],
  ]);
  expect(schedule[1].whyNot).toBe(COPY_ENGINE_DUMP_SKIP);
  const plain = phaseSchedule(parseConfig({ ...env, COPY_ENGINE: 'pg_dump', COPY_JOBS: undefined }));
  expect(plain[1].wanted).toBe(true);
});

test('the dry-run lines: the not-atomic line, pgcopydb clone with COPY_JOBS, fpsync -n ASSETS_JOBS, no password', () => {
  const config = parseConfig(env);
  const copy = pgcopydbDryRunLines(config, '/w').join('\n');
  expect(copy).toContain(PGCOPYDB_NOT_ATOMIC);
  expect(copy).toMatch(/pgcopydb clone --dir=\/w\/pgcopydb --table-jobs=3 --index-jobs=3/);
  const mirror = fpsyncDryRunLines(config, '/w').join('\n');
  expect(mirror).toMatch(/fpsync -v -v -n 4 /);
  for (const text of [copy, mirror]) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(encodeURIComponent(PASSWORD));
  }
  expect(pgcopydbDryRunLines(parseConfig({ ...env, DST_DROP_SCHEMA: '1' }), '/w').join('\n')).toMatch(
    /DST_DROP_SCHEMA drops what the last restore created .* before pgcopydb/,
  );
});

test('the preflight lines name the version and majors, the filter decisions, and end with the not-atomic line', () => {
  const lines = pgcopydbPreflightLines({
    bin: '/usr/bin/pgcopydb',
    version: '0.10',
    features: { split: true, filters: true, skipExtensions: true },
    majors: { src: 15, dst: 15 },
    filter: { skipExtensions: true, lines: ['extensions: the target has every source extension; --skip-extensions'] },
  });
  expect(lines[0]).toBe('pgcopydb 0.10 (/usr/bin/pgcopydb): source 15, target 15 supported');
  expect(lines).toContain('extensions: the target has every source extension; --skip-extensions');
  expect(lines.at(-1)).toBe(PGCOPYDB_NOT_ATOMIC);
});
