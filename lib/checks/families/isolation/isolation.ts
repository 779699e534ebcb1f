/**
 * Staging isolation, after the restore: every object of the target that can reach outside it — foreign servers (with
 * their user mappings), subscriptions, connection strings held in functions and views — listed with where it points
 * (the target itself, the SOURCE, or another server), publications counted, and the settings that change how the
 * database behaves (pg_db_role_setting, per database and per role in the database) compared with the source's.
 *
 * Verdicts (ISOLATION=detach, the default):
 * - a foreign server that points away from the target and was not detached (host rehearsal-isolated.invalid) fails;
 *   one that was detached is a warning naming it (loud, not silent);
 * - a subscription pointing away that is enabled or still holds a slot name fails (detach it: DISABLE, then
 *   SET (slot_name = NONE); both need a superuser or the owner);
 * - a function or view whose text holds a connection string to the SOURCE fails, to elsewhere is a warning (code is
 *   not rewritten);
 * With ISOLATION=keep each of those is a warning instead (the operator asked for a wired staging).
 * Settings: any difference fails except in a cosmetic setting (COSMETIC_SETTINGS), which is a warning.
 */
import type { Dsn } from '../../../core/dsn.ts';
import {
  classifyEndpoint,
  conninfoEndpoint,
  describeEndpoint,
  describeWhere,
  ISOLATED_HOST,
  optionsEndpoint,
  type Endpoint,
  type Where,
} from '../../../core/endpoint.ts';
import { SYSTEM_SCHEMA_FILTER } from '../../../core/catalog.ts';
import { displayIdent, quoteLiteral } from '../../../core/ident.ts';

/** Foreign servers of the target, their options (key=value) and how many user mappings use them. */
export const FOREIGN_SERVERS_SQL = `SELECT s.srvname AS name, w.fdwname AS wrapper, coalesce(s.srvoptions, '{}') AS options,
  (SELECT count(*)::int FROM pg_user_mappings m WHERE m.srvid = s.oid) AS mappings
FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw ORDER BY 1`;

/** Subscriptions of the current database; the conninfo column is readable by superusers only (read separately). */
export const SUBSCRIPTIONS_SQL = `SELECT s.subname AS name, s.subenabled AS enabled, s.subslotname AS slot
FROM pg_subscription s WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1`;
export const SUBSCRIPTION_CONNINFO_SQL = `SELECT s.subname AS name, s.subconninfo AS conninfo
FROM pg_subscription s WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`;

export const PUBLICATIONS_SQL = `SELECT p.pubname AS name, p.puballtables AS all_tables,
  (SELECT count(*)::int FROM pg_publication_rel r WHERE r.prpubid = p.oid) AS tables
FROM pg_publication p ORDER BY 1`;

/**
 * Functions and views of the application whose text holds something shaped like a libpq connection string
 * (`host=…`, `hostaddr=…`, `postgres[ql]://…`): dblink calls, hand-written replication, foreign links built at run time.
 */
export const CODE_CONNINFO_SQL = `SELECT 'function ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS object,
  p.prosrc AS text
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE ${SYSTEM_SCHEMA_FILTER} AND p.prosrc ~* '(host(addr)?\\s*=|postgres(ql)?://)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT CASE c.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END || n.nspname || '.' || c.relname, pg_get_viewdef(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND ${SYSTEM_SCHEMA_FILTER} AND pg_get_viewdef(c.oid) ~* '(host(addr)?\\s*=|postgres(ql)?://)'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1`;

/**
 * Per-database and per-role-in-database settings of the current database (ALTER DATABASE … SET, ALTER ROLE … IN
 * DATABASE … SET). pg_dump without --create does not carry them, so the target keeps whatever it had. The tool's own
 * markers (`migration_rehearsal.*`, lib/phases/guards.ts) are not the application's settings and are left out.
 */
