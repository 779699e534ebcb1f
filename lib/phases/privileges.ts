/**
 * What the restore will ask of the target role, read before anything is written: the role's powers (superuser,
 * owner of the database and of `public`, CREATE rights), whether every extension the archive needs is there or can
 * be created by this role, and whether every role the restored SQL names exists on the target cluster.
 *
 * Each refusal names what is missing and the one statement a DBA runs to fix it. What the archive needs is read from
 * the SOURCE catalog when the tool dumps (so the refusal comes before the dump), or from the archive itself
 * (`pg_restore --list` and the SQL the restore would run) for SRC_DB_DUMP_PATH.
 *
 * The restore runs with --no-owner --no-acl (lib/core/tools.ts), so ownership and grants are not restored and the
 * roles they name are not needed; policies (`CREATE POLICY … TO r`) and user mappings (`FOR r`) are restored and are.
 */
import type pg from 'pg';
import { quoteIdent } from '../core/ident.ts';
import type { RunState } from '../core/state.ts';
import { runCommand, type PhaseLog } from '../core/tools.ts';
import type { TocRule } from './toc-filter.ts';

/** An extension the copy needs, with the source's installed version when known (an archive does not carry it). */
export interface NeededExtension {
  name: string;
  version?: string;
}

/** A role the restored SQL names, with where (for the message). */
export interface NeededRole {
  name: string;
  why: string;
}

/** The target role's powers in the target database. */
export interface RolePowers {
  role: string;
  superuser: boolean;
  dbOwner: string;
  ownsDb: boolean;
  publicOwner?: string;
  ownsPublic: boolean;
  createOnPublic: boolean;
  createOnDb: boolean;
}

/** An extension as the target offers or has it. */
export interface TargetExtension {
  name: string;
  available?: string;
  installed?: string;
  schema?: string;
  ownedByRole: boolean;
  /** Any version of it is marked `trusted` (PostgreSQL 13+): a role with CREATE on the database may create it. */
  trusted: boolean;
}

const SOURCE_EXTENSIONS_SQL = `SELECT e.extname AS name, e.extversion AS version FROM pg_extension e
WHERE e.extname <> 'plpgsql' ORDER BY 1`;

const SOURCE_ROLES_SQL = `
SELECT r.rolname AS name, 'policy ' || p.polname || ' on ' || n.nspname || '.' || c.relname AS why
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_roles r ON r.oid = ANY (p.polroles)
UNION ALL
SELECT um.usename, 'user mapping on server ' || um.srvname FROM pg_user_mappings um WHERE um.umuser <> 0
ORDER BY 1, 2`;

/**
 * What a dump of the source will need on the target: its extensions (with versions) and the roles its policies and
 * user mappings name (the same roles rolesNamedBySql finds in the archive's SQL), each role once with the first place
 * that names it. A rule that leaves user mappings out of the restore should drop the roles whose `why` starts with
 * "user mapping".
 */
export async function sourceNeeds(c: pg.Client): Promise<{ extensions: NeededExtension[]; roles: NeededRole[] }> {
  const extensions = (await c.query<NeededExtension>(SOURCE_EXTENSIONS_SQL)).rows;
  const roles = new Map<string, string>();
  for (const r of (await c.query<NeededRole>(SOURCE_ROLES_SQL)).rows) if (!roles.has(r.name)) roles.set(r.name, r.why);
  return { extensions, roles: [...roles].map(([name, why]) => ({ name, why })) };
}

// Reserved words a bare role or database name cannot be (the ones likely as names; anything else odd is quoted).
const RESERVED = new Set([
  'all',
  'user',
  'public',
  'default',
  'role',
  'group',
  'table',
  'select',
  'order',
  'grant',
  'to',
]);

/** An identifier as a DBA would type it: bare when that is unambiguous, else double-quoted (quoteIdent). */
function sqlName(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : quoteIdent(name);
}

// Role names the SQL may use that are not roles.
const PSEUDO_ROLES = new Set(['public', 'current_user', 'session_user', 'current_role']);

/** Split a comma list of (possibly double-quoted) role names; `""` inside quotes is one quote. */
function roleList(text: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_$]*))\s*(?:,|$)/y;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    if (m[1] !== undefined) out.push(m[1].replace(/""/g, '"'));
    else if (m[2] !== undefined) out.push(m[2].toLowerCase());
    if (re.lastIndex >= text.length) break;
  }
  return out;
}

/**
 * The roles named by the SQL a restore runs (pg_restore's rendered script): `CREATE POLICY … TO roles`,
 * `CREATE USER MAPPING FOR role`, `ALTER … OWNER TO role`, `GRANT … TO roles`. Pseudo-roles (PUBLIC, CURRENT_USER …)
 * are not roles. Pure.
 */
