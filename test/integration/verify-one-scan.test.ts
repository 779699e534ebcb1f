/**
 * Issue 28 item 3: `--verify-only` reads each table at most once per side. A ring of 6 tables with as many foreign keys
 * as tables and more (each table a child of the next; a composite key; a key declared on a partitioned table; a key
 * declared on one partition only; a key referencing a partitioned table; a 5-row lookup parent), 3,000 rows per table,
 * copied by hand. With
 * parallel workers off on both databases (ALTER DATABASE … SET max_parallel_workers_per_gather = 0, so a Gather adds
 * no worker scans) every check family runs in-process as a verify-only run does (discovery included, CHECKSUM=full),
 * and the `pg_stat_user_tables` deltas of every table are read on each side: at most 1 sequential scan and at most the
 * table's rows read sequentially (`seq_tup_read`, which also counts the TID Range Scans a folded scan reads with: one
 * whole read). The orphan checks ride on the fused scan and probe their parents by index; index scans do not count;
 * discovery reads catalogs.
 *
 * Then one orphan per kind of key is seeded in the target (its foreign key dropped first, as a failed restore of the
 * key leaves it): exactly those orphan checks are red, naming the key and the orphan, and the orphan checks add no
 * sequential scan to the other families' (the seeded tables' checksums bisect them: those reads are the checksums');
 * and a relation from ORPHAN_RELATIONS whose parent has no unique index falls back to the anti-join, says so, and is
 * red too.
 */
import { expect, test } from 'vitest';
import { closePools } from '../../lib/core/db.ts';
import { evaluate, type Outcome } from '../../lib/checks/family.ts';
import { FAMILIES, familyById } from '../../lib/checks/registry.ts';
import { evidenceOf, expectFailures, failedNames, failureOf, runFamilies, scenarioContext } from '../helpers/family.ts';
import { migrateByHand, scenario, type Scenario } from '../helpers/scenario.ts';

const ROWS = 3000;

// t0 -> t1 -> t2 =(composite)=> t3 -> t4 (partitioned; the key declared on the partitioned table) -> t5 -> t0, plus
// t4_p1 -> t0 declared on that partition only, t3 -> t4 referencing the partitioned table's primary key, and
// t5 -> kind, a 5-row lookup table.
const WORLD = `
CREATE TABLE t0 (id int PRIMARY KEY, ref int NOT NULL, note text);
CREATE TABLE t1 (id int PRIMARY KEY, ref int, note text);
CREATE TABLE t2 (id int PRIMARY KEY, ka int, kb text, note text);
CREATE TABLE t3 (id int PRIMARY KEY, a int NOT NULL, b text NOT NULL, ref int NOT NULL, UNIQUE (a, b));
CREATE TABLE t4 (id int PRIMARY KEY, ref int NOT NULL, ref2 int, note text) PARTITION BY RANGE (id);
CREATE TABLE t4_p0 PARTITION OF t4 FOR VALUES FROM (MINVALUE) TO (1501);
CREATE TABLE t4_p1 PARTITION OF t4 FOR VALUES FROM (1501) TO (MAXVALUE);
CREATE TABLE t5 (id int PRIMARY KEY, ref int NOT NULL, note text, kind_id int);
CREATE TABLE kind (id int PRIMARY KEY, name text);
INSERT INTO kind SELECT g, 'kind ' || g FROM generate_series(1, 5) g;
INSERT INTO t0 SELECT g, (g % ${ROWS}) + 1, md5(g::text) FROM generate_series(1, ${ROWS}) g;
INSERT INTO t1 SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE (g % ${ROWS}) + 1 END, 'n' || (g % 60) FROM generate_series(1, ${ROWS}) g;
INSERT INTO t2 SELECT g, (g % ${ROWS}) + 1, CASE WHEN g % 7 = 0 THEN NULL ELSE 'k' || ((g % ${ROWS}) + 1) END, md5(g::text) FROM generate_series(1, ${ROWS}) g;
INSERT INTO t3 SELECT g, g, 'k' || g, (g % ${ROWS}) + 1 FROM generate_series(1, ${ROWS}) g;
INSERT INTO t4 SELECT g, (g % ${ROWS}) + 1, (g * 7 % ${ROWS}) + 1, md5(g::text) FROM generate_series(1, ${ROWS}) g;
INSERT INTO t5 SELECT g, (g % ${ROWS}) + 1, 'n' || (g % 60), (g % 5) + 1 FROM generate_series(1, ${ROWS}) g;
ALTER TABLE t0 ADD CONSTRAINT t0_ref_fkey FOREIGN KEY (ref) REFERENCES t1 (id);
ALTER TABLE t1 ADD CONSTRAINT t1_ref_fkey FOREIGN KEY (ref) REFERENCES t2 (id);
ALTER TABLE t2 ADD CONSTRAINT t2_ab_fkey FOREIGN KEY (ka, kb) REFERENCES t3 (a, b);
ALTER TABLE t3 ADD CONSTRAINT t3_ref_fkey FOREIGN KEY (ref) REFERENCES t4 (id);
ALTER TABLE t4 ADD CONSTRAINT t4_ref_fkey FOREIGN KEY (ref) REFERENCES t5 (id);
ALTER TABLE t4_p1 ADD CONSTRAINT t4_p1_ref2_fkey FOREIGN KEY (ref2) REFERENCES t0 (id);
ALTER TABLE t5 ADD CONSTRAINT t5_ref_fkey FOREIGN KEY (ref) REFERENCES t0 (id);
ALTER TABLE t5 ADD CONSTRAINT t5_kind_fkey FOREIGN KEY (kind_id) REFERENCES kind (id);
ANALYZE;`;

