/**
 * The archive's table of contents as the checklist: every object type `pg_restore --list` can show (pg_dump's entry
 * descriptions, PostgreSQL 10–18), mapped to the check that compares such objects after the restore, or to the
 * reason it is not compared. The `schema coverage` test warns about every type present in the archive that no check
 * covers (and about any type this table does not know). docs/checks.md prints the same table.
 */

/** How one TOC entry type is covered. */
export interface Coverage {
  /** The test (or test-name prefix) that compares these objects; absent: not compared. */
  check?: string;
  /** What is compared, or why nothing is. */
  note: string;
}

const not = (note: string): Coverage => ({ note });
const by = (check: string, note: string): Coverage => ({ check, note });

export const TOC_COVERAGE: Readonly<Record<string, Coverage>> = {
  // Restore-session settings and the database itself: not objects of the copy.
  ENCODING: by('phase restore', 'a setting of the restore session (client_encoding), not an object'),
  STDSTRINGS: by('phase restore', 'a setting of the restore session (standard_conforming_strings), not an object'),
  SEARCHPATH: by('phase restore', 'a setting of the restore session (search_path), not an object'),
  'SEARCH PATH': by('phase restore', 'a setting of the restore session (search_path), not an object'),
  DATABASE: by(
    'schema database properties',
    'only with --create; encoding, LC_COLLATE, LC_CTYPE, locale provider and locale of the target are compared',
  ),
  'DATABASE PROPERTIES': by('schema database properties', 'only with --create; properties compared as above'),
  // Schema objects.
  SCHEMA: by('schema schemas', 'the CREATE SCHEMA as pg_dump renders it'),
  EXTENSION: by(
    'schema extensions',
    "pg_dump's CREATE EXTENSION (name, schema); the version from the catalog (pg_dump writes none)",
  ),
  TYPE: by(
    'schema types and domains',
    'as pg_dump renders it: enum labels in order, composite attributes, range subtype and options, base type options',
  ),
  'SHELL TYPE': by('schema types and domains', 'completed by its TYPE entry'),
  DOMAIN: by(
    'schema types and domains',
    "pg_dump's CREATE DOMAIN: base type, NOT NULL, default, collation, constraints",
  ),
  TABLE: by(
    'schema tables and columns',
    'as pg_dump renders it: columns, types, NOT NULL, generated, collation, UNLOGGED, storage parameters (WITH …), REPLICA IDENTITY, column storage / compression / statistics target / attribute options, inline CHECKs, INHERITS, PARTITION BY, access method',
  ),
  'TABLE ATTACH': by(
    'schema tables and columns',
    'as pg_dump renders it: the parent and the partition bound (FOR VALUES … / DEFAULT)',
  ),
  'FOREIGN TABLE': by(
    'schema tables and columns',
    'as a table, and its OPTIONS as pg_dump renders them (foreign servers: isolation checks)',
  ),
  DEFAULT: by('schema tables and columns', 'column defaults as pg_dump renders them'),
  CONSTRAINT: by(
    'schema constraints',
    'as pg_dump renders it (definition, deferrability, USING INDEX …); validated state from the catalog; partition clones (conparentid) are left to their parent',
  ),
  'CHECK CONSTRAINT': by('schema constraints', 'as pg_dump renders it; validated state from the catalog'),
  'FK CONSTRAINT': by(
    'schema constraints',
    'as pg_dump renders it (actions, MATCH, deferrability); validated state from the catalog',
  ),
  INDEX: by(
    'schema indexes',
    'as pg_dump renders it (definition, storage parameters, ALTER INDEX … SET STATISTICS); valid and ready from the catalog',
  ),
  'INDEX ATTACH': by('schema indexes', 'the partition index itself, and which parent index it is attached to'),
  TRIGGER: by(
    'schema triggers',
    'as pg_dump renders it; enabled state from the catalog (also of a cloned trigger on one partition)',
  ),
  VIEW: by(
    'schema views and materialized views',
    'as pg_dump renders it: definition, security_invoker, security_barrier, WITH CHECK OPTION, column defaults',
  ),
  'MATERIALIZED VIEW': by(
    'schema views and materialized views',
    'as pg_dump renders it (definition, storage parameters, access method)',
  ),
  'MATERIALIZED VIEW DATA': by('schema views and materialized views', 'populated state (not the rows)'),
  FUNCTION: by(
    'schema functions',
    'as pg_dump renders it: signature, language, result, volatility, SECURITY DEFINER, body, SQL-standard bodies (RETURN / BEGIN ATOMIC), STRICT, PARALLEL, COST, ROWS, LEAKPROOF, SET clauses, argument defaults',
  ),
  PROCEDURE: by('schema functions', 'as pg_dump renders it (bodies, BEGIN ATOMIC, SET clauses)'),
  AGGREGATE: by('schema functions', 'as pg_dump renders it (signature, support functions, initial condition, kind)'),
  SEQUENCE: by(
    'schema sequences',
    'as pg_dump renders it: type, start, increment, bounds, cache, cycle, UNLOGGED, identity ALWAYS / BY DEFAULT',
  ),
  'SEQUENCE OWNED BY': by('schema sequences', 'the owner column, as pg_dump renders it'),
  'ROW SECURITY': by(
    'schema row-level security',
    "pg_dump's ENABLE ROW LEVEL SECURITY; each table's relrowsecurity / relforcerowsecurity from the catalog",
  ),
  POLICY: by('schema row-level security', 'as pg_dump renders it: command, permissive, roles, USING, WITH CHECK'),
  // Data.
  'TABLE DATA': by('checksum', 'row counts (row count …) and content checksums (checksum …)'),
  'SEQUENCE SET': by('sequence', 'last_value / is_called of every sequence, owned or not'),
  BLOB: by('large objects', 'OID set, size and md5 of each object (PostgreSQL before 17)'),
  BLOBS: by('large objects', 'the objects\u2019 contents'),
  'BLOB METADATA': by('large objects', 'OID set (PostgreSQL 17+)'),
  'LARGE OBJECT': by('large objects', 'OID set, size and md5 of each object'),
  // Not compared.
  COMMENT: by(
    'schema comments',
    'as pg_dump renders it: the text of every comment (on objects, columns, constraints, …)',
  ),
  ACL: not(
    "privileges are not compared: the rehearsal restores with --no-acl (and --no-owner), so the target's differ by design",
  ),
  'DEFAULT ACL': not('default privileges are not compared'),
  'SECURITY LABEL': not('security labels are not compared'),
  RULE: by('schema rules', 'as pg_dump renders it; enabled state from the catalog'),
  STATISTICS: by('schema extended statistics', 'as pg_dump renders it (definition, statistics target)'),
  'STATISTICS DATA': not('planner statistics (pg_dump 18) are not compared; ANALYZE after the restore'),
  'EVENT TRIGGER': by(
    'schema event triggers',
    'as pg_dump renders it (event, function, tags); enabled state from the catalog',
  ),
  CAST: by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  COLLATION: by('schema collations', 'as pg_dump renders it: provider, deterministic, collate, ctype, locale, rules'),
  CONVERSION: by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  OPERATOR: by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  'OPERATOR CLASS': by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  'OPERATOR FAMILY': by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  'ACCESS METHOD': by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  'PROCEDURAL LANGUAGE': by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  TRANSFORM: by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  'TEXT SEARCH CONFIGURATION': by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  'TEXT SEARCH DICTIONARY': by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  'TEXT SEARCH PARSER': by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  'TEXT SEARCH TEMPLATE': by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  'FOREIGN DATA WRAPPER': by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  'FOREIGN SERVER': not('foreign servers are not compared'),
  SERVER: not('foreign servers are not compared'),
  'USER MAPPING': not('user mappings are not compared'),
  PUBLICATION: by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  'PUBLICATION TABLE': by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  'PUBLICATION TABLES': by('schema other objects', 'as pg_dump --schema-only renders them'),
  'PUBLICATION TABLES IN SCHEMA': by(
    'schema other objects',
    'as pg_dump --schema-only renders it (lib/checks/families/schema-parity/dump-diff.ts)',
  ),
  SUBSCRIPTION: not('subscriptions are not compared'),
  'SUBSCRIPTION TABLE': not('subscription table states (pg_dump 17+ binary upgrade) are not compared'),
};

