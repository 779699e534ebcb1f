/**
 * Issue 10, scale: the asset sample never sorts a whole table (PostgreSQL keeps only the top N rows while scanning, a
 * bounded top-N heapsort, whatever the table's size), and a full rehearsal of a big schema completes with bounded
 * memory and connections. CI scale by default; HARDENING_FULL_SCALE=1 runs the full scale of the issue (2,000 tables,
 * 500 foreign keys, 1,000,000 asset rows).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { sampleTree } from '../../lib/bench/rss.ts';
import type { ChecksFile } from '../../lib/audit/reporter.ts';
import { sampleQuery } from '../../lib/checks/shared/sql.ts';
import { sampleConnections, startRehearse } from '../helpers/hardening.ts';
import { freshDb } from '../helpers/sandbox.ts';
import { scenario } from '../helpers/scenario.ts';

const FULL = process.env.HARDENING_FULL_SCALE === '1';
const ROWS = FULL ? 1_000_000 : 100_000;

test(`the asset sample over ${ROWS} rows is a top-N heapsort in bounded memory, not a sort of the table`, async () => {
  const db = await freshDb('target');
  await db.query(`CREATE TABLE "Big Assets" (id bigint PRIMARY KEY, "Storage Path" text);
    INSERT INTO "Big Assets" SELECT g, '/app/.data/ugc/' || g || '/file.bin' FROM generate_series(1, ${ROWS}) g; ANALYZE "Big Assets"`);
  const q = sampleQuery({ schema: 'public', name: 'Big Assets' }, 'Storage Path', 'seed-1', 50);
  const plan = (await db.query(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${q.text}`, q.values as unknown[])).rows
    .map((r) => r['QUERY PLAN'])
    .join('\n');
  expect(plan).toMatch(/Limit/);
  expect(plan).toMatch(/Sort Method: top-N heapsort\s+Memory: \d+kB/);
  expect(plan).not.toMatch(/external merge|Disk:/);
  const kb = Number(/top-N heapsort\s+Memory: (\d+)kB/.exec(plan)![1]);
  expect(kb, 'sort memory stays bounded by the sample size, not the table size').toBeLessThan(256);
  expect((await db.query(q.text, q.values as unknown[])).rowCount).toBe(50);
});

/**
 * Full-run scale: many tables and foreign keys and one big asset column, generated in PostgreSQL; a full rehearsal
 * (dump → restore → mirror → checks) must finish green in bounded memory (every node process of the rehearse tree
 * under 400 MB at its peak, from /proc VmHWM) and bounded connections (the peak number of backends on each database,
 * sampled from pg_stat_activity, stays within what the pool configuration allows).
 */
const SCALE =
  process.env.HARDENING_FULL_SCALE === '1'
    ? { tables: 2_000, fks: 500, rows: 1_000_000, files: 50 }
    : { tables: 300, fks: 100, rows: 100_000, files: 50 };

/** `t0001` … `t<n>`, a few rows each; table i < fks references table i + 1 (a chain of `fks` foreign keys). */
function scaleSchemaSql(o: typeof SCALE): string {
  return `
DO $$
DECLARE i int;
BEGIN
  FOR i IN 1..${o.tables} LOOP
    EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, ref_id int, note text)', 't' || lpad(i::text, 4, '0'));
    EXECUTE format('INSERT INTO %I SELECT g, g, %L || g FROM generate_series(1, 3) g', 't' || lpad(i::text, 4, '0'), 'row ');
  END LOOP;
  FOR i IN 1..${o.fks} LOOP
    EXECUTE format('ALTER TABLE %I ADD FOREIGN KEY (ref_id) REFERENCES %I (id)', 't' || lpad(i::text, 4, '0'), 't' || lpad((i % ${o.tables} + 1)::text, 4, '0'));
  END LOOP;
END $$;
-- Every 10th row points at one of a few files (many rows share a file); the others are NULL.
CREATE TABLE big_assets (id bigint PRIMARY KEY, storage_path text);
INSERT INTO big_assets
SELECT g, CASE WHEN g % 10 = 0 THEN '/app/.data/scale/' || (g / 10 % ${o.files}) || '.bin' END
FROM generate_series(1, ${o.rows}) g;
ANALYZE;`;
}

test(
  `a full rehearsal of ${SCALE.tables} tables, ${SCALE.fks} foreign keys and ${SCALE.rows} asset rows is green in bounded memory and connections`,
  { timeout: FULL ? 3_600_000 : 600_000 },
  async () => {
    const s = await scenario({ fixture: false });
    await s.src.query(scaleSchemaSql(SCALE));
    fs.mkdirSync(path.join(s.srcAssets, 'scale'));
    for (let i = 0; i < SCALE.files; i++) fs.writeFileSync(path.join(s.srcAssets, 'scale', `${i}.bin`), `file ${i}\n`);

    const workers = 2;
    const concurrency = 4;
    const env = {
      ...s.env,
      ASSET_COLUMNS: 'big_assets.storage_path:file',
      VITEST_MAX_WORKERS: String(workers),
      CHECK_CONCURRENCY: String(concurrency),
    };
    const conns = [sampleConnections(s.src.cluster, s.src.name), sampleConnections(s.dst.cluster, s.dst.name)];
    const started = Date.now();
    const run = startRehearse([], env, { timeoutMs: FULL ? 3_500_000 : 580_000 });
    const rss = sampleTree(run.child.pid!, 250);
    const r = await run.done;
    const seconds = (Date.now() - started) / 1000;
    const memory = rss.stop();
    const [srcPeak, dstPeak] = await Promise.all(conns.map((c) => c.stop()));
    const tail = r.output.slice(-4000);
    expect(r.code, tail).toBe(0);

    const checks = JSON.parse(fs.readFileSync(path.join(s.reportsDir, 'latest', 'checks.json'), 'utf8')) as ChecksFile;
    const names = checks.checks.map((c) => c.name);
    expect(names.filter((n) => n.startsWith('row count ')).length, 'a row count per table').toBe(SCALE.tables + 1);
    expect(names.filter((n) => n.startsWith('orphans ')).length, 'an orphan check per foreign key').toBe(SCALE.fks);
    // The sample is 50 rows (ASSETS_SAMPLE_N default); rows sharing a path are one check.
    const sampled = names.filter((n) => n.startsWith('asset big_assets.storage_path ')).length;
    expect(sampled, 'checks of the asset sample').toBeGreaterThan(0);
    expect(sampled).toBeLessThanOrEqual(50);
    expect(checks.checks.filter((c) => c.state === 'failed').map((c) => c.name)).toEqual([]);

    // Each spec worker holds at most one pool of CHECK_CONCURRENCY connections per database, plus one short-lived
    // connection (the census); the copy phases and discovery run before the checks with a few connections at most.
    const bound = workers * (concurrency + 1);
    const report = `${seconds.toFixed(0)} s, peak RSS ${memory.maxProcessMb} MB per process (tree ${memory.maxTreeMb} MB), peak connections source ${srcPeak} target ${dstPeak} (bound ${bound})`;
    console.log(`scale ${JSON.stringify(SCALE)}: ${report}`);
    expect(srcPeak, `source connections: ${report}`).toBeLessThanOrEqual(bound);
    expect(dstPeak, `target connections: ${report}`).toBeLessThanOrEqual(bound);
    expect(dstPeak).toBeGreaterThan(0);
    expect(memory.processes.length, 'node processes sampled').toBeGreaterThan(1);
    expect(memory.maxProcessMb, `peak RSS of one process: ${JSON.stringify(memory.processes)}`).toBeLessThan(400);
  },
);
