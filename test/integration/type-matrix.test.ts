/**
 * The checksum's per-type rules, both ways, on one table holding every type family (test/helpers/type-matrix.ts):
 * after a real pg_dump/pg_restore copy (into a target whose TimeZone/DateStyle/extra_float_digits differ) the
 * checksum is equal; after a one-value change in any single column on the target it differs, and the bisection names
 * the table's key `id=1` as changed. Then the same through the checksum family (in-process, test/helpers/family.ts):
 * green, and red naming table and key.
 */
import { afterAll, expect, test } from 'vitest';
import {
  compareTable,
  displayKey,
  locateDifferences,
  sideRunner,
} from '../../lib/checks/families/checksums/checksum.ts';
import { closePools, getPool } from '../../lib/core/db.ts';
import { parseDsn } from '../../lib/core/dsn.ts';
import { MATRIX_COLUMNS, matrixSql } from '../helpers/type-matrix.ts';
import { bodyOf, expectFailures, runFamilies } from '../helpers/family.ts';
import { migrateByHand, scenario } from '../helpers/scenario.ts';

afterAll(() => closePools());

const T = { schema: 'public', name: 'type_matrix' };

test('type matrix: a pg_dump/pg_restore copy checksums equal; a one-value change in each column is detected and named id=1', async () => {
  const s = await scenario({ fixture: false });
  await s.src.query(matrixSql());
  await migrateByHand(s);
  for (const set of [`timezone TO 'Asia/Kathmandu'`, `datestyle TO 'SQL, DMY'`, `extra_float_digits TO -3`]) {
    await s.dst.query(`ALTER DATABASE "${s.dst.name}" SET ${set}`);
  }
  const pools = { src: getPool(parseDsn(s.src.url)), dst: getPool(parseDsn(s.dst.url)) };
  // Why the rules exist: hashed as values, an enum (its pg_enum OID) and a regclass (its pg_class OID) differ after
  // a perfect copy.
  for (const col of ['c_enum', 'c_regclass']) {
    const h = async (db: typeof s.src) =>
      (await db.query(`SELECT hash_record_extended(ROW(${col}), 0)::text AS h FROM type_matrix WHERE id = 1`)).rows[0]
        .h;
    expect(await h(s.src), `${col} hashed as a value`).not.toBe(await h(s.dst));
  }

  // 'record' is what PostgreSQL 14+ runs; 'text' (11-13) hashes the row's output text: both must hold.
  for (const method of ['record', 'text'] as const) {
    const base = await compareTable(pools, T, { method });
    expect(base.problem).toBeUndefined();
    expect(base.equal, `${method}: ${JSON.stringify(base)}`).toBe(true);

    const missed: string[] = [];
    const misnamed: string[] = [];
    for (const c of MATRIX_COLUMNS) {
      await s.dst.query(`UPDATE type_matrix SET ${c.name} = ${c.changed}::${c.type} WHERE id = 1`);
      const r = await compareTable(pools, T, { method });
      if (r.equal) missed.push(`${c.name} ${c.type}: ${c.value} -> ${c.changed}`);
      else {
        const found = await locateDifferences(sideRunner(pools), T, r.shape!, r.method!, {
          src: BigInt(r.src!.rows),
          dst: BigInt(r.dst!.rows),
        });
        const keys = found.keys.map((k) => `${displayKey(r.shape!.key, k.key)} (${k.what})`);
        if (keys.join() !== 'id=1 (changed)') misnamed.push(`${c.name}: ${keys.join(', ')}`);
      }
      await s.dst.query(`UPDATE type_matrix SET ${c.name} = ${c.value}::${c.type} WHERE id = 1`);
    }
    expect(missed, `${method}: changes the checksum did not see`).toEqual([]);
    expect(misnamed, `${method}: changes not narrowed to id=1`).toEqual([]);
    expect((await compareTable(pools, T, { method })).equal, `${method}: equal again after every revert`).toBe(true);
  }

  // An enum partition key and key column: green through the parent, a changed row named by its (enum, int) key.
  const P = { schema: 'public', name: 'mood_parts' };
  expect((await compareTable(pools, P)).equal, 'mood_parts after the copy').toBe(true);
  await s.dst.query(`UPDATE mood_parts SET v = 'changed' WHERE m = 'ok' AND id = 7`);
  const pr = await compareTable(pools, P);
  expect(pr.equal).toBe(false);
  const pf = await locateDifferences(sideRunner(pools), P, pr.shape!, pr.method!, {
    src: BigInt(pr.src!.rows),
    dst: BigInt(pr.dst!.rows),
  });
  expect(pf.keys.map((k) => `${displayKey(pr.shape!.key, k.key)} (${k.what})`)).toEqual(['(m, id)=(ok, 7) (changed)']);

  // Through the family: the copy is green; one changed enum value is red naming table and key.
  const env = { HEALTH_CHECK: '0', CHECKSUM_TABLES: 'public.type_matrix' };
  const green = expectFailures(await runFamilies(s, ['checksums'], { env }), {});
  expect(green.map((x) => x.name)).toContain('checksum public.type_matrix');
  await s.dst.query(`UPDATE type_matrix SET c_enum = 'happy' WHERE id = 1`);
  const red = expectFailures(await runFamilies(s, ['checksums'], { env }), {
    'checksum public.type_matrix': /checksum public\.type_matrix differs/,
  });
  expect(bodyOf(red, 'checksum public.type_matrix')).toMatch(
    /checksum public\.type_matrix differs[\s\S]*differing keys: id=1 \(changed\)/,
  );
});