export function rolesNamedBySql(sql: string): NeededRole[] {
  const out = new Map<string, string>();
  const add = (names: string[], why: string) => {
    for (const n of names) if (!PSEUDO_ROLES.has(n.toLowerCase()) && !out.has(n)) out.set(n, why);
  };
  const ident = String.raw`(?:"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)`;
  const list = String.raw`${ident}(?:\s*,\s*${ident})*`;
  for (const m of sql.matchAll(
    new RegExp(String.raw`CREATE POLICY (${ident}) ON (\S+)[^;]*?\sTO (${list})(?=\s+USING|\s+WITH CHECK|\s*;)`, 'g'),
  ))
    add(roleList(m[3]), `policy ${m[1]} on ${m[2]}`);
  for (const m of sql.matchAll(new RegExp(String.raw`CREATE USER MAPPING FOR (${ident}) SERVER (${ident})`, 'g')))
    add(roleList(m[1]), `user mapping on server ${m[2]}`);
  for (const m of sql.matchAll(new RegExp(String.raw`ALTER ([A-Z ]+?) (\S+) OWNER TO (${ident})\s*;`, 'g')))
    add(roleList(m[3]), `owner of ${m[1].toLowerCase()} ${m[2]}`);
  for (const m of sql.matchAll(new RegExp(String.raw`GRANT [^;]*? TO (${list})(?:\s+WITH GRANT OPTION)?\s*;`, 'g')))
    add(roleList(m[1]), 'a GRANT');
  return [...out].map(([name, why]) => ({ name, why }));
}

/**
 * The SQL a restore of `archive` would run for its schema, rendered without a database (`pg_restore --schema-only
 * --no-owner --no-acl --file=-`, as the restore itself runs with --no-owner --no-acl), for rolesNamedBySql.
 */
export async function archiveSchemaSql(archive: string, log?: PhaseLog): Promise<string> {
  const r = await runCommand(
    { tool: 'pg_restore', args: ['--schema-only', '--no-owner', '--no-acl', '--file=-', archive], env: {} },
    { phase: 'preflight', captureStdout: true, notInLog: () => true, timeoutMs: 300_000 },
  );
  log?.line(`read the archive's schema SQL for the roles it names (pg_restore exit ${r.code}, ${r.stdoutLines} lines)`);
  return r.code === 0 ? (r.stdout ?? '') : '';
}

const POWERS_SQL = `
SELECT current_user AS role, r.rolsuper AS superuser,
       pg_get_userbyid(d.datdba) AS db_owner, pg_has_role(d.datdba, 'MEMBER') AS owns_db,
       pg_get_userbyid(n.nspowner) AS public_owner, coalesce(pg_has_role(n.nspowner, 'MEMBER'), false) AS owns_public,
       coalesce(has_schema_privilege(n.oid, 'CREATE'), false) AS create_public,
       has_database_privilege(current_database(), 'CREATE') AS create_db
FROM pg_roles r CROSS JOIN pg_database d LEFT JOIN pg_namespace n ON n.nspname = 'public'
WHERE r.rolname = current_user AND d.datname = current_database()`;

export async function rolePowers(c: pg.Client): Promise<RolePowers> {
  const r = (await c.query(POWERS_SQL)).rows[0];
  return {
    role: r.role,
    superuser: r.superuser,
    dbOwner: r.db_owner,
    ownsDb: r.owns_db,
    publicOwner: r.public_owner ?? undefined,
    ownsPublic: r.owns_public,
    createOnPublic: r.create_public,
    createOnDb: r.create_db,
  };
}

export async function targetExtensions(c: pg.Client, names: string[]): Promise<Map<string, TargetExtension>> {
  const trustedCol = (
    await c.query(
      "SELECT 1 FROM pg_attribute WHERE attrelid = 'pg_available_extension_versions'::regclass AND attname = 'trusted'",
    )
  ).rowCount;
  const r = await c.query(
    `SELECT x.name, a.default_version AS available, e.extversion AS installed, n.nspname AS schema,
            coalesce(pg_has_role(e.extowner, 'MEMBER'), false) AS owned,
            ${trustedCol ? 'coalesce((SELECT bool_or(v.trusted) FROM pg_available_extension_versions v WHERE v.name = x.name), false)' : 'false'} AS trusted
     FROM unnest($1::text[]) AS x(name)
     LEFT JOIN pg_available_extensions a ON a.name = x.name
     LEFT JOIN pg_extension e ON e.extname = x.name
     LEFT JOIN pg_namespace n ON n.oid = e.extnamespace`,
    [names],
  );
  return new Map(
    r.rows.map((x) => [
      x.name,
      {
        name: x.name,
        available: x.available ?? undefined,
        installed: x.installed ?? undefined,
        schema: x.schema ?? undefined,
        ownedByRole: x.owned,
        trusted: x.trusted,
      },
    ]),
  );
}

