/**
 * The ANALYZE after the restore on several connections (lib/phases/analyze.ts), against real databases: it leaves the
 * same statistics behind as one database-wide ANALYZE (compared relation by relation with a twin database), quotes
 * awkward names, covers partitioned tables through their root, and as a non-superuser database owner asks for nothing
 * a plain ANALYZE would skip.
 */
import { expect, test } from 'vitest';
import { parseDsn } from '../../lib/core/dsn.ts';
import { analyzeTargetsSql, parallelAnalyze } from '../../lib/phases/analyze.ts';
import { withClient } from '../../lib/sandbox/clusters.ts';
import { ownerTarget } from '../helpers/non-superuser.ts';
import { cluster, freshDb, type TestDb } from '../helpers/sandbox.ts';

const SHAPE = `
CREATE TABLE big (id int, note text);
INSERT INTO big SELECT g, 'note ' || g FROM generate_series(1, 20000) g;
CREATE TABLE small (id int);
INSERT INTO small VALUES (1), (2), (3);
CREATE TABLE empty_one (id int);
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."Mixed Case" ("Key" int);
INSERT INTO "Odd Schema"."Mixed Case" SELECT g FROM generate_series(1, 100) g;
CREATE TABLE parted (id int, kind text) PARTITION BY LIST (kind);
CREATE TABLE parted_a PARTITION OF parted FOR VALUES IN ('a');
CREATE TABLE parted_b PARTITION OF parted FOR VALUES IN ('b');
INSERT INTO parted SELECT g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END FROM generate_series(1, 1000) g;
CREATE TABLE inh_parent (id int);
CREATE TABLE inh_child () INHERITS (inh_parent);
INSERT INTO inh_child SELECT generate_series(1, 50);
CREATE MATERIALIZED VIEW mv AS SELECT id % 10 AS k, count(*) AS n FROM big GROUP BY 1;
`;

/** Every (relation, inherited) pair with statistics: what ANALYZE leaves behind, per relation. */
async function statisticsOf(db: Pick<TestDb, 'query'>): Promise<string[]> {
  const r = await db.query<{ rel: string }>(
    `SELECT DISTINCT n.nspname || '.' || c.relname || CASE WHEN s.stainherit THEN ' (inherited)' ELSE '' END AS rel
       FROM pg_statistic s JOIN pg_class c ON c.oid = s.starelid JOIN pg_namespace n ON n.oid = c.relnamespace
      ORDER BY 1`,
  );
  return r.rows.map((x) => x.rel);
}

test('on 2 connections: the same statistics as one database-wide ANALYZE, awkward names, partitions and catalogs included', async () => {
  const ours = await freshDb('target');
  const twin = await freshDb('target');
  await ours.query(SHAPE);
  await twin.query(SHAPE);
  const log: string[] = [];
  const r = await parallelAnalyze(
    parseDsn(ours.url),
    2,
    { local: true, cores: 2, checkConcurrency: 4 },
    { connectTimeoutMs: 10_000, log: (l) => log.push(l) },
  );
  await twin.query('ANALYZE');
  expect(r.jobs).toBe(2);
  const listed = await ours.query(analyzeTargetsSql(150000));
  expect(r.relations).toBe(listed.rows.length);
  // Partitions are covered by their root; the root and the inheritance parent get inherited statistics.
  const names = listed.rows.map((x: { name: string }) => x.name);
  expect(names).toEqual(expect.arrayContaining(['public.parted', 'public.inh_child', '"Odd Schema"."Mixed Case"']));
  expect(names).not.toContain('public.parted_a');
  const stats = await statisticsOf(ours);
  expect(stats).toEqual(
    expect.arrayContaining([
      'public.big',
      'public.parted (inherited)',
      'public.parted_a',
      'public.parted_b',
      'public.inh_parent (inherited)',
      'public.mv',
      'Odd Schema.Mixed Case',
      'pg_catalog.pg_class',
    ]),
  );
  expect(stats).toEqual(await statisticsOf(twin));
  expect(log.filter((l) => /^server /.test(l))).toEqual([]);
});

test('as a non-superuser database owner: tables of other roles analyzed (owner’s right), shared catalogs not asked for', async () => {
  const target = await ownerTarget({ vector: false });
  // Tables the superuser owns, inside the owner's database (their schema usable by the owner).
  await target.db.query(SHAPE);
  await target.db.query(`GRANT USAGE ON SCHEMA "Odd Schema" TO ${target.role}`);
  const asOwner = { ...cluster('target'), user: target.role, password: target.password };
  const listed = await withClient(asOwner, target.db.name, async (c) => {
    await c.query('CREATE TABLE mine (id int); INSERT INTO mine SELECT generate_series(1, 10)');
    return (await c.query<{ name: string }>(analyzeTargetsSql(150000))).rows.map((x) => x.name);
  });
  expect(listed).toEqual(expect.arrayContaining(['public.big', 'public.mine', 'pg_catalog.pg_class']));
  expect(listed).not.toContain('pg_catalog.pg_database');
  const log: string[] = [];
  const r = await parallelAnalyze(
    parseDsn(target.url),
    'auto',
    { local: true, cores: 2, checkConcurrency: 4 },
    { connectTimeoutMs: 10_000, log: (l) => log.push(l) },
  );
  expect(r.jobs).toBe(2);
  // A plain ANALYZE skips shared catalogs silently for a database owner; asked for by name they would WARN.
  expect(log.filter((l) => /^server /.test(l))).toEqual([]);
  const stats = await statisticsOf(target.db);
  expect(stats).toEqual(expect.arrayContaining(['public.big', 'public.mine', 'public.parted (inherited)']));
});

test('a failing connection is reported, not swallowed, when relations were left for it', async () => {
  const db = await freshDb('target');
  await db.query('CREATE TABLE t (id int); INSERT INTO t VALUES (1)');
  const dsn = { ...parseDsn(db.url), database: `${db.name}_missing` };
  await expect(
    parallelAnalyze(dsn, 2, { local: true, cores: 2, checkConcurrency: 4 }, { connectTimeoutMs: 5_000 }),
  ).rejects.toThrow(/cannot connect|does not exist/);
});

test('a relation in a schema the role cannot use: one database-wide ANALYZE instead (it reaches it by OID), said', async () => {
  const target = await ownerTarget({ vector: false });
  await target.db.query(SHAPE);
  const log: string[] = [];
  const r = await parallelAnalyze(
    parseDsn(target.url),
    'auto',
    { local: true, cores: 2, checkConcurrency: 4 },
    { connectTimeoutMs: 10_000, log: (l) => log.push(l) },
  );
  expect(r.jobs).toBe(1);
  expect(r.why).toMatch(
    /one database-wide ANALYZE: 1 relation\(s\) such as "Odd Schema"\."Mixed Case" are in a schema/,
  );
  // The database owner's plain ANALYZE reached it all the same.
  expect(await statisticsOf(target.db)).toEqual(expect.arrayContaining(['Odd Schema.Mixed Case', 'public.big']));
});
