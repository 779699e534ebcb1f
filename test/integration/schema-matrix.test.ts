/**
 * The object-kind matrix of schema parity: a source with one object of every kind pg_dump emits (table and column
 * attributes, constraint, index, view, materialized view, function, procedure, trigger, policy, sequence, enum,
 * domain, extension, schema, comment, publication, event trigger, rule, statistics object, collation, text search
 * configuration, operator). After a green rehearsal, one difference per kind is seeded on a copy of the target, and
 * `--verify-only` is red in exactly the `schema …` check of each kind, naming the object and the differing clause.
 * Not in the matrix: privileges and owners (the rehearsal restores with --no-acl --no-owner, so they are not compared)
 * and foreign servers / user mappings / subscriptions (judged by the `isolation …` checks).
 *
 * In-process, no whole CLI run: the copy is the rehearsal's own copy steps (test/helpers/pipeline.ts copyInProcess:
 * preflight → dump → restore → mirror, as its global setup runs them), judged green by every check family; the
 * `--verify-only --select schema-parity` run is the schema-parity family judged in-process against the seeded copy
 * (test/helpers/family.ts runFamilies: the same check names and failure texts JUnit shows). Nothing here is a fact of
 * the CLI itself (exit codes, reports, phase order): those are proven by the whole runs of other files.
 */
import { expect, test } from 'vitest';
import { closePools } from '../../lib/core/db.ts';
import { describe, failedNames, failureOf, outcome, runFamilies } from '../helpers/family.ts';
import { copyThenEveryFamily } from '../helpers/pipeline.ts';
import { freshDb } from '../helpers/sandbox.ts';
import { scenario } from '../helpers/scenario.ts';

const SOURCE = `
CREATE EXTENSION pg_trgm;
CREATE SCHEMA m_sch;
CREATE TYPE m_e AS ENUM ('a', 'b');
CREATE DOMAIN m_d AS int;
CREATE COLLATION m_coll (provider = icu, locale = 'de-u-ks-level2', deterministic = false);
CREATE TABLE m_t (id int PRIMARY KEY, a text CONSTRAINT m_t_a_check CHECK (length(a) < 10), e m_e, d m_d);
CREATE TABLE m_child (id int PRIMARY KEY, t_id int CONSTRAINT m_child_fk REFERENCES m_t ON DELETE CASCADE);
CREATE INDEX m_t_a ON m_t (a);
CREATE VIEW m_v AS SELECT id FROM m_t;
CREATE MATERIALIZED VIEW m_mv AS SELECT id FROM m_t;
CREATE FUNCTION m_f(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
CREATE PROCEDURE m_p() LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION m_trf() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER m_tr BEFORE INSERT ON m_t FOR EACH ROW EXECUTE FUNCTION m_trf();
ALTER TABLE m_t ENABLE ROW LEVEL SECURITY;
CREATE POLICY m_pol ON m_t USING (id > 0);
CREATE SEQUENCE m_s;
COMMENT ON TABLE m_t IS 'the matrix table';
CREATE PUBLICATION m_pub FOR TABLE m_t;
CREATE FUNCTION m_evtf() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER m_evt ON ddl_command_start EXECUTE FUNCTION m_evtf();
CREATE TABLE m_log (id int);
CREATE RULE m_r AS ON DELETE TO m_log DO INSTEAD NOTHING;
CREATE STATISTICS m_st ON id, a FROM m_t;
CREATE TEXT SEARCH CONFIGURATION m_ts (COPY = english);
CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = int4eq);
INSERT INTO m_t VALUES (1, 'x', 'a', 1);
INSERT INTO m_child VALUES (1, 1);
`;