export interface CoverageReport {
  /** Types present in the archive and covered by a check: type → [check, entries]. */
  covered: Array<{ type: string; check: string; entries: number }>;
  /** Types present in the archive that no check compares (known types), with the reason. */
  uncovered: Array<{ type: string; entries: number; note: string }>;
  /** Types this table does not know (a newer pg_dump, or a parse of an unusual line). */
  unknown: Array<{ type: string; entries: number }>;
}

/** Sort the archive's types (`state.dump.toc`: type → number of entries) by how they are covered. */
export function coverageOf(toc: Record<string, number>): CoverageReport {
  const r: CoverageReport = { covered: [], uncovered: [], unknown: [] };
  for (const [type, entries] of Object.entries(toc).sort(([a], [b]) => a.localeCompare(b))) {
    const c = TOC_COVERAGE[type];
    if (!c) r.unknown.push({ type, entries });
    else if (c.check) r.covered.push({ type, check: c.check, entries });
    else r.uncovered.push({ type, entries, note: c.note });
  }
  return r;
}

/** The markdown table of docs/checks.md, generated from `TOC_COVERAGE` (a unit test keeps the doc in step). */
export function coverageTableMarkdown(): string {
  const rows = Object.entries(TOC_COVERAGE).map(
    ([type, c]) => `| \`${type}\` | ${c.check ? `\`${c.check}\`` : '**not compared**'} | ${c.note} |`,
  );
  return ['| archive entry type | check | what is compared |', '| --- | --- | --- |', ...rows].join('\n');
}
