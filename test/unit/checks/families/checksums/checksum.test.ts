/**
 * The pure parts of the deeper checks: SQL builders, bisection arithmetic, parity diffing, sequence semantics.
 */
import { describe, expect, test } from 'vitest';
import {
  VALUE_HASHED_TYPES,
  checksumQuery,
  columnHashExpr,
  displayKey,
  displayRange,
  hashMethod,
  integerBounds,
  leafQuery,
  minMaxQuery,
  rowHashExpr,
  segmentQuery,
  shapeQuery,
  type ColumnShape,
  type TableShape,
} from '../../../../../lib/checks/families/checksums/checksum.ts';
import { pinnedSettingsSql } from '../../../../../lib/checks/shared/deep-context.ts';
import {
  KINDS,
  compareObjects,
  parityMessage,
} from '../../../../../lib/checks/families/schema-parity/schema-parity.ts';
import {
  UNOWNED_SEQUENCES_SQL,
  collision,
  nextValue,
  unownedStateQuery,
} from '../../../../../lib/checks/families/sequences/sequences.ts';
import { columnCensusQuery, prefixWithSlash } from '../../../../../lib/checks/families/asset-census/census.ts';

const col = (name: string, o: Partial<ColumnShape> = {}): ColumnShape => ({
  name,
  type: 'bigint',
  collatable: false,
  hashable: true,
  pkOrd: null,
  integer: true,
  ...o,
});
const t = { schema: 'app', name: 'Odd "name"' };

