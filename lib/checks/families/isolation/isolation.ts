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
 * Settings: a difference in a behaviour setting (BEHAVIOUR_SETTINGS) fails; any other difference is a warning.
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
 * Settings whose value changes what the database DOES (not just how values print): a difference in one of these
 * fails. E.g. session_replication_role = replica silences every foreign key and ordinary trigger;
 * default_transaction_read_only turns every write into an error; search_path changes which objects names resolve to.
 * Display settings (TimeZone, DateStyle, IntervalStyle, extra_float_digits, bytea_output, …) are reported as warnings.
 */
export const BEHAVIOUR_SETTINGS = new Set(
  [
    'session_replication_role',
    'default_transaction_read_only',
    'default_transaction_isolation',
    'default_transaction_deferrable',
    'search_path',
    'row_security',
    'statement_timeout',
    'lock_timeout',
    'idle_in_transaction_session_timeout',
    'idle_session_timeout',
    'default_tablespace',
    'temp_tablespaces',
    'standard_conforming_strings',
    'check_function_bodies',
    'synchronous_commit',
    'transform_null_equals',
    'array_nulls',
    'backslash_quote',
    'session_preload_libraries',
    'local_preload_libraries',
    'default_table_access_method',
    'xmloption',
    'client_encoding',
    'role',
    'session_authorization',
  ].map((s) => s.toLowerCase()),
);

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
      behaviour: BEHAVIOUR_SETTINGS.has(name),
    });
  }
  return out.sort((x, y) => `${x.scope} ${x.name}`.localeCompare(`${y.scope} ${y.name}`));
}

export function describeSettingDiff(x: SettingDiff): string {
  const v = (s?: string) => (s === undefined ? '(not set)' : s);
  return `${x.scope}: ${x.name} source ${v(x.source)}, target ${v(x.target)}${x.name === 'session_replication_role' && x.target === 'replica' ? ' (no foreign key or ordinary trigger fires on the target)' : ''}`;
}