/** Each kind: the seeded difference, the check that must be red, and what its message must say. */
const MATRIX: Array<{ kind: string; fault: string; check: string; says: RegExp }> = [
  {
    kind: 'column attribute',
    fault: 'ALTER TABLE m_t ALTER COLUMN a SET (n_distinct = 5);',
    check: 'schema tables and columns',
    says: /TABLE public\.m_t differs: .*\+ ALTER TABLE ONLY public\.m_t ALTER COLUMN a SET \(n_distinct=5\);/,
  },
  {
    kind: 'foreign key',
    fault:
      'ALTER TABLE m_child DROP CONSTRAINT m_child_fk; ALTER TABLE m_child ADD CONSTRAINT m_child_fk FOREIGN KEY (t_id) REFERENCES m_t;',
    check: 'schema constraints',
    says: /FK CONSTRAINT public\.m_child m_child_fk differs: - .*ON DELETE CASCADE/,
  },
  {
    kind: 'index',
    fault: 'ALTER INDEX m_t_a SET (fillfactor = 50);',
    check: 'schema indexes',
    says: /INDEX public\.m_t_a differs: .*\+ CREATE INDEX m_t_a ON public\.m_t USING btree \(a\) WITH \(fillfactor='50'\);/,
  },
  {
    kind: 'view',
    fault: 'ALTER VIEW m_v SET (security_barrier = true);',
    check: 'schema views and materialized views',
    says: /VIEW public\.m_v differs: .*\+ CREATE VIEW public\.m_v WITH \(security_barrier='true'\) AS/,
  },
  {
    kind: 'materialized view',
    fault: 'ALTER MATERIALIZED VIEW m_mv SET (autovacuum_enabled = false);',
    check: 'schema views and materialized views',
    says: /MATERIALIZED VIEW public\.m_mv differs: .*\+ WITH \(autovacuum_enabled='false'\) AS/,
  },
  {
    kind: 'function',
    fault: 'ALTER FUNCTION m_f(int) COST 500;',
    check: 'schema functions',
    says: /FUNCTION public\.m_f\(integer\) differs: - LANGUAGE sql \| \+ LANGUAGE sql COST 500/,
  },
  {
    kind: 'procedure',
    fault: `ALTER PROCEDURE m_p() SET work_mem = '8MB';`,
    check: 'schema functions',
    says: /PROCEDURE public\.m_p\(\) differs: \+ SET work_mem TO '8MB'/,
  },
  {
    kind: 'trigger',
    fault: 'DROP TRIGGER m_tr ON m_t; CREATE TRIGGER m_tr BEFORE UPDATE ON m_t FOR EACH ROW EXECUTE FUNCTION m_trf();',
    check: 'schema triggers',
    says: /TRIGGER public\.m_t m_tr differs: - CREATE TRIGGER m_tr BEFORE INSERT .*\| \+ CREATE TRIGGER m_tr BEFORE UPDATE/,
  },
  {
    kind: 'policy',
    fault: 'ALTER POLICY m_pol ON m_t USING (id > 1);',
    check: 'schema row-level security',
    says: /POLICY public\.m_t m_pol differs: .*\+ CREATE POLICY m_pol ON public\.m_t USING \(\(id > 1\)\);/,
  },
  {
    kind: 'sequence',
    fault: 'ALTER SEQUENCE m_s CACHE 10;',
    check: 'schema sequences',
    says: /SEQUENCE public\.m_s differs: - CACHE 1; \| \+ CACHE 10;/,
  },
  {
    kind: 'enum',
    fault: `ALTER TYPE m_e ADD VALUE 'c';`,
    check: 'schema types and domains',
    says: /TYPE public\.m_e differs: .*\+ 'c'/,
  },
  {
    kind: 'domain',
    fault: 'ALTER DOMAIN m_d SET DEFAULT 1;',
    check: 'schema types and domains',
    says: /DOMAIN public\.m_d differs: - CREATE DOMAIN public\.m_d AS integer; \| \+ CREATE DOMAIN public\.m_d AS integer DEFAULT 1;/,
  },
  {
    kind: 'extension',
    fault: 'DROP EXTENSION pg_trgm;',
    check: 'schema extensions',
    says: /EXTENSION pg_trgm missing on target/,
  },
  { kind: 'schema', fault: 'DROP SCHEMA m_sch;', check: 'schema schemas', says: /SCHEMA m_sch missing on target/ },
  {
    kind: 'comment',
    fault: `COMMENT ON TABLE m_t IS 'changed';`,
    check: 'schema comments',
    says: /COMMENT public\.TABLE m_t differs: - COMMENT ON TABLE public\.m_t IS 'the matrix table'; \| \+ COMMENT ON TABLE public\.m_t IS 'changed';/,
  },
  {
    kind: 'publication',
    fault: 'ALTER PUBLICATION m_pub DROP TABLE m_t;',
    check: 'schema other objects',
    says: /PUBLICATION TABLE public\.m_pub m_t missing on target/,
  },
  {
    kind: 'event trigger',
    fault: 'ALTER EVENT TRIGGER m_evt DISABLE;',
    check: 'schema event triggers',
    says: /EVENT TRIGGER m_evt differs: \+ ALTER EVENT TRIGGER m_evt DISABLE;/,
  },
  {
    kind: 'rule',
    fault: 'ALTER TABLE m_log DISABLE RULE m_r;',
    check: 'schema rules',
    says: /RULE public\.m_log m_r differs: \+ ALTER TABLE public\.m_log DISABLE RULE m_r;/,
  },
  {
    kind: 'statistics object',
    fault: 'ALTER STATISTICS m_st SET STATISTICS 50;',
    check: 'schema extended statistics',
    says: /STATISTICS public\.m_st differs: \+ ALTER STATISTICS public\.m_st SET STATISTICS 50;/,
  },
  {
    kind: 'collation',
    fault: `DROP COLLATION m_coll; CREATE COLLATION m_coll (provider = icu, locale = 'de-u-ks-level1', deterministic = false);`,
    check: 'schema collations',
    says: /COLLATION public\.m_coll differs: .*\+ CREATE COLLATION public\.m_coll \(.*locale = 'de-u-ks-level1'\);/,
  },
  {
    kind: 'text search configuration',
    fault: 'ALTER TEXT SEARCH CONFIGURATION m_ts DROP MAPPING FOR asciiword;',
    check: 'schema other objects',
    says: /TEXT SEARCH CONFIGURATION public\.m_ts differs: - ADD MAPPING FOR asciiword WITH english_stem;/,
  },
  {
    kind: 'operator',
    fault: 'DROP OPERATOR === (int, int);',
    check: 'schema other objects',
    says: /OPERATOR public\.=== missing on target/,
  },
];