export const DB_ROLE_SETTINGS_SQL = `SELECT CASE WHEN s.setrole = 0 THEN 'database' ELSE 'role ' || coalesce(r.rolname, s.setrole::text) || ' in database' END AS scope,
  x.setting
FROM pg_db_role_setting s
LEFT JOIN pg_roles r ON r.oid = s.setrole
CROSS JOIN LATERAL unnest(s.setconfig) AS x(setting)
WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND x.setting NOT LIKE 'migration\\_rehearsal.%'
ORDER BY 1, 2`;

/**
 * The only per-database / per-role settings whose difference is NOT a failure: they cannot change a query's result or
 * what an application sees (issue 25: "settings are behaviour unless proven cosmetic"). Everything else differing
 * fails: TimeZone and DateStyle change how text parses into dates and what `::date` gives; default_text_search_config
 * changes which rows a full-text query finds; `hnsw.ef_search` / `hnsw.iterative_scan` change how many rows a
 * filtered vector query returns (pgvecto.rs#649, honcho#1048); a custom `app.tenant` read by an RLS policy changes
 * which rows exist for the application; session_replication_role = replica silences every foreign key and trigger.
 * Names are lower case; an entry ending in `*` is a prefix.
 * - application_name: a label in pg_stat_activity and logs;
 * - client_min_messages: which notices reach the client, not what a statement does;
 * - log_*, auto_explain.*: what the server writes to its log;
 * - track_*, pg_stat_statements.*: what the statistics views count;
 * - work_mem, maintenance_work_mem: memory per operation: speed, never the result.
 */
export const COSMETIC_SETTINGS: readonly string[] = [
  'application_name',
  'client_min_messages',
  'log_*',
  'auto_explain.*',
  'track_*',
  'pg_stat_statements.*',
  'work_mem',
  'maintenance_work_mem',
];

/** Whether a difference in setting `name` (any case) is cosmetic (COSMETIC_SETTINGS), i.e. reported, not failed. */
export function isCosmeticSetting(name: string): boolean {
  const n = name.toLowerCase();
  return COSMETIC_SETTINGS.some((c) => (c.endsWith('*') ? n.startsWith(c.slice(0, -1)) : n === c));
}

/**
 * STORED generated columns whose expression calls a function outside pg_catalog (a user function may read TimeZone,
 * DateStyle, search_path or a custom setting while declared IMMUTABLE): pg_dump does not carry their values, the
 * restore recomputes them under the target session's settings, so a setting difference changes them.
 */
export const GENERATED_COLUMNS_SQL = `SELECT n.nspname || '.' || c.relname || '.' || a.attname AS col
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE to_jsonb(a) ->> 'attgenerated' = 's' AND NOT a.attisdropped AND ${SYSTEM_SCHEMA_FILTER}
  AND EXISTS (SELECT 1 FROM pg_depend d JOIN pg_proc p ON p.oid = d.refobjid JOIN pg_namespace pn ON pn.oid = p.pronamespace
    WHERE d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_proc'::regclass
      AND pn.nspname NOT IN ('pg_catalog', 'information_schema'))
ORDER BY 1`;

export interface ServerRow {
  name: string;
  wrapper: string;
  options: string[];
  mappings: number;
}

export interface LinkVerdict {
  /** `foreign server legacy_srv (postgres_fdw)` */
  object: string;
  endpoint?: Endpoint;
  where: Where;
  /** What was found / done, for the evidence. */
  state: string;
  /** fail: reaches outside and is live; warn: reaches outside but detached, or kept on purpose; ok: the target itself. */
  verdict: 'ok' | 'warn' | 'fail';
}

const optionMap = (opts: string[]) =>
  Object.fromEntries(
    opts.map((o) => {
      const i = o.indexOf('=');
      return i < 0 ? [o, ''] : [o.slice(0, i), o.slice(i + 1)];
    }),
  );

type Ends = { target: Pick<Dsn, 'host' | 'port'>; source?: Pick<Dsn, 'host' | 'port'>; keep: boolean };

