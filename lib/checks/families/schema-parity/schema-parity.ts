/**
 * Schema parity, one object kind at a time. What each object IS (its definition, every clause) is compared as pg_dump
 * renders it (dump-schema.ts, dump-diff.ts). What stays here is the catalog facts pg_dump does not render, or renders
 * less directly than the catalog states them (issue 25): the states a restore can leave wrong (indexes not valid or
 * not ready, constraints left NOT VALID, triggers / rules / event triggers in another enabled state, row security
 * switched, materialized views never populated), extension versions, and the database's own properties.
 *
 * Objects in system schemas and objects that belong to an extension (pg_depend deptype 'e') are not the
 * application's and are left out, as pg_dump leaves them out.
 */
import { SYSTEM_SCHEMA_FILTER, notExtensionMember } from '../../../core/catalog.ts';
import { compareVersions } from '../../../core/format.ts';

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
  /**
   * The catalog query of the facts kept beside the dump comparison (rows: name, def, state); absent: the kind is
   * compared only as pg_dump renders it. `def` is compared with the source's for objects on both sides ('' when the
   * kind has no such fact); `state` is judged by `stateProblem`.
   */
  sql?: string;
  /** Which catalog fact `sql` reads and why pg_dump's rendering is not enough (docs/checks.md lists them). */
  catalogFact?: string;
  /**
   * The catalog rows' names are compared for presence too (missing / extra): only for facts pg_dump renders no entry
   * for (database properties). Elsewhere the dump's entries say what is missing or extra.
   */
  presence?: boolean;
  /** pg_dump (without --create) renders nothing of this kind: only the catalog compares it. */
  catalogOnly?: boolean;
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

const notExt = notExtensionMember;

const REL_OK = `${SYSTEM_SCHEMA_FILTER} AND ${notExt('pg_class', 'c.oid')}`;

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

/** The state names of pg_trigger.tgenabled / pg_rewrite.ev_enabled / pg_event_trigger.evtenabled. */
const enabledState = (col: string) =>
  `CASE ${col} WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'enabled on replica only' WHEN 'A' THEN 'enabled always' END`;

/** A state that differs from the source's (an object on the target only is the dump's "extra", not a state). */
const stateDiffers = (d: SchemaObject, s?: SchemaObject) =>
  s && s.state !== d.state ? `${d.state} on the target but ${s.state} on the source` : undefined;

/**
 * One entry per `schema <kind>` check, in report order. Definitions are compared as pg_dump renders them (dump-diff.ts):
 * a kind's catalog query (`sql`) is kept only for a fact pg_dump does not render, or renders less directly than the
 * catalog states it (`catalogFact` says which, and why; docs/checks.md prints the list). Its rows carry `def` only for
 * a fact compared with the source's, and `state` for a state judged by `stateProblem`.
 */