test("schema matrix: one seeded difference per object kind is red in that kind's schema check, naming the object", async () => {
  const s = await scenario({ fixture: false });
  await s.src.query(SOURCE);
  // The rehearsal's copy, then every check family on it with the archive's TOC (`schema coverage` runs too): green.
  const { outcomes: first } = await copyThenEveryFamily(s, { HEALTH_CHECK: '0' });
  expect(failedNames(first), describe(first)).toEqual([]);
  expect(outcome(first, 'schema coverage').verdict, 'schema coverage ran').toBeDefined();
  // The checks' pooled connections to the target end here (as a run's end does): a template must have no session.
  await closePools();
  const copy = await freshDb('target', { template: s.dst.name });
  await copy.query(MATRIX.map((m) => m.fault).join('\n'));
  // `--verify-only --select schema-parity` against the seeded copy.
  const r = await runFamilies(s, ['schema-parity'], { env: { HEALTH_CHECK: '0', DST_DATABASE_URL: copy.url } });
  const wanted = [...new Set(MATRIX.map((m) => m.check))].sort();
  expect(failedNames(r), describe(r)).toEqual(wanted);
  const missed = MATRIX.filter((m) => !m.says.test(failureOf(r, m.check))).map(
    (m) => `${m.kind}: no ${m.says} in ${m.check}: ${failureOf(r, m.check).slice(0, 1500)}`,
  );
  expect(missed).toEqual([]);
}, 600_000);