const FK = {
  simple: 'orphans t0(ref) -> t1(id)',
  nullable: 'orphans t1(ref) -> t2(id)',
  closesRing: 'orphans t5(ref) -> t0(id)',
  // A 5-row parent: the planner would read it by a Seq Scan per probe; the folded scan turns sequential scans off.
  tinyParent: 'orphans t5(kind_id) -> kind(id)',
  composite: 'orphans t2(ka, kb) -> t3(a, b)',
  onPartitioned: 'orphans t4(ref) -> t5(id)',
  onPartition: 'orphans t4_p1(ref2) -> t0(id)',
  toPartitioned: 'orphans t3(ref) -> t4(id)',
};
const CONFIGURED = 'orphans t5(note) -> t1(note)';

type Db = Scenario['src'];

/**
 * Per user table: sequential scans started and rows they read, as `<table>` and `<table> rows`. A folded scan reads its
 * table by a TID Range Scan (enable_seqscan is off there), which `seq_scan` does not count but `seq_tup_read` does: the
 * rows read sequentially, compared with the table's rows, show how many times the table was read whole.
 */
async function seqScans(db: Db): Promise<Record<string, number>> {
  const r = await db.query(
    `SELECT relname, seq_scan::int AS n, seq_tup_read::int AS rows FROM pg_stat_user_tables ORDER BY relname`,
  );
  const rows = r.rows as Array<{ relname: string; n: number; rows: number }>;
  return Object.fromEntries(
    rows.flatMap((x) => [
      [x.relname, x.n],
      [`${x.relname} rows`, x.rows],
    ]),
  );
}

/** Backends flush their statistics when they go idle or exit: wait until two reads half a second apart agree. */
async function settledScans(db: Db): Promise<Record<string, number>> {
  let last = JSON.stringify(await seqScans(db));
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = JSON.stringify(await seqScans(db));
    if (now === last) return JSON.parse(now);
    last = now;
  }
  return JSON.parse(last);
}

/** Every family in-process; the seq_scan delta of every user table on each side (statistics reset first). */
async function verifyCountingScans(s: Scenario, env: Record<string, string> = {}) {
  for (const db of [s.src, s.dst]) await db.query('SELECT pg_stat_reset()');
  const before = { src: await settledScans(s.src), dst: await settledScans(s.dst) };
  const outcomes = await runFamilies(
    s,
    FAMILIES.map((f) => f.id),
    { env: { CHECKSUM: 'full', ...env } },
  );
  await closePools();
  const after = { src: await settledScans(s.src), dst: await settledScans(s.dst) };
  const delta = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] ?? 0)]));
  return { outcomes, scans: { src: delta(before.src, after.src), dst: delta(before.dst, after.dst) } };
}

/** At most one sequential scan of each table per side, and at most its rows read sequentially (one whole read). */
async function expectOneScanPerTable(s: Scenario, scans: Record<'src' | 'dst', Record<string, number>>) {
  for (const side of ['src', 'dst'] as const) {
    const tables = Object.keys(scans[side]).filter((k) => !k.endsWith(' rows'));
    expect(tables.sort()).toEqual(['kind', 't0', 't1', 't2', 't3', 't4', 't4_p0', 't4_p1', 't5']);
    for (const t of tables) {
      expect(scans[side][t], `${side} ${t}: sequential scans`).toBeLessThanOrEqual(1);
      const rows = Number((await s[side].query(`SELECT count(*) AS n FROM ONLY ${t}`)).rows[0].n);
      expect(scans[side][`${t} rows`], `${side} ${t}: rows read sequentially (of ${rows})`).toBeLessThanOrEqual(rows);
    }
  }
}

const orphanChecks = (outcomes: Outcome[]) => outcomes.filter((o) => o.name.startsWith('orphans '));

