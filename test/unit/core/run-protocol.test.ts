/**
 * The run protocol between `rehearse`, global setup and the spec workers: the configuration parsed once travels as
 * data and comes back equal in ONE variable (no derived REHEARSAL_* variable); without the record there is no run.
 */
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../../lib/core/config.ts';
import { fromEnv, PROTOCOL_VAR, toEnv, type RunProtocol } from '../../../lib/core/run-protocol.ts';

const ENV = {
  SRC_DATABASE_URL: `postgresql://legacy:${'s3cr%27t'}@db.invalid:55432/legacy?sslmode=require`, // secret-scan:allow (made-up fixture password)
  DST_DATABASE_URL: "host=stage.invalid port=55433 dbname=staging user=rehearsal password='p w'", // secret-scan:allow (made-up fixture password)
  SRC_ASSETS_DIR: '/srv/legacy/.data',
  DST_ASSETS_DIR: '/srv/staging/.data',
  VALIDATE_TABLES: 'public.users,app."Events"',
  ORPHAN_RELATIONS: 'ugc_assets.user_id->users.id',
  ASSET_COLUMNS: 'knowledge_materials.storage_path:file',
  RESTORE_MAINTENANCE_WORK_MEM: 'auto',
};

describe('run protocol', () => {
  test('the configuration parsed by the CLI comes back equal in the child (no second parse)', () => {
    const config = parseConfig(ENV, { mode: 'full' });
    const p: RunProtocol = {
      runId: '20261207T040000Z-abcd',
      mode: 'rerun',
      runDir: '/r/runs/20261207T040000Z-abcd',
      workDir: '/w',
      planFile: '/r/runs/old/plan.json',
      preflightFile: '/w/preflight.json',
      config,
    };
    const env = toEnv(p);
    expect(fromEnv(env)).toEqual(p);
    expect(fromEnv(env)!.config).toEqual(config);
    // One variable, no REHEARSAL_* derived from it: every reader goes through fromEnv.
    expect(Object.keys(env)).toEqual([PROTOCOL_VAR]);
  });

  test('a refused preflight: the phases spec alone, said by the record', () => {
    const env = toEnv({ mode: 'full', onlyPhases: true });
    expect(Object.keys(env)).toEqual([PROTOCOL_VAR]);
    expect(fromEnv(env)?.onlyPhases).toBe(true);
  });

  test('without the record (vitest started by hand): no run, whatever else is set', () => {
    expect(fromEnv({})).toBeUndefined();
    expect(fromEnv({ REHEARSAL_RUN_DIR: '/r', REHEARSAL_MODE: 'list' })).toBeUndefined();
  });

  test('a broken record is a bug, said plainly', () => {
    expect(() => fromEnv({ [PROTOCOL_VAR]: '{"mode":"sideways"}' })).toThrow(/not a run protocol record/);
  });
});
