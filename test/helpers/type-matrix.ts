/**
 * The type matrix: one table, `public.type_matrix`, holding every built-in type family plus enum, domain, composite,
 * arrays, ranges/multiranges, the PostgreSQL 15 contrib types people install (citext, hstore, ltree, cube, seg, isn,
 * lo) and the pgvector types (vector, halfvec, sparsevec, bit), with for each column a value (row 1) and a one-value
 * change. Each change is chosen to be one a hash or equality would fold when the dumped text keeps it (1.0 vs 1.00,
 * -0 vs 0, '1 day' vs '24 hours', an array's lower bound, a timetz's zone, citext case, ...), or else the smallest
 * visible change.
 */

export interface MatrixColumn {
  name: string;
  /** Column type as written in CREATE TABLE. */
  type: string;
  /** SQL literal of row 1's value. */
  value: string;
  /** SQL literal of the changed value (differs in the text pg_dump writes). */
  changed: string;
}

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
const c = (name: string, type: string, value: string, changed: string): MatrixColumn => ({
  name,
  type,
  value: q(value),
  changed: q(changed),
});

/** Extensions the matrix needs (all in PostgreSQL 15's contrib, plus pgvector). */
export const MATRIX_EXTENSIONS = [
  'citext',
  'hstore',
  'ltree',
  'cube',
  'seg',
  'isn',
  'lo',
  'pg_trgm',
  'uuid-ossp',
  'vector',
];

export const MATRIX_COLUMNS: MatrixColumn[] = [
  // boolean, character, numeric families
  c('c_bool', 'boolean', 'true', 'false'),
  c('c_char1', '"char"', 'a', 'b'),
  c('c_int2', 'smallint', '1', '2'),
  c('c_int4', 'integer', '-7', '-8'),
  c('c_int8', 'bigint', '9007199254740993', '9007199254740992'),
  c('c_oid', 'oid', '42', '43'),
  c('c_numeric', 'numeric', '1.0', '1.00'),
  c('c_numeric_typmod', 'numeric(10,2)', '12.30', '12.31'),
  c('c_float4', 'real', '-0', '0'),
  c('c_float8', 'double precision', '0.1', '0.10000000000000002'),
  c('c_float8_nan', 'double precision', 'NaN', 'Infinity'),
  c('c_money', 'money', '12.34', '12.35'),
  c('c_text', 'text', 'Zoë 🚀', 'zoë 🚀'),
  c('c_varchar', 'varchar(10)', 'a', 'a '),
  c('c_bpchar', 'bpchar', 'a', 'a '),
  c('c_char3', 'char(3)', 'ab', 'AB'),
  c('c_name', 'name', 'n1', 'n2'),
  c('c_bytea', 'bytea', '\\x00ff', '\\x00fe'),
  // date/time
  c('c_date', 'date', '2024-02-29', '2024-03-01'),
  c('c_time', 'time', '12:00:00', '12:00:00.000001'),
  c('c_timetz', 'timetz', '12:00:00+02', '10:00:00+00'),
  c('c_timestamp', 'timestamp', '0001-01-01 00:00:00 BC', '0001-01-01 00:00:01 BC'),
  c('c_timestamptz', 'timestamptz', '2024-03-31 02:30:00+02', '2024-03-31 02:30:00.000001+02'),
  c('c_interval', 'interval', '1 day', '24 hours'),
  c('c_interval_mon', 'interval', '1 mon', '30 days'),
  // documents, network, bit strings, uuid
  c('c_json', 'json', '{"a":1}', '{"a": 1}'),
  c('c_jsonb', 'jsonb', '{"a":1.0}', '{"a":1.00}'),
  c('c_jsonpath', 'jsonpath', '$.a', '$.b'),
  c('c_xml', 'xml', '<a/>', '<a></a>'),
  c('c_xml_decl', 'xml', '<?xml version="1.0"?><r/>', '<r x="1"/>'),
  c('c_uuid', 'uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'),
  c('c_inet', 'inet', '192.0.2.1/24', '192.0.2.1/25'),
  c('c_cidr', 'cidr', '192.0.2.0/24', '192.0.2.0/25'),
  c('c_macaddr', 'macaddr', '08:00:2b:01:02:03', '08:00:2b:01:02:04'),
  c('c_macaddr8', 'macaddr8', '08:00:2b:01:02:03:04:05', '08:00:2b:01:02:03:04:06'),
  c('c_bit', 'bit(3)', '101', '100'),
  c('c_varbit', 'bit varying', '1', '10'),
  c('c_pg_lsn', 'pg_lsn', '0/16', '0/17'),
  // geometric
  c('c_point', 'point', '(1,2)', '(1,2.5)'),
  c('c_line', 'line', '{1,2,3}', '{1,2,4}'),
  c('c_lseg', 'lseg', '[(0,0),(1,1)]', '[(0,0),(1,2)]'),
  c('c_box', 'box', '(1,1),(0,0)', '(2,1),(0,0)'),
  c('c_path', 'path', '[(0,0),(1,1)]', '((0,0),(1,1))'),
  c('c_polygon', 'polygon', '((0,0),(1,1),(1,0))', '((0,0),(1,1),(2,0))'),
  c('c_circle', 'circle', '<(0,0),1>', '<(0,0),2>'),
  // text search
  c('c_tsvector', 'tsvector', 'a:1 fat:2', 'a:1 fat:3'),
  c('c_tsquery', 'tsquery', 'a & b', 'a | b'),
  // arrays, ranges, multiranges
  c('c_int_arr', 'integer[]', '{1,2}', '[0:1]={1,2}'),
  c('c_text_arr', 'text[]', '{"a,b",NULL}', '{"a,b",""}'),
  c('c_float_arr', 'double precision[]', '{-0,1}', '{0,1}'),
  c('c_int4range', 'int4range', '[1,5)', '[1,6)'),
  c('c_numrange', 'numrange', '[1.0,2)', '[1.00,2)'),
  c(
    'c_tstzrange',
    'tstzrange',
    '[2024-01-01 00:00+00,2024-02-01 00:00+00)',
    '[2024-01-01 00:00+00,2024-02-02 00:00+00)',
  ),
  c('c_daterange', 'daterange', '[2024-01-01,2024-02-01)', 'empty'),
  c('c_multirange', 'int4multirange', '{[1,3),[5,7)}', '{[1,3),[5,8)}'),
  // reg* (an OID the restore reassigns; the dump carries the name)
  c('c_regclass', 'regclass', 'public.matrix_ref', 'public.matrix_ref2'),
  c('c_regtype', 'regtype', 'public.mood', 'public.pair'),
  c('c_regprocedure', 'regprocedure', 'public.matrix_fn(integer)', 'now()'),
  c('c_regnamespace', 'regnamespace', 'public', 'pg_catalog'),
  // transaction ids, snapshots, tuple ids, vectors of oids
  c('c_xid8', 'xid8', '123', '124'),
  c('c_snapshot', 'pg_snapshot', '10:20:10,14,15', '10:20:10,14'),
  c('c_tid', 'tid', '(0,1)', '(0,2)'),
  c('c_oidvector', 'oidvector', '1 2', '1 3'),
  // user-defined: enum and everything built on it, domains, composites
  c('c_enum', 'public.mood', 'ok', 'happy'),
  c('c_enum_domain', 'public.mood_d', 'ok', 'sad'),
  c('c_enum_arr', 'public.mood[]', '{sad,ok}', '{sad,happy}'),
  c('c_enum_range', 'public.mood_range', '[sad,happy)', '[sad,ok)'),
  c('c_composite', 'public.pair', '(1,x,ok)', '(1,x,sad)'),
  c('c_domain', 'public.posint', '5', '6'),
  c('c_domain_domain', 'public.posint_small', '5', '4'),
  c('c_xml_domain', 'public.xml_d', '<?xml version="1.0"?><d/>', '<e/>'),
  // contrib
  c('c_citext', 'citext', 'Abc', 'abc'),
  c('c_hstore', 'hstore', 'a=>1, b=>2', 'a=>1, b=>3'),
  c('c_ltree', 'ltree', 'top.science.astronomy', 'top.science.physics'),
  c('c_cube', 'cube', '(1, 2)', '(1, 3)'),
  c('c_seg', 'seg', '1.5 .. 2.5', '1.5 .. 3.5'),
  c('c_isbn', 'isbn13', '978-0-306-40615-7', '978-1-4028-9462-6'),
  c('c_lo', 'lo', '1', '2'),
  // pgvector
  c('c_vector', 'vector(3)', '[1,2,3]', '[1,2,3.0001]'),
  c('c_halfvec', 'halfvec(3)', '[1,2,3]', '[1,2,4]'),
  c('c_sparsevec', 'sparsevec(5)', '{1:1,3:2}/5', '{1:1,3:3}/5'),
  c('c_bq', 'bit(8)', '10110001', '10110011'),
];

