/**
 * Schema parity: the application's schema objects of source and target, one object kind at a time, compared by name
 * (missing, extra, different definition) plus the states a restore can leave wrong: indexes that are not valid or
 * not ready, constraints left NOT VALID, triggers disabled, materialized views never populated.
 *
 * Objects in system schemas and objects that belong to an extension (pg_depend deptype 'e') are not the
 * application's and are left out. Definitions are deparsed under the pinned session (search_path=pg_catalog), so
 * both sides print names the same way.
 */
import { compareVersions } from '../core/format.ts';
import { USER_SCHEMA_FILTER } from './deep-context.ts';

/** One schema object as read from a catalog. */
export interface SchemaObject {
  name: string;
  /** Compared for equality: a difference is reported as "different". */
  def: string;
  /** The state the kind cares about (index validity, convalidated, tgenabled, relispopulated). */
  state?: string;
}

export interface KindSpec {
  /** Test name suffix: `schema <kind>`. */
  kind: string;
  sql: string;
  /** The next step, appended to a failure message of this kind. */
  hint?: string;
  /** A problem with a target object's state; `src` is undefined without a source (or when missing there). */
  stateProblem?(dst: SchemaObject, src?: SchemaObject): string | undefined;
  /**
   * A definition difference a cross-version copy is allowed to have: the evidence to show instead of a failure
   * (e.g. "source 0.8.0, target 0.8.1: newer, accepted"), or undefined when it is a real difference.
   */
  acceptDifference?(src: SchemaObject, dst: SchemaObject, opts: ParityOptions): string | undefined;
}

export interface ParityOptions {
  /** EXTENSION_VERSIONS_EQUAL=1: a newer extension on the target is a difference. */
  extensionVersionsEqual?: boolean;
}

/**
 * An extension's versions judged: equal passes; newer on the target passes as evidence (preflight accepted it: the
 * target offered at least the source's version) unless `requireEqual`; older fails. Pure.
 */
export function judgeExtensionVersion(
  name: string,
  src: string,
  dst: string,
  requireEqual = false,
): { ok: boolean; evidence: string } {
  const c = compareVersions(dst, src);
  if (c === 0) return { ok: true, evidence: `${name}: source ${src}, target ${dst}: equal` };
  if (c > 0 && !requireEqual) return { ok: true, evidence: `${name}: source ${src}, target ${dst}: newer, accepted` };
  return {
    ok: false,
    evidence: `${name}: source ${src}, target ${dst}: ${c > 0 ? 'newer, and EXTENSION_VERSIONS_EQUAL=1 requires the same version' : 'OLDER on the target (ALTER EXTENSION … UPDATE)'}`,
  };
}