test('verify-only on a ring with as many foreign keys as tables reads every table at most once per side; seeded orphans of every kind are red', async () => {
  const s = await scenario({ fixture: false, assets: false });
  await s.src.query(WORLD);
  await migrateByHand(s);
  for (const db of [s.src, s.dst]) {
    await db.query(`ALTER DATABASE ${db.name} SET max_parallel_workers_per_gather = 0`);
    await db.query('ANALYZE');
  }

  const clean = await verifyCountingScans(s);
  console.log(`seq scans per table, correct copy: ${JSON.stringify(clean.scans)}`);
  expectFailures(clean.outcomes, {});
  expect(
    orphanChecks(clean.outcomes)
      .map((o) => o.name)
      .sort(),
  ).toEqual(Object.values(FK).sort());
  for (const name of Object.values(FK)) {
    const ev = evidenceOf(clean.outcomes, name).join('\n');
    expect(ev).toMatch(/^source: counted in the fused scan of public\.t\d \(its one read of the table\)/m);
    expect(ev).toMatch(
      /^target: counted in the fused scan of public\.t\d .*probed by its unique index \w+_(pkey|key)$/m,
    );
    expect(ev).toMatch(/^0 orphan row\(s\) in the target/m);
  }
  expect(evidenceOf(clean.outcomes, FK.onPartition).join('\n')).toMatch(/fused scan of public\.t4 /);
  await expectOneScanPerTable(s, clean.scans);

  // One orphan per kind of key on the target, each key dropped first (what a failed restore of it leaves).
  await s.dst.query(`
    ALTER TABLE t0 DROP CONSTRAINT t0_ref_fkey; UPDATE t0 SET ref = 999999 WHERE id = 10;
    ALTER TABLE t2 DROP CONSTRAINT t2_ab_fkey; UPDATE t2 SET ka = 777, kb = 'nope' WHERE id = 20;
    UPDATE t2 SET ka = 778, kb = NULL WHERE id = 21; -- a NULL in the key: MATCH SIMPLE, not an orphan
    ALTER TABLE t4 DROP CONSTRAINT t4_ref_fkey; UPDATE t4 SET ref = 888888 WHERE id = 30;
    ALTER TABLE t4_p1 DROP CONSTRAINT t4_p1_ref2_fkey; UPDATE t4 SET ref2 = 555555 WHERE id = 2000;
    UPDATE t4 SET ref2 = 555556 WHERE id = 40; -- in t4_p0, which has no such key: not an orphan
    UPDATE t5 SET note = 'ghost' WHERE id = 50;
  `);
  // One verify-only context: every other family first (the checksums of the edited tables bisect them: more reads,
  // not the orphans'), then the orphan checks, which must add no sequential scan at all (the fused scans are shared).
  const ctx = await scenarioContext(s, { env: { CHECKSUM: 'full' } });
  const others: Outcome[] = [];
  for (const f of FAMILIES.filter((x) => x.id !== 'orphans')) others.push(...(await evaluate(f, ctx)));
  // A backend idle less than a second after its last report holds its counters up to 10 s (PostgreSQL 15+ pgstat):
  // end the pooled connections so every read above is counted before `mid`, and every orphan read before `end`.
  await closePools();
  const mid = { src: await settledScans(s.src), dst: await settledScans(s.dst) };
  const red = await evaluate(familyById('orphans'), ctx);
  await closePools();
  const end = { src: await settledScans(s.src), dst: await settledScans(s.dst) };
  expectFailures(red, {
    [FK.simple]: /expected 0 rows of t0 whose key has no t1 row, found 1; example keys \(ref\): \(999999\)$/,
    [FK.composite]: /expected 0 rows of t2 whose key has no t3 row, found 1; example keys \(ka, kb\): \(777, nope\)$/,
    [FK.onPartitioned]: /expected 0 rows of t4 whose key has no t5 row, found 1; example keys \(ref\): \(888888\)$/,
    [FK.onPartition]: /expected 0 rows of t4_p1 whose key has no t0 row, found 1; example keys \(ref2\): \(555555\)$/,
  });
  expect(evidenceOf(red, FK.composite).join('\n')).toMatch(/^target: counted in the fused scan of public\.t2/m);
  for (const side of ['src', 'dst'] as const)
    for (const t of Object.keys(end[side]))
      expect(end[side][t] - (mid[side][t] ?? 0), `${side} ${t}: sequential reads of the orphan checks`).toBe(0);
  await closePools();

  // A configured relation whose parent column has no unique index: the anti-join, said in evidence, still red.
  const configured = await runFamilies(s, ['orphans'], { env: { ORPHAN_RELATIONS: 't5.note->t1.note' } });
  expect(failedNames(configured)).toContain(CONFIGURED);
  expect(failureOf(configured, CONFIGURED)).toMatch(/found 1; example keys \(note\): \(ghost\)$/);
  expect(evidenceOf(configured, CONFIGURED).join('\n')).toMatch(
    /^target: counted by an anti-join \(not folded into the fused scan: the parent has no unique index on exactly the key columns here\)/m,
  );
});