/** The SQL that creates and fills the matrix (extensions, types, a referenced table, `type_matrix` with rows 1 and 2). */
export function matrixSql(): string {
  const cols = MATRIX_COLUMNS.map((x) => `  ${x.name} ${x.type}`).join(',\n');
  const vals = MATRIX_COLUMNS.map((x) => `${x.value}::${x.type}`).join(', ');
  return `
${MATRIX_EXTENSIONS.map((e) => `CREATE EXTENSION IF NOT EXISTS "${e}";`).join('\n')}
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN mood_d AS mood;
CREATE TYPE mood_range AS RANGE (subtype = mood);
CREATE TYPE pair AS (a int, b text, m mood);
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE DOMAIN posint_small AS posint CHECK (VALUE < 100);
CREATE DOMAIN xml_d AS xml;
CREATE TABLE matrix_ref (id int);
CREATE FUNCTION matrix_fn(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
CREATE TABLE matrix_ref2 (id int);
CREATE TABLE type_matrix (
  id int PRIMARY KEY,
${cols}
);
CREATE INDEX type_matrix_trgm ON type_matrix USING gin (c_text gin_trgm_ops);
INSERT INTO type_matrix VALUES (1, ${vals});
INSERT INTO type_matrix (id) VALUES (2);
-- An enum as partition key and primary-key column: checksummed through the parent, bisected by (m, id).
CREATE TABLE mood_parts (m mood, id int, v text, PRIMARY KEY (m, id)) PARTITION BY LIST (m);
CREATE TABLE mood_parts_sad PARTITION OF mood_parts FOR VALUES IN ('sad');
CREATE TABLE mood_parts_rest PARTITION OF mood_parts FOR VALUES IN ('ok', 'happy');
INSERT INTO mood_parts SELECT (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::mood, g, 'v' || g FROM generate_series(1, 300) g;
INSERT INTO type_matrix (id, c_text, c_enum, c_float4, c_xml) SELECT g, 'row ' || g, 'sad', g / 3.0, ('<n>' || g || '</n>')::xml FROM generate_series(3, 40) g;
`;
}