export interface PrivilegeVerdict {
  problems: string[];
  notes: string[];
  /**
   * Extensions already installed on the target that this role may not re-create or comment on (not a superuser, not
   * their owner): their CREATE EXTENSION and COMMENT ON EXTENSION entries are left out of the restore.
   */
  extensionsPresent: string[];
  /**
   * Schemas the archive creates that already exist on the target because an extension installed there beforehand
   * lives in them (Supabase's `extensions` holding `vector`): kept as they are, their CREATE SCHEMA entry left out.
   */
  schemasKept: string[];
}

/**
 * Judge what the restore needs against the target role's powers (schemas, extensions, roles). Pure. Every refusal
 * names the statement a DBA runs; none suggests removing what only a DBA can restore.
 */
export function judgePrivileges(input: PrivilegeInput): PrivilegeVerdict {
  const v: Verdict = { problems: [], notes: [], extensionsPresent: [], schemasKept: new Set() };
  const p = input.powers;
  v.notes.push(
    `target role ${p.role}: ${p.superuser ? 'superuser' : 'not a superuser'}; ${p.ownsDb ? 'owns' : `does not own (owner: ${p.dbOwner})`} database ${input.database}; ${p.ownsPublic ? 'owns' : `does not own (owner: ${p.publicOwner ?? 'none'})`} schema public`,
  );
  if (!p.superuser) judgeSchemaPowers(input, v.problems);
  for (const need of input.extensions) judgeExtension(input, need, v);
  judgeRoles(input, v.problems);
  return { ...v, schemasKept: [...v.schemasKept].sort() };
}

/** What judgePrivileges reads. */
interface PrivilegeInput {
  powers: RolePowers;
  database: string;
  extensions: NeededExtension[];
  targetExtensions: Map<string, TargetExtension>;
  neededRoles: NeededRole[];
  existingRoles: Set<string>;
  /** Schemas other than public the archive creates. */
  otherSchemas: string[];
  dropPublic: boolean;
  /** Version comparison (negative when a < b), e.g. compareVersions from preflight. */
  cmp: (a: string, b: string) => number;
}

type Verdict = Omit<PrivilegeVerdict, 'schemasKept'> & { schemasKept: Set<string> };

/** A non-superuser's powers over the schemas the restore drops or creates; each refusal with the DBA's statement. */
function judgeSchemaPowers(input: PrivilegeInput, problems: string[]): void {
  const p = input.powers;
  const role = sqlName(p.role);
  const db = sqlName(input.database);
  if (input.dropPublic && !p.ownsPublic)
    problems.push(
      `DST_DROP_SCHEMA drops schema public, which role ${p.role} does not own (owner: ${p.publicOwner ?? 'none'}); a DBA runs: ALTER SCHEMA public OWNER TO ${role};`,
    );
  else if (!input.dropPublic && !p.createOnPublic)
    problems.push(
      `role ${p.role} cannot create objects in schema public of ${input.database}; a DBA runs: GRANT CREATE ON SCHEMA public TO ${role};`,
    );
  if (input.dropPublic && !p.createOnDb)
    problems.push(
      `DST_DROP_SCHEMA re-creates schema public, which needs CREATE on database ${input.database}; a DBA runs: GRANT CREATE ON DATABASE ${db} TO ${role};`,
    );
  if (input.otherSchemas.length && !p.createOnDb)
    problems.push(
      `the archive creates schema(s) ${input.otherSchemas.join(', ')}, which needs CREATE on database ${input.database}; a DBA runs: GRANT CREATE ON DATABASE ${db} TO ${role};`,
    );
}

/**
 * One extension the archive needs against the target: available at the source's version, kept when installed
 * beforehand (in any schema; a schema the archive creates that holds it is kept too), or creatable by this role.
 */
