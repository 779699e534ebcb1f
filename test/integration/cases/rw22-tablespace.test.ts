/**
 * rw22: a table and its index on tablespace `fastssd`, which only the source cluster has. Expected: exit 2 from
 * preflight (before the dump) naming the missing tablespace, and RESTORE_NO_TABLESPACES=1 restores without
 * tablespaces so the rehearsal can go on.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { dropDatabase, withClient } from '../../../lib/sandbox/clusters.ts';
import { rehearse, scenario, stateOf, tempDir, type Scenario } from '../../helpers/scenario.ts';
import { cluster } from '../../helpers/sandbox.ts';
import { loadCaseSql } from '../../helpers/case-files.ts';

/** A directory the server's OS user owns (the postgres user when the sandbox runs as root). */
function tablespaceDir(): string {
  const d = path.join(tempDir('rehearsal-ts-'), 'fastssd');
  fs.mkdirSync(d);
  fs.chmodSync(path.dirname(d), 0o755);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    fs.chownSync(d, uid, gid);
  }
  fs.chmodSync(d, 0o700);
  return d;
}

/** Run `fn` on a source with the case loaded on tablespace fastssd; the database and the tablespace are removed after. */
async function withCase(fn: (s: Scenario, env: Record<string, string>) => Promise<void>): Promise<void> {
  const src = cluster('source');
  const admin = (sql: string) => withClient(src, 'postgres', (c) => c.query(sql));
  await admin('DROP TABLESPACE IF EXISTS fastssd');
  await admin(`CREATE TABLESPACE fastssd LOCATION '${tablespaceDir()}'`);
  let s: Scenario | undefined;
  try {
    s = await scenario({ fixture: false });
    loadCaseSql(s.src, 'rw22-tablespace.sql');
    await fn(s, { ...s.env, HEALTH_CHECK: '0', ASSET_COLUMNS: '' });
  } finally {
    if (s) await dropDatabase(src, s.src.name).catch(() => {});
    await admin('DROP TABLESPACE IF EXISTS fastssd');
  }
}

test('rw22: preflight refuses (exit 2) before the dump, naming the tablespace the target lacks and the way out', async () => {
  await withCase(async (s, env) => {
    const r = await rehearse([], env);
    expect(r.code, r.output).toBe(2);
    expect(r.output).toMatch(
      /the dump puts objects in tablespace "fastssd", which the target server lacks .*or set RESTORE_NO_TABLESPACES=1/,
    );
    const phases = Object.fromEntries(stateOf(s)!.phases.map((p) => [p.name, p.status]));
    expect(phases).toMatchObject({ preflight: 'failed', dump: 'skipped', restore: 'skipped' });
    expect(fs.existsSync(path.join(s.workDir, 'source.dump'))).toBe(false);
  });
}, 400_000);

test('rw22 with RESTORE_NO_TABLESPACES=1: restored into the default tablespace, green', async () => {
  await withCase(async (s, env) => {
    const r = await rehearse([], { ...env, RESTORE_NO_TABLESPACES: '1' });
    expect(r.code, r.output).toBe(0);
    const restore = stateOf(s)!.phases.find((p) => p.name === 'restore')!;
    expect((restore.details!.commands as string[]).join('\n')).toMatch(/pg_restore .*--no-tablespaces/);
    const rows = await s.dst.query(
      `SELECT c.relname, c.reltablespace FROM pg_class c WHERE c.relname IN ('events', 'events_pkey', 'users') ORDER BY 1`,
    );
    expect(rows.rows).toEqual([
      { relname: 'events', reltablespace: 0 },
      { relname: 'events_pkey', reltablespace: 0 },
      { relname: 'users', reltablespace: 0 },
    ]);
    expect(Number((await s.dst.query('SELECT count(*) AS n FROM events')).rows[0].n)).toBe(100);
  });
}, 400_000);