describe('checksum SQL', () => {
  test('record hashing: hashable values as they are, collatable ones in C, the rest through text', () => {
    const e = rowHashExpr(
      [col('id'), col('title', { type: 'text', collatable: true }), col('doc', { type: 'json', hashable: false })],
      'record',
    );
    expect(e).toBe('hash_record_extended(ROW(t."id", t."title" COLLATE "C", (t."doc")::text COLLATE "C"), 0)');
    expect(rowHashExpr([col('id')], 'text')).toBe('hashtextextended(ROW(t."id")::text, 0)');
    expect(rowHashExpr([col('id')], 'md5')).toContain('md5(ROW(t."id")::text)');
  });

  test('the method follows the lower server version', () => {
    expect(hashMethod(150004)).toBe('record');
    expect(hashMethod(130010)).toBe('text');
    expect(hashMethod(100023)).toBe('md5');
  });

  test('one scan, a count and an exact numeric sum (no xor: duplicates do not cancel), identifiers quoted', () => {
    const q = checksumQuery(t, [col('id')], 'record');
    expect(q.text).toMatch(
      /^SELECT count\(\*\)::text AS n, coalesce\(sum\(h\), 0\)::text AS s FROM \(SELECT .* FROM "app"\."Odd ""name""" t\) x$/,
    );
    expect(q.text).not.toMatch(/xor|#/);
  });

  test('ranges and segments use row comparisons with typed parameters', () => {
    const shape: TableShape = {
      exists: true,
      version: 150000,
      columns: [col('a', { pkOrd: 1 }), col('b', { type: 'text', collatable: true, pkOrd: 2, integer: false })],
      key: [],
    };
    shape.key = shape.columns;
    const q = segmentQuery(t, shape, 'record', { lo: ['1', 'x'], hi: ['9', 'y'] }, [['5', 'm']]);
    expect(q.text).toContain(
      `WHERE (t."a", t."b" COLLATE "C") >= ($1::bigint, $2::text COLLATE "C") AND (t."a", t."b" COLLATE "C") < ($3::bigint, $4::text COLLATE "C")`,
    );
    expect(q.text).toContain(
      `CASE WHEN (t."a", t."b" COLLATE "C") < ($5::bigint, $6::text COLLATE "C") THEN 0 ELSE 1 END`,
    );
    expect(q.values).toEqual(['1', 'x', '9', 'y', '5', 'm']);
    expect(leafQuery(t, shape, 'record', {}).text).toContain('ORDER BY t."a", t."b" COLLATE "C"');
  });

  test('a one-column key finds its segment by binary search in typed bounds; min/max read no range', () => {
    const shape: TableShape = { exists: true, version: 150000, columns: [col('id', { pkOrd: 1 })], key: [] };
    shape.key = shape.columns;
    const q = segmentQuery(t, shape, 'record', { lo: ['10'] }, [['20'], ['30']]);
    expect(q.text).toContain('width_bucket(t."id", ARRAY[$2::bigint, $3::bigint]::bigint[]) AS seg');
    expect(q.text).toContain('WHERE t."id" >= $1::bigint OFFSET 0) x GROUP BY seg');
    expect(q.values).toEqual(['10', '20', '30']);
    const text = { ...col('code', { type: 'text', collatable: true, integer: false }), pkOrd: 1 };
    const qt = segmentQuery(t, { ...shape, columns: [text], key: [text] }, 'record', {}, [['m']]);
    expect(qt.text).toContain('width_bucket(t."code" COLLATE "C", ARRAY[$1::text COLLATE "C"]::text[])');
    const mm = minMaxQuery(t, shape, { lo: ['10'], hi: ['20'] });
    expect(mm.text).not.toMatch(/count/);
    expect(mm.text).toContain('min(t."id")');
  });

  test('integer split points are distinct, increasing and inside the range', () => {
    expect(integerBounds(1n, 30n, 4)).toEqual([['8'], ['16'], ['23']]);
    expect(integerBounds(5n, 6n, 16)).toEqual([['6']]);
    expect(integerBounds(-(2n ** 63n), 2n ** 63n - 1n, 2)).toEqual([['0']]);
  });

  test('keys and ranges read naturally', () => {
    const k = [col('owner_id'), col('slug', { type: 'text' })];
    expect(displayKey(k, ['3', 'g-3'])).toBe('(owner_id, slug)=(3, g-3)');
    expect(displayKey([col('id')], ['7'])).toBe('id=7');
    expect(displayRange([col('id')], { lo: ['5'], hi: ['9'] })).toBe('id in [5, 9)');
    expect(displayRange([col('id')], { lo: ['7'], last: ['7'] })).toBe('id in [7, 7]');
    expect(displayRange([col('id')], {})).toBe('whole table');
  });

  test('the pinned session sets every setting that shapes a text form', () => {
    const sql = pinnedSettingsSql();
    for (const s of ['TimeZone', 'DateStyle', 'IntervalStyle', 'extra_float_digits', 'bytea_output', 'search_path'])
      expect(sql).toContain(`SET LOCAL ${s} = `);
  });
});

describe('schema parity', () => {
  const indexes = KINDS.find((k) => k.kind === 'indexes')!;
  const constraints = KINDS.find((k) => k.kind === 'constraints')!;

  test('missing, extra, different and invalid objects are named', () => {
    // Presence is the dump's to say for kinds pg_dump renders; database properties compare it in the catalog.
    const props = KINDS.find((k) => k.kind === 'database properties')!;
    const r = compareObjects(
      props,
      [
        { name: 'encoding', def: 'SQL_ASCII' },
        { name: 'extra', def: 'z' },
      ],
      [
        { name: 'encoding', def: 'UTF8' },
        { name: 'LC_CTYPE', def: 'C' },
      ],
    );
    expect(r.missing).toEqual(['LC_CTYPE']);
    expect(r.extra).toEqual(['extra']);
    expect(r.different.map((d) => d.name)).toEqual(['encoding']);
    expect(parityMessage('database properties', r)).toMatch(/missing on target \(1\): LC_CTYPE/);
    const invalid = compareObjects(
      indexes,
      [{ name: 'public.c_idx', def: '', state: 'invalid' }],
      [{ name: 'public.a_idx', def: '', state: 'valid' }],
    );
    expect([invalid.missing, invalid.extra]).toEqual([[], []]);
    expect(parityMessage('indexes', invalid)).toMatch(/public\.c_idx invalid on the target/);
  });

  test('a constraint NOT VALID on the target is a problem only when the source had it validated', () => {
    const def = 'foreign key: FOREIGN KEY (x) REFERENCES t(id)';
    expect(
      compareObjects(
        constraints,
        [{ name: 'c', def, state: 'not validated' }],
        [{ name: 'c', def, state: 'validated' }],
      ).states,
    ).toHaveLength(1);
    expect(
      compareObjects(
        constraints,
        [{ name: 'c', def, state: 'not validated' }],
        [{ name: 'c', def, state: 'not validated' }],
      ).states,
    ).toHaveLength(0);
  });

  test('without a source only target states are judged', () => {
    const r = compareObjects(indexes, [{ name: 'x', def: 'd', state: 'valid' }]);
    expect(parityMessage('indexes', r)).toBe('');
  });
});

describe('sequences', () => {
  test('is_called semantics: next value is last_value (+ increment when called)', () => {
    expect(nextValue({ last_value: '30', is_called: true, increment: '1', max_value: '30', min_value: '1' })).toBe(31n);
    expect(nextValue({ last_value: '1', is_called: false, increment: '1', max_value: '30', min_value: '1' })).toBe(1n);
    // The collision is where nextval() reaches an existing value (collides_at, read by the state query).
    const st = { increment: '1', max_value: '30', min_value: '1' };
    expect(collision({ ...st, last_value: '30', is_called: true, collides_at: null })).toBeUndefined();
    expect(collision({ ...st, last_value: '30', is_called: false, collides_at: '30' })?.text).toMatch(
      /next value 30 <= max\(column\) 30 and already in the column/,
    );
    const down = { increment: '-1', max_value: '-1', min_value: '-5' };
    expect(collision({ ...down, last_value: '-5', is_called: true, collides_at: null })).toBeUndefined();
    expect(collision({ ...down, last_value: '-4', is_called: false, collides_at: '-4' })?.text).toMatch(/>= min/);
    expect(
      collision({ last_value: '1', is_called: false, increment: '1', max_value: null, min_value: null }),
    ).toBeUndefined();
  });
});

describe('asset census SQL', () => {
  test('only paths under the prefix without .. segments are censused', () => {
    expect(prefixWithSlash('/app/.data')).toBe('/app/.data/');
    expect(prefixWithSlash('/')).toBe('/');
    const q = columnCensusQuery(
      { display: 'x.p', table: { schema: 'public', name: 'x' }, column: 'p', kind: 'dir' },
      '/app/.data',
    );
    expect(q.values).toEqual([11, '/app/.data/']);
    expect(q.text).toContain(`raw !~ '(^|/)\\.\\.(/|$)'`);
    // No temporary table, nothing written: a read-only target works.
    expect(q.text).not.toMatch(/INSERT|CREATE|TEMP/i);
    expect(q.text).toMatch(/GROUP BY c, rel ORDER BY rel COLLATE "C" NULLS LAST, c$/);
  });
});

describe('per-column hash expression (what a migration carries)', () => {
  test('a value-hashed type is hashed as itself, collatable ones in C', () => {
    expect(columnHashExpr({ name: 'id', collatable: false, hashable: true })).toBe('t."id"');
    expect(columnHashExpr({ name: 'Title', collatable: true, hashable: true })).toBe('t."Title" COLLATE "C"');
  });
  test('everything else through its output text; through the output function when the cast to text is not it', () => {
    expect(columnHashExpr({ name: 'm', collatable: false, hashable: false, outputFn: null })).toBe(
      '(t."m")::text COLLATE "C"',
    );
    expect(columnHashExpr({ name: 'x', collatable: false, hashable: false, outputFn: 'xml_out' })).toBe(
      'textin(xml_out(t."x")) COLLATE "C"',
    );
  });
  test('the value-hashed list leaves out every type whose hash is an OID or folds what the text keeps', () => {
    for (const t of ['numeric', 'float4', 'float8', 'interval', 'jsonb', 'bpchar', 'regclass', 'regtype', 'anyenum'])
      expect(VALUE_HASHED_TYPES, t).not.toContain(t);
    for (const t of ['int4', 'int8', 'text', 'uuid', 'timestamptz', 'bytea']) expect(VALUE_HASHED_TYPES).toContain(t);
  });
  test('the shape query passes the list as a parameter and resolves domains to their base type', () => {
    const q = shapeQuery({ schema: 'public', name: 'people' });
    expect(q.values).toEqual(['"public"."people"', VALUE_HASHED_TYPES]);
    expect(q.text).toMatch(/WITH RECURSIVE d\(oid, base, depth\)/);
    expect(q.text).toMatch(/castmethod <> 'i'/);
  });
});

describe('sequences owned by no column', () => {
  test('the state query takes the extremes over every column whose default calls it', () => {
    const q = unownedStateQuery({
      sequence: { schema: 'public', name: 'order_no_seq' },
      users: [
        { table: { schema: 'public', name: 'orders' }, column: 'order_no' },
        { table: { schema: 'app', name: 'Returns' }, column: 'no' },
      ],
    });
    expect(q.text).toContain(
      'GREATEST((SELECT ceil(max("order_no")::numeric) FROM "public"."orders"), (SELECT ceil(max("no")::numeric) FROM "app"."Returns"))::text AS max_value',
    );
    expect(q.values).toEqual(['"public"."order_no_seq"']);
  });
  test('without users only the sequence itself is read', () => {
    const q = unownedStateQuery({ sequence: { schema: 'public', name: 's' }, users: [] });
    expect(q.text).toContain('NULL::text AS max_value');
  });
  test('discovery leaves out column-owned and extension-owned sequences', () => {
    expect(UNOWNED_SEQUENCES_SQL).toMatch(/d\.deptype IN \('a', 'i'\)/);
    expect(UNOWNED_SEQUENCES_SQL).toMatch(/d\.deptype = 'e'/);
  });
});