/** Judge the target's foreign servers. */
export function judgeServers(rows: ServerRow[], e: Ends): LinkVerdict[] {
  return rows.map((r) => {
    const o = optionMap(r.options);
    const object = `foreign server ${r.name} (${r.wrapper}, ${r.mappings} user mapping${r.mappings === 1 ? '' : 's'})`;
    if (o.host === ISOLATED_HOST && !o.hostaddr)
      return {
        object,
        where: 'elsewhere',
        state: `detached by the restore (host ${ISOLATED_HOST}); on the source it pointed elsewhere`,
        verdict: 'warn',
      };
    const endpoint = optionsEndpoint(o);
    // A wrapper that takes no host (file_fdw, …) reaches no server.
    const noHost = !o.host && !o.hostaddr && !o.port && !/postgres_fdw|dblink/.test(r.wrapper);
    const where = noHost ? 'target' : classifyEndpoint(endpoint, e.target, e.source);
    const at = noHost ? 'no host option' : `→ ${describeEndpoint(endpoint)}, ${describeWhere(where)}`;
    if (where === 'target') return { object, endpoint, where, state: at, verdict: 'ok' };
    return {
      object,
      endpoint,
      where,
      state: `${at}${e.keep ? ' (kept: ISOLATION=keep)' : `; queries through it on staging reach that server: ALTER SERVER ${r.name} OPTIONS (SET host '${ISOLATED_HOST}') and drop its user mappings, or rerun the restore with ISOLATION=detach`}`,
      verdict: e.keep ? 'warn' : 'fail',
    };
  });
}

export interface SubscriptionRow {
  name: string;
  enabled: boolean;
  slot: string | null;
  conninfo?: string | null;
}

/** Judge the target's subscriptions (any subscription on staging is at least a warning). */
export function judgeSubscriptions(rows: SubscriptionRow[], e: Ends): LinkVerdict[] {
  return rows.map((r) => {
    const endpoint = r.conninfo ? conninfoEndpoint(r.conninfo) : undefined;
    const where: Where = endpoint ? classifyEndpoint(endpoint, e.target, e.source) : 'elsewhere';
    const object = `subscription ${r.name}`;
    const live = r.enabled || r.slot !== null;
    const state = `→ ${r.conninfo ? describeEndpoint(endpoint) : 'conninfo not readable (needs a superuser): treated as pointing away'}, ${describeWhere(where)}; ${r.enabled ? 'ENABLED' : 'disabled'}, slot ${r.slot ?? 'NONE'}`;
    if (where === 'target') return { object, endpoint, where, state, verdict: 'ok' };
    if (!live) return { object, endpoint, where, state: `${state} (detached)`, verdict: 'warn' };
    return {
      object,
      endpoint,
      where,
      state: `${state}${e.keep ? ' (kept: ISOLATION=keep)' : `; enabling it would consume that server's replication slot: ALTER SUBSCRIPTION ${r.name} DISABLE; ALTER SUBSCRIPTION ${r.name} SET (slot_name = NONE) (superuser), or rerun the restore with ISOLATION=detach`}`,
      verdict: e.keep ? 'warn' : 'fail',
    };
  });
}