export const KINDS: KindSpec[] = [
  { kind: 'tables and columns' },
  {
    kind: 'indexes',
    catalogFact:
      'indisvalid / indisready: pg_dump leaves invalid indexes out (the dump shows them as missing, not why), and a run without a source has no dump to compare',
    sql: `SELECT n.nspname || '.' || ic.relname AS name, '' AS def,
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
    catalogFact:
      'convalidated: judged on the target without a source too, and said with its fix (VALIDATE CONSTRAINT); pg_dump only appends NOT VALID to the definition',
    sql: `SELECT n.nspname || '.' || c.relname || '.' || con.conname AS name, '' AS def,
  CASE WHEN con.convalidated THEN 'validated' ELSE 'not validated' END AS state
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
-- PostgreSQL 18 records NOT NULL as pg_constraint rows (contype 'n') that older majors do not have: the columns' NOT
-- NULL is compared as pg_dump renders the table. A clone of a partitioned table's constraint (conparentid <> 0) is
-- made by the restore itself under a name it numbers (<fk>, <fk>1, …: pgschema#460); its parent is judged.
WHERE con.conrelid <> 0 AND con.contype <> 'n' AND ${REL_OK}
  AND NOT coalesce((to_jsonb(con) ->> 'conparentid')::oid <> 0, false)`,
    stateProblem: (d, s) =>
      d.state === 'not validated' && (!s || s.state === 'validated')
        ? `NOT VALID on the target${s ? ' but validated on the source' : ''} (VALIDATE CONSTRAINT it)`
        : undefined,
  },
  {
    kind: 'triggers',
    catalogFact:
      "tgenabled: judged on the target without a source too (a trigger left disabled by a loader); a cloned trigger's state on one partition is rendered only by pg_dump minors with the 2022 fix",
    sql: `SELECT n.nspname || '.' || c.relname || '.' || tg.tgname AS name, '' AS def, ${enabledState('tg.tgenabled')} AS state
FROM pg_trigger tg
JOIN pg_class c ON c.oid = tg.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT tg.tgisinternal AND ${REL_OK}`,
    stateProblem: (d, s) => stateDiffers(d, s) ?? (!s && d.state === 'disabled' ? 'disabled on the target' : undefined),
  },
  {
    kind: 'views and materialized views',
    catalogFact:
      'relispopulated: a schema-only dump creates every materialized view WITH NO DATA, so it never renders whether one is populated',
    sql: `SELECT n.nspname || '.' || c.relname AS name, '' AS def,
  CASE WHEN c.relispopulated THEN 'populated' ELSE 'not populated' END AS state
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'm' AND ${REL_OK}`,
    stateProblem: (d, s) =>
      d.state === 'not populated' && (!s || s.state === 'populated')
        ? `not populated on the target${s ? ' but populated on the source' : ''} (REFRESH MATERIALIZED VIEW it; queries on it fail)`
        : undefined,
  },
  { kind: 'functions' },
  {
    kind: 'extensions',
    catalogFact:
      'extversion: pg_dump writes CREATE EXTENSION without a version (the target installs its default); a newer target version is accepted as evidence unless EXTENSION_VERSIONS_EQUAL=1',
    sql: `SELECT e.extname AS name, 'version ' || e.extversion AS def FROM pg_extension e`,
    acceptDifference(src, dst, opts) {
      const version = (def: string) => /^version (\S+)$/.exec(def)?.[1];
      const s = version(src.def);
      const d = version(dst.def);
      if (!s || !d) return undefined;
      const j = judgeExtensionVersion(src.name, s, d, opts.extensionVersionsEqual);
      return j.ok ? j.evidence : undefined;
    },
  },
  { kind: 'sequences' },
  { kind: 'schemas' },
  { kind: 'types and domains' },
  {
    kind: 'row-level security',
    catalogFact:
      "relrowsecurity / relforcerowsecurity: pg_dump renders them as a separate ROW SECURITY entry (absent when off) and a FORCE line; the catalog says the table's state on both sides in one line",
    sql: `SELECT 'table ' || n.nspname || '.' || c.relname || ' row security' AS name, '' AS def,
  CASE WHEN c.relrowsecurity THEN 'enabled' ELSE 'disabled' END || CASE WHEN c.relforcerowsecurity THEN ', forced' ELSE ', not forced' END AS state
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND ${REL_OK}`,
    stateProblem: stateDiffers,
  },
  { kind: 'comments' },
  {
    kind: 'rules',
    catalogFact:
      'ev_enabled: pg_dump renders it as a separate ALTER TABLE … DISABLE / ENABLE … RULE line; the catalog states it on both sides',
    sql: `SELECT n.nspname || '.' || c.relname || '.' || r.rulename AS name, '' AS def, ${enabledState('r.ev_enabled')} AS state
FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND ${REL_OK}`,
    stateProblem: stateDiffers,
  },
  { kind: 'extended statistics' },
  { kind: 'collations' },
  {
    kind: 'event triggers',
    catalogFact:
      'evtenabled: pg_dump renders it as a separate ALTER EVENT TRIGGER … DISABLE / ENABLE line; the catalog states it on both sides',
    sql: `SELECT e.evtname AS name, '' AS def, ${enabledState('e.evtenabled')} AS state
FROM pg_event_trigger e WHERE ${notExt('pg_event_trigger', 'e.oid')}`,
    stateProblem: stateDiffers,
  },
  // Objects no other kind names (casts, operators and their classes/families, text search, procedural languages,
  // transforms, access methods, foreign-data wrappers, publications and their tables).
  { kind: 'other objects' },
  {
    kind: 'database properties',
    catalogFact:
      'encoding, LC_COLLATE, LC_CTYPE, locale provider and locale, ICU rules: pg_dump renders them only with --create, which the rehearsal does not use (the target database keeps its own)',
    sql: DATABASE_PROPERTIES_SQL,
    presence: true,
    catalogOnly: true,
    hint:
      "the restore cannot change them: create the target database with the source's values " +
      '(CREATE DATABASE … TEMPLATE template0 ENCODING … LOCALE_PROVIDER … LC_COLLATE … LC_CTYPE …) and restore again',
  },
];

/** The markdown table of docs/checks.md listing every catalog fact kept beside the dump comparison, and why. */
export function catalogFactsTableMarkdown(): string {
  const rows = KINDS.map(
    (k) =>
      `| \`schema ${k.kind}\` | ${k.catalogFact ? k.catalogFact.replace(/\|/g, '\\|') : 'none: compared only as pg_dump renders it'} |`,
  );
  return ['| check | catalog fact kept, and why |', '| --- | --- |', ...rows].join('\n');
}

export interface ParityReport {
  compared: number;
  /** Differences a cross-version copy may have, with the evidence (not failures). */
  accepted: string[];
  missing: string[];
  extra: string[];
  different: Array<{ name: string; src: string; dst: string }>;
  states: Array<{ name: string; problem: string }>;
}

/**
 * Compare the catalog facts of one kind: `def` of objects on both sides (missing / extra only with `spec.presence`),
 * and each target object's state; without `src`, only the target's states are judged.
 */
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
      if (!t) {
        if (spec.presence) r.missing.push(name);
      } else if (t.def !== o.def) {
        const accepted = spec.acceptDifference?.(o, t, opts);
        if (accepted) r.accepted.push(accepted);
        else r.different.push({ name, src: o.def, dst: t.def });
      }
    }
    if (spec.presence) for (const name of d.keys()) if (!s.has(name)) r.extra.push(name);
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
