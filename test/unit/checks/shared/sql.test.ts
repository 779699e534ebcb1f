/**
 * The SQL builders, without a database: identifiers quoted, values only as parameters, the semantics spelled in SQL.
 */
import { describe, expect, test } from 'vitest';
import type { Relation } from '../../../../lib/core/config.ts';
import {
  DOTDOT_SEGMENT_RE,
  columnExistsQuery,
  columnsExistQuery,
  estimateQuery,
  foreignKeysQuery,
  orphanQuery,
  prefixQuery,
  prefixWithSlash,
  rowCountQuery,
  SAMPLE_OVERREAD,
  sampleDistinctQuery,
  sampleQuery,
  sampleUnionQuery,
  statementTimeoutQuery,
  tableKindQuery,
  userTablesQuery,
} from '../../../../lib/checks/shared/sql.ts';

const users = { schema: 'public', name: 'users' };
const evil = { schema: 'we"ird', name: 'x"; DROP TABLE users; --' };
const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

describe('row counts', () => {
  test('rowCountQuery counts the quoted table, as text (int8 can exceed 2^53)', () => {
    expect(rowCountQuery(users)).toEqual({ text: 'SELECT count(*)::text AS n FROM "public"."users"', values: [] });
    expect(rowCountQuery(evil).text).toBe('SELECT count(*)::text AS n FROM "we""ird"."x""; DROP TABLE users; --"');
  });

  test('statementTimeoutQuery is SET LOCAL through set_config, the value a parameter, at least 1 ms', () => {
    expect(statementTimeoutQuery(3000)).toEqual({
      text: "SELECT set_config('statement_timeout', $1, true)",
      values: ['3000ms'],
    });
    expect(statementTimeoutQuery(0.2).values).toEqual(['1ms']);
  });

  test('estimateQuery and tableKindQuery look the table up by parameters, never by interpolation', () => {
    for (const q of [estimateQuery(evil), tableKindQuery(evil)]) {
      expect(q.values).toEqual([evil.schema, evil.name]);
      expect(q.text).not.toContain('DROP');
      expect(q.text).toMatch(/n\.nspname = \$1 AND c\.relname = \$2/);
    }
    const est = squash(estimateQuery(users).text);
    expect(est).toContain('WHEN c.reltuples >= 0 THEN c.reltuples');
    expect(est).toContain("WHEN c.relkind = 'p'"); // a never-analyzed partitioned parent: sum of its leaves
    expect(est).toContain('pg_partition_tree(c.oid)');
    expect(est).toContain('ELSE -1 END'); // -1 = unknown
  });
});

describe('orphanQuery', () => {
  const rel = (over: Partial<Relation> = {}): Relation => ({
    child: { schema: 'public', name: 'ugc_assets' },
    childColumns: ['user_id'],
    parent: users,
    parentColumns: ['id'],
    origin: 'declared',
    ...over,
  });

  test('NOT EXISTS anti-join; a NULL key is not an orphan (MATCH SIMPLE); count and up to 5 example keys', () => {
    const q = orphanQuery(rel());
    const t = squash(q.text);
    expect(q.values).toEqual([]);
    expect(t).toContain(
      'FROM "public"."ugc_assets" AS ch WHERE ch."user_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "public"."users" AS pa WHERE pa."id" = ch."user_id")',
    );
    expect(t).toContain('SELECT count(*) AS orphans');
    expect(t).toContain('CASE WHEN s.orphans > 0 THEN ARRAY(');
    expect(t).toContain('to_json(ARRAY[ch."user_id"::text])::text');
    expect(t).toContain('LIMIT 5');
  });

  test('composite keys: every column NOT NULL, matched pairwise in key order', () => {
    const t = squash(
      orphanQuery(
        rel({
          child: { schema: 'public', name: 'gallery_items' },
          childColumns: ['owner_id', 'gallery_slug'],
          parent: { schema: 'public', name: 'galleries' },
          parentColumns: ['owner_id', 'slug'],
        }),
      ).text,
    );
    expect(t).toContain('WHERE ch."owner_id" IS NOT NULL AND ch."gallery_slug" IS NOT NULL AND NOT EXISTS');
    expect(t).toContain('WHERE pa."owner_id" = ch."owner_id" AND pa."slug" = ch."gallery_slug")');
    expect(t).toContain('ARRAY[ch."owner_id"::text, ch."gallery_slug"::text]');
  });

  test('hostile names stay quoted identifiers; mismatched column lists are refused', () => {
    const t = orphanQuery(rel({ child: evil, childColumns: ['a"b'] })).text;
    expect(t).toContain('"we""ird"."x""; DROP TABLE users; --"');
    expect(t).toContain('ch."a""b"');
    expect(() => orphanQuery(rel({ childColumns: ['a', 'b'] }))).toThrow(/same number/);
    expect(() => orphanQuery(rel({ childColumns: [], parentColumns: [] }))).toThrow(/same number/);
  });
});