/** Connection strings found in a text (function body, view definition). */
export function conninfosIn(text: string): Endpoint[] {
  const out: Endpoint[] = [];
  for (const m of text.matchAll(/postgres(?:ql)?:\/\/[^\s'"]+/gi)) {
    const e = conninfoEndpoint(m[0]);
    if (e) out.push(e);
  }
  // keyword form: the run of `key=value` pairs around a host= / hostaddr=
  for (const m of text.matchAll(
    /(?:[A-Za-z_]+\s*=\s*(?:'(?:[^'\\]|\\.)*'|[^\s'"]+)\s*)*host(?:addr)?\s*=\s*[^\s'"]+(?:\s+[A-Za-z_]+\s*=\s*(?:'(?:[^'\\]|\\.)*'|[^\s'"]+))*/gi,
  )) {
    const e = conninfoEndpoint(m[0]);
    if (e) out.push(e);
  }
  return out;
}

/** Judge functions/views holding connection strings: pointing at the source fails (unless keep), elsewhere warns. */
export function judgeCode(rows: Array<{ object: string; text: string }>, e: Ends): LinkVerdict[] {
  const out: LinkVerdict[] = [];
  for (const r of rows) {
    for (const endpoint of conninfosIn(r.text)) {
      const where = classifyEndpoint(endpoint, e.target, e.source);
      if (where === 'target') continue;
      out.push({
        object: r.object,
        endpoint,
        where,
        state: `holds a connection string → ${describeEndpoint(endpoint)}, ${describeWhere(where)} (code is not rewritten by the restore)`,
        verdict: where === 'source' && !e.keep ? 'fail' : 'warn',
      });
    }
  }
  return out;
}

export interface SettingDiff {
  scope: string;
  name: string;
  source?: string;
  target?: string;
  behaviour: boolean;
}

/** `name=value` rows per scope on both sides → differences (names compared case-insensitively). */
export function compareSettings(
  src: Array<{ scope: string; setting: string }>,
  dst: Array<{ scope: string; setting: string }>,
): SettingDiff[] {
  const index = (rows: Array<{ scope: string; setting: string }>) => {
    const m = new Map<string, { scope: string; name: string; value: string }>();
    for (const r of rows) {
      const i = r.setting.indexOf('=');
      const name = (i < 0 ? r.setting : r.setting.slice(0, i)).toLowerCase();
      m.set(`${r.scope}\u0000${name}`, { scope: r.scope, name, value: i < 0 ? '' : r.setting.slice(i + 1) });
    }
    return m;
  };
  const s = index(src);
  const d = index(dst);
  const out: SettingDiff[] = [];
  for (const key of new Set([...s.keys(), ...d.keys()])) {
    const a = s.get(key);
    const b = d.get(key);
    if (a?.value === b?.value) continue;
    const name = (a ?? b)!.name;
    out.push({
      scope: (a ?? b)!.scope,
      name,
      source: a?.value,
      target: b?.value,
      behaviour: !isCosmeticSetting(name),
    });
  }
  return out.sort((x, y) => `${x.scope} ${x.name}`.localeCompare(`${y.scope} ${y.name}`));
}

/**
 * Settings whose stored value is a list of quoted elements (pg_dump's `variable_is_guc_list_quote`, dumputils.c): the
 * value as pg_db_role_setting holds it (`"$user", public`) is written back unquoted; any other value is one literal.
 */
const GUC_LIST_QUOTE = new Set([
  'local_preload_libraries',
  'search_path',
  'session_preload_libraries',
  'shared_preload_libraries',
  'temp_tablespaces',
  'unix_socket_directories',
]);

/**
 * The statement that gives the target the source's value of one differing setting: `ALTER DATABASE <db> SET <name>
 * TO <value>` (or `RESET <name>` when the source has none); `ALTER ROLE <role> IN DATABASE <db> …` for a role's
 * setting. `database` is the target database's name. Pure.
 */
export function alignStatement(x: SettingDiff, database: string): string {
  const role = /^role (.*) in database$/.exec(x.scope)?.[1];
  const head = `ALTER ${role === undefined ? 'DATABASE' : `ROLE ${displayIdent(role)} IN DATABASE`} ${displayIdent(database)}`;
  if (x.source === undefined) return `${head} RESET ${x.name};`;
  const value = GUC_LIST_QUOTE.has(x.name) ? x.source : quoteLiteral(x.source);
  return `${head} SET ${x.name} TO ${value};`;
}

/**
 * One differing setting for a message: scope, name, both values, and the statement that aligns the target
 * (`database: datestyle source (not set), target SQL, DMY (ALTER DATABASE app RESET datestyle;)`) when `database` is given.
 */
export function describeSettingDiff(x: SettingDiff, database?: string): string {
  const v = (s?: string) => (s === undefined ? '(not set)' : s);
  const why =
    x.name === 'session_replication_role' && x.target === 'replica'
      ? ' (no foreign key or ordinary trigger fires on the target)'
      : '';
  const fix = database === undefined ? '' : ` (${alignStatement(x, database)})`;
  return `${x.scope}: ${x.name} source ${v(x.source)}, target ${v(x.target)}${why}${fix}`;
}
