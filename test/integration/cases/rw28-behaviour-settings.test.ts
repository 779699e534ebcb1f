/**
 * rw28: the source database sets hnsw.iterative_scan, hnsw.ef_search, default_text_search_config, a custom app.tenant
 * read by an RLS policy, and DateStyle (ALTER DATABASE … SET); the restore does not carry database settings, so the
 * target lacks them. Each changes query results (the same filtered vector query returns 10 rows on the source and 0 on
 * the target; '03/04/2026' parses to another date): the settings check is red naming each (pgvecto.rs#649,
 * honcho#1048), and nothing else is red.
 */
import { expect, test } from 'vitest';
import { caseNamed, loadCase, runCase } from '../../helpers/cases.ts';
import { scenario } from '../../helpers/scenario.ts';

const SETTINGS = 'isolation database and role settings (pg_db_role_setting)';

test('rw28: behaviour settings the target lacks are red, each named', async () => {
  const s = await scenario({ fixture: false });
  await loadCase(s.src, 'rw28-behaviour-settings.sql');
  const r = await runCase(s, []);
  expect(r.failed, r.output).toEqual([SETTINGS]);
  expect(r.code, r.output).toBe(1);
  const body = caseNamed(r, SETTINGS).body;
  for (const [name, value] of [
    ['app.tenant', 'acme'],
    ['datestyle', 'ISO, DMY'],
    ['default_text_search_config', 'pg_catalog.german'],
    ['hnsw.ef_search', '100'],
    ['hnsw.iterative_scan', 'relaxed_order'],
  ])
    expect(body).toContain(`database: ${name} source ${value}, target (not set)`);
  // the evidence that these are behaviour: the same date literal parses differently on the two databases
  const day = async (db: typeof s.src) => (await db.query(`SELECT '03/04/2026'::date::text AS d`)).rows[0].d;
  expect(await day(s.src)).not.toBe(await day(s.dst));
}, 600_000);
