/**
 * rw12 (../shared/cases/rw12-hnsw-memory.sql): 20,000 × vector(32) with an HNSW index, restored into a target database
 * set to `maintenance_work_mem = 1MB`. The restore session gets a sensible maintenance_work_mem of its own (PGOPTIONS,
 * lib/phases/restore-tuning.ts; seen from inside the restore's session by an event trigger), so the index is built in
 * memory, and the ANALYZE after it runs on several connections; and when the operator forces a small value, the
 * server's NOTICE and its HINT reach the restore log and the console summary.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { rehearse, ROOT, scenario, stateOf, type Scenario } from '../../helpers/scenario.ts';

const CASES = path.resolve(ROOT, '../shared/cases');
const SQL = fs.readFileSync(path.join(CASES, 'rw12-hnsw-memory.sql'), 'utf8');

/**
 * The case's world; `rows` shrinks its 20,000 vectors (the forced-1MB test: the graph outgrows 1MB after about 1,150
 * vector(32) tuples, so 4,000 show the NOTICE in seconds where 20,000 built on disk for half a minute).
 */
async function rw12(rows?: number): Promise<Scenario> {
  const s = await scenario({ fixture: false });
  const series = 'generate_series(1,20000)';
  expect(SQL, 'the case loads 20,000 vectors').toContain(series);
  await s.src.query(rows ? SQL.replace(series, `generate_series(1,${rows})`) : SQL);
  await s.dst.query(`ALTER DATABASE ${s.dst.name} SET maintenance_work_mem TO '1MB'`);
  return s;
}

const ENV = { HEALTH_CHECK: '0', SRC_ASSETS_DIR: undefined, ASSET_COLUMNS: 'emb.id:file', CHECKSUM: 'off' };

function restoreLog(s: Scenario): string {
  return fs.readFileSync(path.join(s.workDir, 'logs', 'restore.log'), 'utf8');
}

test(
  'rw12: the restore session builds the HNSW index with its own maintenance_work_mem (not the database’s 1MB)',
  { timeout: 300_000 },
  async () => {
    const s = await rw12();
    // What the restore's own session runs with, seen from inside it: an event trigger records the settings in force
    // at each CREATE INDEX (the NOTICE cannot tell: pg_restore's session hides NOTICEs from its client).
    await s.dst.query(`CREATE SCHEMA probe;
      CREATE TABLE probe.seen (tag text, mwm bigint, workers int);
      CREATE FUNCTION probe.record() RETURNS event_trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO probe.seen SELECT tg_tag, pg_size_bytes(current_setting('maintenance_work_mem')),
          current_setting('max_parallel_maintenance_workers')::int;
      END $$;
      CREATE EVENT TRIGGER probe_seen ON ddl_command_end WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION probe.record();`);
    const r = await rehearse([], { ...s.env, ...ENV }, { timeoutMs: 280_000 });
    const restore = stateOf(s)?.phases.find((p) => p.name === 'restore');
    if (!restore) throw new Error(r.output.slice(-3000));
    expect(restore.status, r.output).toBe('ok');
    const settings = restore.details!.sessionSettings as Record<string, string>;
    expect(settings.maintenance_work_mem, JSON.stringify(restore.details)).toMatch(/^\d+MB$/);
    expect(parseInt(settings.maintenance_work_mem, 10)).toBeGreaterThanOrEqual(64);
    expect(settings.synchronous_commit).toBe('off');
    // The settings reached the server session that built the index (not the database's 1MB).
    const seen = (await s.dst.query(`SELECT tag, mwm::text, workers FROM probe.seen`)).rows;
    expect(seen.length, JSON.stringify(seen)).toBeGreaterThan(0);
    for (const row of seen) {
      expect(Number(row.mwm), JSON.stringify(seen)).toBe(parseInt(settings.maintenance_work_mem, 10) * 2 ** 20);
      if (settings.max_parallel_maintenance_workers !== undefined)
        expect(String(row.workers)).toBe(settings.max_parallel_maintenance_workers);
    }
    const log = restoreLog(s);
    expect(log).toMatch(/restore session: maintenance_work_mem=\d+MB \(auto: /);
    expect(log).toMatch(/PGOPTIONS=/);
    expect(log).not.toMatch(/no longer fits into maintenance_work_mem/);
    expect(r.stdout).toMatch(/restore session: maintenance_work_mem=\d+MB/);
    // The database setting itself is untouched, and the index exists.
    const [db] = (await s.dst.query(`SELECT current_setting('maintenance_work_mem') AS m`)).rows;
    expect(db.m).toBe('1MB');
    const idx = await s.dst.query(`SELECT indexdef FROM pg_indexes WHERE indexname = 'emb_v_hnsw'`);
    expect(idx.rows[0]?.indexdef).toMatch(/USING hnsw/);
    // ANALYZE after the commit, on more than one connection on this 2+-core machine.
    expect(log).toMatch(/ANALYZE: \d+ relation\(s\) on \d+ connection\(s\) \(auto: the \d+ cores of this machine/);
    expect((restore.details!.analyze as { jobs: number }).jobs).toBeGreaterThanOrEqual(Math.min(2, os.cpus().length));
    const analyzed = await s.dst.query(`SELECT reltuples FROM pg_class WHERE relname = 'emb'`);
    expect(Number(analyzed.rows[0].reltuples)).toBeGreaterThan(0);
  },
);

test(
  'rw12: with a forced 1MB, the server’s NOTICE reaches the restore log and its HINT the console summary',
  { timeout: 420_000 },
  async () => {
    const s = await rw12(4000);
    // DST_DROP_SCHEMA=1 restores through psql, which shows the server's NOTICEs (pg_restore itself runs its session
    // with client_min_messages=warning, so only WARNINGs reach its output).
    const r = await rehearse(
      [],
      { ...s.env, ...ENV, DST_DROP_SCHEMA: '1', RESTORE_MAINTENANCE_WORK_MEM: '1MB' },
      { timeoutMs: 400_000 },
    );
    const restore = stateOf(s)?.phases.find((p) => p.name === 'restore');
    if (!restore) throw new Error(r.output.slice(-3000));
    expect(restore.status, r.output).toBe('ok');
    expect((restore.details!.sessionSettings as Record<string, string>).maintenance_work_mem).toBe('1MB');
    const log = restoreLog(s);
    expect(log).toMatch(/server NOTICE: hnsw graph no longer fits into maintenance_work_mem after \d+ tuples/);
    expect(log).toMatch(/HINT: Increase maintenance_work_mem to speed up builds/);
    const summary = r.stdout.slice(r.stdout.lastIndexOf('── summary'));
    expect(summary).toMatch(
      /server said: NOTICE: hnsw graph no longer fits into maintenance_work_mem after \d+ tuples .*HINT: Increase maintenance_work_mem/,
    );
  },
);