describe('asset columns', () => {
  test('prefixQuery: one scan counting paths outside "prefix/" or with a ".." segment, examples only when there are some', () => {
    const q = prefixQuery({ schema: 'public', name: 'gallery_items' }, 'storage_dir', '/app/.data');
    expect(q.values).toEqual(['/app/.data/', DOTDOT_SEGMENT_RE]);
    const t = squash(q.text);
    expect(t).toContain(
      'count(*) FILTER (WHERE (NOT starts_with("storage_dir"::text, $1) OR "storage_dir"::text ~ $2)) AS bad',
    );
    expect(t).toContain('FROM "public"."gallery_items" WHERE "storage_dir" IS NOT NULL');
    expect(t).toContain('CASE WHEN s.bad > 0 THEN ARRAY(');
    expect(t).toContain('LIMIT 5');
    // A hostile prefix is a value, never SQL.
    expect(prefixQuery(users, 'p', "/x'; DROP TABLE t; --").text).not.toContain('DROP');
  });

  test('prefixWithSlash', () => {
    expect(prefixWithSlash('/app/.data')).toBe('/app/.data/');
    expect(prefixWithSlash('/')).toBe('/');
  });

  test('the ".." segment pattern', () => {
    const re = new RegExp(DOTDOT_SEGMENT_RE); // POSIX ERE and JS agree on this pattern
    for (const bad of ['/app/.data/../etc', '/app/.data/a/..', '..', '../x', '/app/.data/a/../../b'])
      expect(re.test(bad), bad).toBe(true);
    for (const ok of ['/app/.data/a..b', '/app/.data/.../x', '/app/.data/..hidden', '/app/.data/x../', '/app/.data/.x'])
      expect(re.test(ok), ok).toBe(false);
  });

  test('sampleQuery: seeded hash order, bounded top-N over rows (LIMIT n*overread), distinct values, NULLs excluded, parameters', () => {
    const q = sampleQuery({ schema: 'public', name: 'ugc_assets' }, 'storage_path', "s'; --", 50);
    expect(q.values).toEqual(["s'; --", 50, 50 * SAMPLE_OVERREAD]);
    expect(squash(q.text)).toBe(
      'SELECT value FROM ( SELECT "storage_path"::text AS value, md5($1 || "storage_path"::text) AS h FROM "public"."ugc_assets" ' +
        'WHERE "storage_path" IS NOT NULL ORDER BY h, "storage_path"::text COLLATE "C" LIMIT $3 ) top GROUP BY h, value ORDER BY h, value COLLATE "C" LIMIT $2',
    );
    expect(sampleQuery(users, 'p', 's', -3).values[1]).toBe(0);
  });

  test('sampleUnionQuery: the sample of every column in one statement, the same three parameters, ordered per column', () => {
    const cols = [
      { table: { schema: 'public', name: 'ugc_assets' }, column: 'storage_path' },
      { table: evil, column: 'p"q' },
    ];
    const q = sampleUnionQuery(cols, "s'; --", 7);
    expect(q.values).toEqual(["s'; --", 7, 7 * SAMPLE_OVERREAD]);
    const text = squash(q.text);
    for (const [i, c] of cols.entries())
      expect(text).toContain(
        `SELECT ${i} AS i, value FROM (${squash(sampleQuery(c.table, c.column, 'x', 7).text)}) s${i}`,
      );
    expect(text).toMatch(/ UNION ALL SELECT 1 AS i, /);
    expect(text.endsWith('ORDER BY i, md5($1 || value), value COLLATE "C"')).toBe(true);
  });

  test('columnsExistQuery: one row per column in input order, names as parameters only', () => {
    const q = columnsExistQuery([
      { table: users, column: 'id' },
      { table: evil, column: 'x"y' },
    ]);
    expect(q.values).toEqual([
      ['public', 'we"ird'],
      ['users', 'x"; DROP TABLE users; --'],
      ['id', 'x"y'],
    ]);
    expect(q.text).not.toContain('DROP');
    expect(squash(q.text)).toContain('WITH ORDINALITY AS k(sch, rel, col, i)');
    expect(squash(q.text)).toMatch(/ORDER BY k\.i$/);
  });

  test('sampleDistinctQuery: the same order over distinct values', () => {
    const q = sampleDistinctQuery({ schema: 'public', name: 'ugc_assets' }, 'storage_path', 's', 5);
    expect(q.values).toEqual(['s', 5]);
    expect(squash(q.text)).toBe(
      'SELECT value FROM ( SELECT DISTINCT "storage_path"::text AS value FROM "public"."ugc_assets" WHERE "storage_path" IS NOT NULL ) d ' +
        'ORDER BY md5($1 || value), value COLLATE "C" LIMIT $2',
    );
  });
});

describe('catalog', () => {
  test('user tables: ordinary and partitioned parents, no partitions, no system schemas, no extension members', () => {
    const t = squash(userTablesQuery().text);
    expect(t).toContain("c.relkind IN ('r', 'p')");
    expect(t).toContain('NOT c.relispartition');
    expect(t).toContain("n.nspname NOT IN ('pg_catalog', 'information_schema')");
    expect(t).toContain("d.deptype = 'e'");
  });

  test('foreign keys: composite columns in key order, each key once (not its clones on partitions)', () => {
    const t = squash(foreignKeysQuery().text);
    expect(t).toContain("con.contype = 'f'");
    expect(t).toContain('con.conparentid = 0');
    expect(t).toContain('unnest(con.conkey) WITH ORDINALITY');
    expect(t).toContain('unnest(con.confkey) WITH ORDINALITY');
    expect(t).toContain('ORDER BY k.ord');
    // keys declared on a partition itself are checked too (rw29)
    expect(t).not.toContain('relispartition');
  });

  test('columnExistsQuery takes schema, table and column as parameters', () => {
    expect(columnExistsQuery(evil, 'c"ol').values).toEqual([evil.schema, evil.name, 'c"ol']);
    expect(columnExistsQuery(evil, 'c"ol').text).not.toContain('DROP');
  });
});
