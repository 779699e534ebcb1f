/**
 * One scan per table per side (lib/checks/shared/table-scan.ts, lib/checks/shared/shared-scan.ts), against real databases: the fused
 * scan gives the same count and checksum as the separate queries, also when forced to split into block ranges (small
 * data, CHECKSUM_SPLIT_MB=0); a changed row is found through a split scan; the scan is shared by the row-count,
 * checksum and path-prefix checks of a real run (one scan file per table and side, one seq scan each).
 */
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import {
  checksumQuery,
  compareShapes,
  shapeFromRows,
  shapeQuery,
  type ShapeRow,
} from '../../lib/checks/families/checksums/checksum.ts';
import { readScans } from '../../lib/checks/shared/shared-scan.ts';
import { runScan, type ScanSpec } from '../../lib/checks/shared/table-scan.ts';
import { closePools, getPool, keepPoolsFor } from '../../lib/core/db.ts';
import { parseDsn } from '../../lib/core/dsn.ts';
import { displayTable } from '../../lib/core/ident.ts';
import { expectFailures, runFamilies } from '../helpers/family.ts';
import { freshDb } from '../helpers/sandbox.ts';
import {
  caseEvidence,
  junitCases,
  latestJunit,
  migrateByHand,
  rehearse,
  scenario,
  stateOf,
} from '../helpers/scenario.ts';

afterAll(() => closePools());

const TABLE = `CREATE TABLE docs (id bigint PRIMARY KEY, title text, body jsonb, score numeric, at timestamptz, path text);
INSERT INTO docs SELECT g, 'title ' || g, jsonb_build_object('g', g), g / 7.0, '2024-01-01'::timestamptz + g * interval '1 minute',
  CASE WHEN g % 1000 = 0 THEN '/elsewhere/' || g ELSE '/app/.data/knowledge/' || g || '/a.pdf' END
FROM generate_series(1, 30000) g;`;

test('a fused scan split into block ranges gives exactly the whole-table count, checksum and prefix counts', async () => {
  const src = await freshDb('source');
  const dst = await freshDb('target');
  await Promise.all([src.query(TABLE), dst.query(TABLE)]);
  // A different physical order on the target: the ranges hold different rows, the totals must not change.
  await dst.query('UPDATE docs SET title = title WHERE id % 3 = 0');
  await dst.query('VACUUM docs');
  const t = { schema: 'public', name: 'docs' };
  const pools = { src: getPool(parseDsn(src.url), { max: 4 }), dst: getPool(parseDsn(dst.url), { max: 4 }) };
  const q = shapeQuery(t);
  const [s, d] = await Promise.all([
    pools.src.query<ShapeRow>(q.text, q.values as unknown[]),
    pools.dst.query<ShapeRow>(q.text, q.values as unknown[]),
  ]);
  const cmp = compareShapes(shapeFromRows(s.rows), shapeFromRows(d.rows));
  expect(cmp.problem).toBeUndefined();
  const spec: ScanSpec = {
    table: t,
    checksum: { columns: cmp.shape!.columns, method: cmp.method! },
    prefixColumns: ['path'],
    prefix: '/app/.data',
  };
  const whole = await runScan(pools.src, spec, { splitBytes: Number.MAX_SAFE_INTEGER, parts: 4 });
  const split = await runScan(pools.src, spec, { splitBytes: 0, parts: 4 });
  const splitDst = await runScan(pools.dst, spec, { splitBytes: 0, parts: 3 });
  expect(whole.parts).toBe(1);
  expect(split.parts).toBe(4);
  expect(splitDst.parts).toBe(3);
  const old = checksumQuery(t, cmp.shape!.columns, cmp.method!);
  const ref = (await pools.src.query<{ n: string; s: string }>(old.text, old.values as unknown[])).rows[0];
  for (const r of [whole, split, splitDst]) {
    expect(r.rows).toBe('30000');
    expect(r.sum).toBe(ref.s);
    expect(r.prefix).toEqual({ path: { total: '30000', bad: '30' } });
  }
  // One changed value on the target: the split sums differ.
  await dst.query(`UPDATE docs SET score = score + 0.0001 WHERE id = 12345`);
  const changed = await runScan(pools.dst, spec, { splitBytes: 0, parts: 3 });
  expect(changed.rows).toBe('30000');
  expect(changed.sum).not.toBe(ref.s);
  // A count-only scan keeps the row-count timeout (1 ms on 30,000 rows: canceled on the server).
  const countOnly = await runScan(
    pools.src,
    { table: t, prefixColumns: [], prefix: '/app/.data', countTimeoutMs: 1 },
    {
      splitBytes: 0,
      parts: 4,
    },
  );
  expect(countOnly.timedOut ?? false).toBe(countOnly.rows === undefined);
  const missing = await runScan(
    pools.src,
    { ...spec, table: { schema: 'public', name: 'nope' } },
    { splitBytes: 0, parts: 4 },
  );
  expect(missing.missing).toBe(true);
});

test('a real run shares one scan per table and side between row counts, checksums and path prefix (forced split), and a split checksum still names the changed key', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const env = {
    ...s.env,
    CHECKSUM_SPLIT_MB: '0',
    HEALTH_CHECK: '0',
    ASSETS_SAMPLE_N: '0',
  };
  const r = await rehearse(['--verify-only'], env);
  expect(r.code, r.output.slice(-3000)).toBe(0);
  const state = stateOf(s)!;
  const scans = readScans(path.join(s.workDir, 'scans', state.runId));
  const tables = state.plan!.tables.map(displayTable);
  expect(tables.length).toBeGreaterThan(3);
  for (const side of ['src', 'dst'])
    for (const t of tables)
      expect(scans.filter((x) => x.key === `scan ${side} ${t}`).map((x) => x.key)).toHaveLength(1);
  expect(scans.every((x) => x.error === undefined && x.value!.parts >= 1)).toBe(true);
  const cases = junitCases(latestJunit(s));
  const ev = caseEvidence(cases, 'checksum public.knowledge_materials').join(' ');
  expect(ev).toMatch(/block ranges at once/);
  expect(caseEvidence(cases, 'path prefix knowledge_materials.storage_path').join(' ')).toMatch(
    /one scan shared with the row count and checksum/,
  );

  // A changed value on the target: the split checksum is red and names the key; the row count stays green.
  const [{ id }] = (await s.dst.query(`SELECT min(id) AS id FROM knowledge_materials`)).rows;
  await s.dst.query(`UPDATE knowledge_materials SET title = title || ' (edited)' WHERE id = $1`, [id]);
  // In-process (test/helpers/family.ts): the sharing between processes is what the whole run above showed.
  expectFailures(await runFamilies(s, ['row-counts', 'checksums', 'path-prefix'], { env }), {
    'checksum public.knowledge_materials': new RegExp(`differing keys: id=${id} \\(changed\\)`),
  });
});

test('closePools lets a shared scan still queued for a pooled connection finish instead of leaving it waiting forever', async () => {
  const db = await freshDb('target');
  const pool = getPool(parseDsn(db.url), { max: 1 });
  // One connection, busy for a moment; the next request queues for it (as a shared scan abandoned by a failed test).
  const busy = pool.query('SELECT pg_sleep(0.5)');
  const queued = keepPoolsFor(pool.query<{ n: number }>('SELECT 42 AS n'));
  await closePools();
  const never = new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), 20_000).unref());
  expect(await Promise.race([queued.then((r) => r.rows[0].n), never])).toBe(42);
  await busy;
});