function judgeExtension(input: PrivilegeInput, need: NeededExtension, v: Verdict): void {
  const { powers: p, cmp } = input;
  const t = input.targetExtensions.get(need.name);
  const q = sqlName(need.name);
  if (!t?.available) {
    v.problems.push(
      `the target server has no "${need.name}" extension available (pg_available_extensions), but the ${need.version ? `source uses it (version ${need.version})` : 'archive creates it'}; install ${need.name === 'vector' ? 'pgvector' : `the package providing ${need.name}`} on the staging server first`,
    );
    return;
  }
  // DST_DROP_SCHEMA keeps an extension this role cannot re-create (lib/phases/marker.ts dropPlan: a DBA's is never
  // dropped); one in public that the role may re-create goes with the drop and is created again.
  const survives =
    t.installed !== undefined && (!input.dropPublic || t.schema !== 'public' || (!p.superuser && !t.ownedByRole));
  if (survives) {
    if (need.version && cmp(t.installed!, need.version) < 0) {
      v.problems.push(
        `the target database already has ${need.name} ${t.installed} installed, older than the source's ${need.version}; a DBA runs: ALTER EXTENSION ${q} UPDATE TO '${need.version}';`,
      );
      return;
    }
    if (t.schema && t.schema !== 'public' && input.otherSchemas.includes(t.schema)) {
      v.schemasKept.add(t.schema);
      v.notes.push(
        `schema ${t.schema} already exists on the target and holds ${need.name} ${t.installed}: it is kept, and the restore leaves its CREATE SCHEMA entry out`,
      );
    }
    if (!p.superuser && !t.ownedByRole) {
      v.extensionsPresent.push(need.name);
      v.notes.push(
        `${need.name} ${t.installed} is already installed on the target (by another role); role ${p.role} is not its owner, so its CREATE EXTENSION and COMMENT ON EXTENSION entries are left out of the restore`,
      );
    }
    return;
  }
  if (need.version && cmp(t.available, need.version) < 0) {
    v.problems.push(
      `the target offers ${need.name} ${t.available}, older than the source's installed ${need.version}; upgrade ${need.name === 'vector' ? 'pgvector' : need.name} on the staging server`,
    );
    return;
  }
  const canCreate = p.superuser || (t.trusted && p.createOnDb);
  if (!canCreate) {
    v.problems.push(
      `role ${p.role} cannot create extension ${need.name} (${p.superuser ? '' : 'not a superuser'}${t.trusted ? `, no CREATE on database ${input.database}` : `; ${need.name} is not a trusted extension`}); a DBA runs in database ${input.database}: CREATE EXTENSION ${q}${need.version ? ` VERSION '${need.version}'` : ''};`,
    );
  }
}

/** Roles the dump names that the target cluster lacks; the refusal gives the DBA's CREATE ROLE statements. */
function judgeRoles(input: PrivilegeInput, problems: string[]): void {
  const missing = input.neededRoles.filter((r) => !input.existingRoles.has(r.name));
  if (missing.length) {
    problems.push(
      `the dump names role(s) the target cluster lacks: ${missing.map((r) => `${r.name} (${r.why})`).join(', ')}; a DBA runs: ${missing.map((r) => `CREATE ROLE ${sqlName(r.name)} NOLOGIN;`).join(' ')}`,
    );
  }
}

/** Which of `names` exist as roles on the target cluster. */
export async function existingRoles(c: pg.Client, names: string[]): Promise<Set<string>> {
  const r = await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])', [names]);
  return new Set(r.rows.map((x) => x.rolname));
}

/**
 * TOC rule: leave out `CREATE EXTENSION x` and `COMMENT ON EXTENSION x` for each extension preflight found already
 * installed on the target and not owned by the (non-superuser) target role. Both need ownership of the extension
 * ("must be owner of extension vector"), and what they would create is there already; the objects that use the
 * extension are restored as usual. Also the `CREATE SCHEMA` of each schema in `schemasKept` (it exists on the target,
 * holding such an extension: re-creating it would fail with "schema already exists").
 */
export function extensionsPresentRule(
  extensionsPresent: readonly string[],
  schemasKept: readonly string[] = [],
): TocRule {
  const present = new Set(extensionsPresent);
  const kept = new Set(schemasKept);
  return {
    id: 'extension-already-installed',
    exclude(entry) {
      if (entry.type === 'SCHEMA' && kept.has(entry.tag))
        return `schema ${entry.tag} already exists on the target and holds an extension installed beforehand; it is kept as it is`;
      const name =
        entry.type === 'EXTENSION'
          ? entry.tag
          : entry.type === 'COMMENT' && entry.tag.startsWith('EXTENSION ')
            ? entry.tag.slice('EXTENSION '.length)
            : undefined;
      if (name === undefined || !present.has(name)) return undefined;
      return `extension ${name} is already installed on the target by another role; only its owner or a superuser may run this entry`;
    },
  };
}

/** The privilege rules for this restore, from what preflight recorded (state: the preflight phase's details). */
export function privilegeTocRules(state: Pick<RunState, 'phases'>): TocRule[] {
  const pre = state.phases.find((p) => p.name === 'preflight' && p.status === 'ok');
  const d = pre?.details as { extensionsPresent?: string[]; schemasKept?: string[] } | undefined;
  const present = d?.extensionsPresent ?? [];
  const kept = d?.schemasKept ?? [];
  return present.length || kept.length ? [extensionsPresentRule(present, kept)] : [];
}
