/**
 * The run protocol between `rehearse`, global setup and the spec workers: the configuration parsed once travels as
 * data and comes back equal; the derived variables the reporter and the phases spec read are set; an environment
 * without the record (vitest by hand, --list, the bench's peer) is still understood.
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
    expect(env.REHEARSAL_RUN_ID).toBe(p.runId);
    expect(env.REHEARSAL_RUN_DIR).toBe(p.runDir);
    expect(env.REHEARSAL_ONLY_PHASES).toBeUndefined();
    expect(Object.keys(env).sort()).toEqual([PROTOCOL_VAR, 'REHEARSAL_RUN_DIR', 'REHEARSAL_RUN_ID']);
  });

  test('a refused preflight: the phases spec alone', () => {
    expect(toEnv({ mode: 'full', onlyPhases: true }).REHEARSAL_ONLY_PHASES).toBe('1');
  });

  test('without the record: the legacy variables, or nothing', () => {
    expect(fromEnv({})).toBeUndefined();
    expect(fromEnv({ REHEARSAL_MODE: 'list' })).toEqual({ mode: 'list' });
    expect(fromEnv({ REHEARSAL_RUN_ID: 'x', REHEARSAL_WORK_DIR: '/w', REHEARSAL_MODE: 'verify-only' })).toMatchObject({
      runId: 'x',
      workDir: '/w',
      mode: 'verify-only',
    });
  });

  test('a broken record is a bug, said plainly', () => {
    expect(() => fromEnv({ [PROTOCOL_VAR]: '{"mode":"sideways"}' })).toThrow(/not a run protocol record/);
  });
});