/** Not owned by an extension: `classid` catalog and `oid` of the object. */
const notExt = (classid: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${classid}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

const REL_OK = `${USER_SCHEMA_FILTER} AND ${notExt('pg_class', 'c.oid')}`;

/**
 * Database-level properties that a dump without `--create` does not carry (the target database keeps its own):
 * encoding, LC_COLLATE, LC_CTYPE, the locale provider and its locale (ICU locale on 15-16, `datlocale` on 17+), ICU
 * rules (16+). Read through to_jsonb(pg_database) so one query runs on every version; a column a version lacks reads
 * as its meaning there (before 15 every database is libc). A difference changes sort order, `upper()`/`ILIKE`, index
 * order of text columns, and which characters can be stored at all.
 */
export const DATABASE_PROPERTIES_SQL = `SELECT k.name, k.def FROM (
  SELECT to_jsonb(d) || jsonb_build_object('encoding_name', pg_encoding_to_char(d.encoding)) AS j
  FROM pg_database d WHERE d.datname = current_database()
) x, LATERAL (VALUES
  ('encoding', x.j ->> 'encoding_name'),
  ('LC_COLLATE', x.j ->> 'datcollate'),
  ('LC_CTYPE', x.j ->> 'datctype'),
  ('locale provider', CASE coalesce(x.j ->> 'datlocprovider', 'c') WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu' WHEN 'b' THEN 'builtin' ELSE x.j ->> 'datlocprovider' END),
  ('provider locale (ICU locale / datlocale)', coalesce(x.j ->> 'datlocale', x.j ->> 'daticulocale', 'none')),
  ('ICU rules', coalesce(x.j ->> 'daticurules', 'none'))
) k(name, def)`;

export const KINDS: KindSpec[] = [
  {
    kind: 'tables and columns',
    sql: `SELECT n.nspname || '.' || c.relname AS name,
  CASE c.relkind WHEN 'p' THEN 'partitioned table' WHEN 'f' THEN 'foreign table' ELSE 'table' END
    || CASE WHEN c.relispartition THEN ' partition of ' || (SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid LIMIT 1) ELSE '' END AS def
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f') AND ${REL_OK}
UNION ALL
SELECT n.nspname || '.' || c.relname || '.' || a.attname,
  format_type(a.atttypid, a.atttypmod)
    || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
    || CASE a.attidentity WHEN 'a' THEN ' generated always as identity' WHEN 'd' THEN ' generated by default as identity' ELSE '' END
    || CASE WHEN a.attgenerated = 's' THEN ' generated always as (' || pg_get_expr(ad.adbin, ad.adrelid) || ') stored'
            WHEN ad.adbin IS NOT NULL THEN ' default ' || pg_get_expr(ad.adbin, ad.adrelid) ELSE '' END
    || CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN ' collate ' || (SELECT co.collname FROM pg_collation co WHERE co.oid = a.attcollation) ELSE '' END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
WHERE c.relkind IN ('r', 'p', 'f') AND ${REL_OK}`,
  },
  {
    kind: 'indexes',
    sql: `SELECT n.nspname || '.' || ic.relname AS name, pg_get_indexdef(i.indexrelid) AS def,
  CASE WHEN NOT i.indisvalid THEN 'invalid' WHEN NOT i.indisready THEN 'not ready' ELSE 'valid' END AS state
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE ${REL_OK}`,
    stateProblem: (d) =>
      d.state !== 'valid'
        ? `${d.state} on the target (indisvalid/indisready false: the build failed; REINDEX or recreate it)`
        : undefined,
  },
  {
    kind: 'constraints',
    sql: `SELECT n.nspname || '.' || c.relname || '.' || con.conname AS name,
  CASE con.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique' WHEN 'f' THEN 'foreign key' WHEN 'c' THEN 'check'
    WHEN 'x' THEN 'exclusion' WHEN 't' THEN 'trigger' ELSE con.contype::text END
    || ': ' || regexp_replace(pg_get_constraintdef(con.oid), ' NOT VALID$', '') AS def,
  -- NOT NULL is compared as nullability (tables and columns: attnotnull); PostgreSQL 18 also records it as
  -- pg_constraint rows (contype 'n') that older majors do not have, so those rows are no difference across majors.
  CASE WHEN con.convalidated THEN 'validated' ELSE 'not validated' END AS state
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.conrelid <> 0 AND con.contype <> 'n' AND ${REL_OK}`,
    stateProblem: (d, s) =>
      d.state === 'not validated' && (!s || s.state === 'validated')
        ? `NOT VALID on the target${s ? ' but validated on the source' : ''} (VALIDATE CONSTRAINT it)`
        : undefined,
  },
  {
    kind: 'triggers',
    sql: `SELECT n.nspname || '.' || c.relname || '.' || tg.tgname AS name, pg_get_triggerdef(tg.oid) AS def,
  CASE tg.tgenabled WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'enabled on replica only' WHEN 'A' THEN 'enabled always' END AS state
FROM pg_trigger tg
JOIN pg_class c ON c.oid = tg.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT tg.tgisinternal AND ${REL_OK}`,
    stateProblem: (d, s) => {
      if (s && s.state !== d.state) return `${d.state} on the target but ${s.state} on the source`;
      if (!s && d.state === 'disabled') return 'disabled on the target';
      return undefined;
    },
  },
  {
    kind: 'views and materialized views',
    sql: `SELECT n.nspname || '.' || c.relname AS name,
  CASE c.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END || ' md5 ' || md5(pg_get_viewdef(c.oid)) AS def,
  CASE WHEN c.relkind = 'v' THEN 'view' WHEN c.relispopulated THEN 'populated' ELSE 'not populated' END AS state
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND ${REL_OK}`,
    stateProblem: (d, s) =>
      d.state === 'not populated' && (!s || s.state === 'populated')
        ? `not populated on the target${s ? ' but populated on the source' : ''} (REFRESH MATERIALIZED VIEW it; queries on it fail)`
        : undefined,
  },
  {
    kind: 'functions',
    sql: `SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name,
  CASE p.prokind WHEN 'f' THEN 'function' WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function' END
    || ' ' || l.lanname || coalesce(' returns ' || pg_get_function_result(p.oid), '')
    || ' ' || p.provolatile::text || CASE WHEN p.prosecdef THEN ' security definer' ELSE '' END
    || ' md5 ' || md5(coalesce(p.prosrc, '') || coalesce(p.probin, '') || coalesce(array_to_string(p.proconfig, ','), '')) AS def
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE ${USER_SCHEMA_FILTER} AND ${notExt('pg_proc', 'p.oid')}`,
  },
  {
    kind: 'extensions',
    sql: `SELECT e.extname AS name, 'version ' || e.extversion || ' in schema ' || n.nspname AS def
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace`,
    acceptDifference(src, dst, opts) {
      const parse = (def: string) => /^version (\S+) in schema (.*)$/.exec(def);
      const s = parse(src.def);
      const d = parse(dst.def);
      if (!s || !d || s[2] !== d[2]) return undefined;
      const j = judgeExtensionVersion(src.name, s[1], d[1], opts.extensionVersionsEqual);
      return j.ok ? j.evidence : undefined;
    },
  },
  {
    kind: 'sequences',
    sql: `SELECT n.nspname || '.' || c.relname AS name,
  format_type(s.seqtypid, NULL) || ' start ' || s.seqstart || ' increment ' || s.seqincrement || ' min ' || s.seqmin
    || ' max ' || s.seqmax || ' cache ' || s.seqcache || CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END
    || coalesce(' owned by ' || (
      SELECT dc.relname || '.' || a.attname FROM pg_depend d
      JOIN pg_class dc ON dc.oid = d.refobjid
      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
      LIMIT 1), '') AS def
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ${REL_OK}`,
  },
  {
    kind: 'schemas',
    sql: `SELECT n.nspname AS name, 'schema' AS def FROM pg_namespace n WHERE ${USER_SCHEMA_FILTER} AND ${notExt('pg_namespace', 'n.oid')}`,
  },
  {
    kind: 'types and domains',
    // Enums with their labels in order, domains with base type / NOT NULL / default / constraints, composites with
    // their attributes, ranges with their subtype. Array types and tables' row types come with their owners.
    sql: `SELECT n.nspname || '.' || t.typname AS name,
  CASE t.typtype
    WHEN 'e' THEN 'enum (' || (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) || ')'
    WHEN 'd' THEN 'domain over ' || format_type(t.typbasetype, t.typtypmod) || CASE WHEN t.typnotnull THEN ' not null' ELSE '' END
      || coalesce(' default ' || t.typdefault, '')
      || coalesce(' ' || (SELECT string_agg(c.conname || ' ' || pg_get_constraintdef(c.oid), ', ' ORDER BY c.conname) FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype <> 'n'), '')
    WHEN 'c' THEN 'composite (' || (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) || ')'
    WHEN 'r' THEN 'range of ' || (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid)
    WHEN 'm' THEN 'multirange'
    ELSE 'base type'
  END AS def
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE ${USER_SCHEMA_FILTER} AND ${notExt('pg_type', 't.oid')} AND t.typcategory <> 'A'
  AND (t.typrelid = 0 OR (SELECT rc.relkind FROM pg_class rc WHERE rc.oid = t.typrelid) = 'c')`,
  },
  {
    kind: 'row-level security',
    // Policies (command, permissive/restrictive, roles, USING and WITH CHECK) and every table's row-security flags:
    // a table whose RLS is off on staging serves every tenant's rows.
    sql: `SELECT 'policy ' || n.nspname || '.' || c.relname || '.' || p.polname AS name,
  'for ' || CASE p.polcmd WHEN 'r' THEN 'select' WHEN 'a' THEN 'insert' WHEN 'w' THEN 'update' WHEN 'd' THEN 'delete' ELSE 'all' END
    || CASE WHEN p.polpermissive THEN ' permissive' ELSE ' restrictive' END
    || ' to ' || coalesce((SELECT string_agg(CASE WHEN pr.oid = 0 THEN 'public' ELSE coalesce(quote_ident(r.rolname), pr.oid::text) END, ', ' ORDER BY r.rolname)
        FROM unnest(p.polroles) pr(oid) LEFT JOIN pg_roles r ON r.oid = pr.oid), '')
    || coalesce(' using (' || pg_get_expr(p.polqual, p.polrelid) || ')', '')
    || coalesce(' with check (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')', '') AS def
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ${REL_OK}
UNION ALL
SELECT 'table ' || n.nspname || '.' || c.relname || ' row security' AS name,
  CASE WHEN c.relrowsecurity THEN 'enabled' ELSE 'disabled' END || CASE WHEN c.relforcerowsecurity THEN ', forced' ELSE ', not forced' END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND ${REL_OK}`,
  },
  {
    kind: 'comments',
    // COMMENT ON anything created after initdb (OID >= 16384: the application's objects, extensions, large objects;
    // not an extension's members, whose comments come with the extension's version), by the object's description;
    // the text compared by md5.
    sql: `SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid) AS name, 'md5 ' || md5(d.description) AS def
FROM pg_description d WHERE d.objoid >= 16384
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')`,
  },
  {
    kind: 'rules',
    sql: `SELECT n.nspname || '.' || c.relname || '.' || r.rulename AS name, 'md5 ' || md5(pg_get_ruledef(r.oid)) AS def,
  CASE r.ev_enabled WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'enabled on replica only' WHEN 'A' THEN 'enabled always' END AS state
FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND ${REL_OK}`,
    stateProblem: (d, s) =>
      s && s.state !== d.state ? `${d.state} on the target but ${s.state} on the source` : undefined,
  },
  {
    kind: 'extended statistics',
    sql: `SELECT n.nspname || '.' || x.stxname AS name, pg_get_statisticsobjdef(x.oid) AS def
FROM pg_statistic_ext x JOIN pg_namespace n ON n.oid = x.stxnamespace
WHERE ${USER_SCHEMA_FILTER} AND ${notExt('pg_statistic_ext', 'x.oid')}`,
  },
  {
    kind: 'collations',
    sql: `SELECT n.nspname || '.' || co.collname AS name,
  'provider ' || co.collprovider::text || ' deterministic ' || co.collisdeterministic::text
    || coalesce(' collate ' || co.collcollate, '') || coalesce(' ctype ' || co.collctype, '')
    || coalesce(' locale ' || (to_jsonb(co) ->> 'colllocale'), ' locale ' || (to_jsonb(co) ->> 'colliculocale'), '') AS def
FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace
WHERE ${USER_SCHEMA_FILTER} AND ${notExt('pg_collation', 'co.oid')}`,
  },
  {
    kind: 'event triggers',
    sql: `SELECT e.evtname AS name, e.evtevent || ' ' || e.evtfoid::regproc::text || coalesce(' tags ' || array_to_string(e.evttags, ','), '') AS def,
  CASE e.evtenabled WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'enabled on replica only' WHEN 'A' THEN 'enabled always' END AS state
FROM pg_event_trigger e WHERE ${notExt('pg_event_trigger', 'e.oid')}`,
    stateProblem: (d, s) =>
      s && s.state !== d.state ? `${d.state} on the target but ${s.state} on the source` : undefined,
  },
  {
    kind: 'database properties',
    sql: DATABASE_PROPERTIES_SQL,
    hint:
      "the restore cannot change them: create the target database with the source's values " +
      '(CREATE DATABASE … TEMPLATE template0 ENCODING … LOCALE_PROVIDER … LC_COLLATE … LC_CTYPE …) and restore again',
  },
];

export interface ParityReport {
  compared: number;
  /** Differences a cross-version copy may have, with the evidence (not failures). */
  accepted: string[];
  missing: string[];
  extra: string[];
  different: Array<{ name: string; src: string; dst: string }>;
  states: Array<{ name: string; problem: string }>;
}

/** Compare the objects of one kind; without `src`, only the target's states are judged. */
export function compareObjects(
  spec: KindSpec,
  dst: SchemaObject[],
  src?: SchemaObject[],
  opts: ParityOptions = {},
): ParityReport {
  const d = new Map(dst.map((o) => [o.name, o]));
  const s = src ? new Map(src.map((o) => [o.name, o])) : undefined;
  const r: ParityReport = { compared: dst.length, accepted: [], missing: [], extra: [], different: [], states: [] };
  if (s) {
    for (const [name, o] of s) {
      const t = d.get(name);
      if (!t) r.missing.push(name);
      else if (t.def !== o.def) {
        const accepted = spec.acceptDifference?.(o, t, opts);
        if (accepted) r.accepted.push(accepted);
        else r.different.push({ name, src: o.def, dst: t.def });
      }
    }
    for (const name of d.keys()) if (!s.has(name)) r.extra.push(name);
  }
  if (spec.stateProblem) {
    for (const [name, o] of d) {
      const p = spec.stateProblem(o, s?.get(name));
      if (p) r.states.push({ name, problem: p });
    }
  }
  for (const list of [r.missing, r.extra]) list.sort();
  r.different.sort((a, b) => a.name.localeCompare(b.name));
  r.states.sort((a, b) => a.name.localeCompare(b.name));
  return r;
}

const cut = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** The failure message: every category with up to `limit` names each; empty when the kind is at parity. */
export function parityMessage(kind: string, r: ParityReport, limit = 20): string {
  const list = (xs: string[]) =>
    `${xs.slice(0, limit).join(', ')}${xs.length > limit ? `, … (${xs.length - limit} more)` : ''}`;
  const parts: string[] = [];
  if (r.missing.length) parts.push(`missing on target (${r.missing.length}): ${list(r.missing)}`);
  if (r.extra.length) parts.push(`extra on target (${r.extra.length}): ${list(r.extra)}`);
  if (r.different.length)
    parts.push(
      `different (${r.different.length}): ${list(r.different.map((x) => `${x.name} [source: ${cut(x.src)} | target: ${cut(x.dst)}]`))}`,
    );
  if (r.states.length) parts.push(`${list(r.states.map((x) => `${x.name} ${x.problem}`))}`);
  return parts.length ? `schema ${kind}: ${parts.join('; ')}` : '';
}
