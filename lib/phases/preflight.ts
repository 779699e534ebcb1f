/**
 * Preflight: everything that can be known before the first write, checked read-only. Every problem is collected and
 * reported at once; any problem refuses the run (exit 2) with the target untouched.
 *
 * Also used by the dry-run plan, without a log file, to say whether the run would be refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../core/config.ts';
import { plannedPhases } from './phase-schedule.ts';
import { SYSTEM_SCHEMA_FILTER, notExtensionMember } from '../core/catalog.ts';
import { isInside, realPathLoose } from '../core/paths.ts';
import { connectFailure, freeConnectionSlots, minimumSlots, serversOf, withConnection } from '../core/db.ts';
import { missingConfiguredSubjects } from '../core/configured-subjects.ts';
import { describeDsn, type Dsn } from '../core/dsn.ts';
import { EXIT, PhaseError } from '../core/errors.ts';
import { compareVersions } from '../core/format.ts';
import { redact } from '../core/redact.ts';
import { resolveOnPath, runCommand, setToolBinary, toolVersion, type Command, type PhaseLog } from '../core/tools.ts';
import { rsyncProbeCommand } from './commands.ts';
import { restoreMode } from './restore-commands.ts';
import { displayIdent, displayTable, quoteTable, type TableRef } from '../core/ident.ts';
import { inspectArchive, type ArchiveInfo } from './dump.ts';
import { checkDestructive, lockBudget, lockSettings, relationsToRestore } from './guards.ts';
import { chooseClientTools, serverMajor, type PgTool } from './client-tools.ts';
import {
  archiveSchemaSql,
  existingRoles,
  judgePrivileges,
  rolePowers,
  rolesNamedBySql,
  sourceNeeds,
  targetExtensions,
  type NeededExtension,
  type NeededRole,
  type PrivilegeVerdict,
} from './privileges.ts';
import type { PhaseOutcome } from './phase.ts';
import type { PreflightFacts } from './pipeline.ts';
import { restoreRoleFacts, restoreRoleProblem } from './preflight-restore-role.ts';

export interface PreflightResult extends PhaseOutcome {
  /** Versions of tools and servers, for state.tools. */
  tools: Record<string, string>;
  /** The existing dump (SRC_DB_DUMP_PATH), validated. */
  archive?: ArchiveInfo;
  /** What DST_DROP_SCHEMA / ASSETS_DELETE would drop or delete (lib/phases/guards.ts), one line each. */
  destructive?: string[];
  /** The typed facts every later step of the pipeline reads (lib/phases/pipeline.ts). */
  facts: PreflightFacts;
}

interface ServerFacts {
  versionNum: number;
  version: string;
  database: string;
  systemId?: string;
  /** Installed version of `vector` in this database, and its schema. */
  vector?: { version: string; schema: string };
  /** Default version of `vector` offered by the server (pg_available_extensions). */
  vectorAvailable?: string;
  /** Non-system schemas (not created by an extension). */
  schemas: string[];
}

const SERVER_FACTS_SQL = `
SELECT current_setting('server_version_num')::int AS version_num,
       current_setting('server_version') AS version,
       current_database() AS database,
       (SELECT e.extversion || ' ' || n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector') AS vector,
       (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS vector_available,
       ARRAY(SELECT n.nspname::text FROM pg_namespace n
             WHERE ${SYSTEM_SCHEMA_FILTER}
               AND ${notExtensionMember('pg_namespace', 'n.oid')}
             ORDER BY 1) AS schemas`;

async function serverFacts(c: pg.Client): Promise<ServerFacts> {
  const r = (await c.query(SERVER_FACTS_SQL)).rows[0];
  let systemId: string | undefined;
  try {
    // Identifies the cluster whatever host name or port alias reached it (default: executable by everyone).
    systemId = String((await c.query('SELECT system_identifier::text AS id FROM pg_control_system()')).rows[0].id);
  } catch {
    /* revoked: fall back to the static DSN comparison done by config */
  }
  const [vv, vs] = r.vector ? String(r.vector).split(' ') : [];
  return {
    versionNum: Number(r.version_num),
    version: r.version,
    database: r.database,
    systemId,
    vector: r.vector ? { version: vv, schema: vs } : undefined,
    vectorAvailable: r.vector_available ?? undefined,
    schemas: r.schemas,
  };
}

/**
 * User objects in `schema` of the target, extension members excluded (a pre-installed `vector` is not "data").
 * Returns up to `limit` names and the total.
 */
const SCHEMA_OBJECTS_SQL = `
WITH objs AS (
  SELECT 'pg_class'::regclass AS cls, c.oid, c.relname::text AS name, c.relnamespace AS ns FROM pg_class c
  UNION ALL SELECT 'pg_proc'::regclass, p.oid, p.proname::text || '()', p.pronamespace FROM pg_proc p
  UNION ALL SELECT 'pg_type'::regclass, t.oid, 'type ' || t.typname::text, t.typnamespace FROM pg_type t
    WHERE t.typrelid = 0 AND t.typelem = 0 OR (t.typtype = 'd')
)
SELECT count(*)::int AS n, (array_agg(name ORDER BY name))[1:5] AS sample
FROM objs o JOIN pg_namespace n ON n.oid = o.ns
WHERE n.nspname = $1
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = o.cls AND d.objid = o.oid AND d.deptype = 'e')`;

/**
 * Tablespaces that objects of the connected database live in explicitly (pg_class.reltablespace <> 0: tables, indexes,
 * materialized views), by name, sorted. The database's own default tablespace is not in a dump made without --create.
 */
export const USED_TABLESPACES_SQL = `SELECT DISTINCT t.spcname AS n FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace
WHERE c.reltablespace <> 0 AND t.spcname NOT IN ('pg_default', 'pg_global') ORDER BY 1`;

async function usedTablespaces(c: pg.Client): Promise<string[]> {
  return (await c.query<{ n: string }>(USED_TABLESPACES_SQL)).rows.map((r) => r.n);
}

/** The names in `need` that are not in `have` (sorted, unique). */
export function missingTablespaces(need: readonly string[], have: readonly string[]): string[] {
  const h = new Set(have);
  return [...new Set(need.filter((n) => !h.has(n)))].sort();
}

const cmpVersion = compareVersions;
export { compareVersions };

async function connectFacts(
  d: Dsn,
  label: string,
  config: Config,
  problems: string[],
): Promise<ServerFacts | undefined> {
  try {
    return await withConnection(d, serverFacts, { connectTimeoutMs: config.connectTimeoutMs });
  } catch (e) {
    problems.push(connectProblem(label, e, config));
    return undefined;
  }
}

/**
 * One line naming the real cause of a failed connection: authentication (wrong password or user), a database that
 * does not exist, no answer within CONNECT_TIMEOUT_MS, or not reachable at all (refused, unknown host).
 */
export function connectProblem(label: string, e: unknown, config: Pick<Config, 'connectTimeoutMs'>): string {
  const f = connectFailure(e);
  switch (f.kind) {
    case 'authentication':
      return `${label}: authentication failed (${f.text}); check the user and password in the DSN (the server is reachable)`;
    case 'database':
      return `${label}: the database does not exist (${f.text}); check the database name in the DSN`;
    case 'timeout':
      return `${label} did not answer within CONNECT_TIMEOUT_MS=${config.connectTimeoutMs} (${f.text}); check the host, the port and the firewall, or raise CONNECT_TIMEOUT_MS`;
    default:
      return `${label} is not reachable (${f.text}); check the host and port in the DSN, the network and that the server is up`;
  }
}

/**
 * One preflight problem about one side: `could not <what> on the <side> <DSN, password masked>: <cause>`, the cause
 * worded by connectProblem when the side could not be reached. Issue 26: the target role's check quoted the source's
 * DSN under the target's label; every message names the side it is about.
 */
export function sideProblem(
  side: 'source' | 'target',
  d: Dsn,
  what: string,
  e: unknown,
  config: Pick<Config, 'connectTimeoutMs'>,
): string {
  const label = `the ${side} ${describeDsn(d)}`;
  const err = e as { code?: string; message?: string };
  // A connection that failed (no SQLSTATE: ECONNREFUSED, a timeout; or a startup refusal: 28xxx, 3D000, 08xxx,
  // 57P0x) is worded as such; a failed query keeps the server's message and SQLSTATE.
  const sqlstate = err?.code && /^[0-9A-Z]{5}$/.test(err.code) ? err.code : undefined;
  if (!sqlstate || /^(28|3D|08|57P0)/.test(sqlstate) || /^cannot connect/i.test(err.message ?? ''))
    return `could not ${what}: ${connectProblem(label, e, config)}`;
  return redact(`could not ${what} on ${label}: ${err.message ?? String(e)} (SQLSTATE ${sqlstate})`);
}

export interface PreflightOptions {
  log?: PhaseLog;
  say?: (line: string) => void;
  /**
   * `full` (default) checks what the copy phases need too; `verify-only` and `rerun` check only what the checks
   * read (both databases answer and authenticate, DST_ASSETS_DIR exists, a remote SRC_ASSETS_DIR answers, the
   * configured tables and columns exist in the target): read-only in every mode.
   */
  mode?: 'full' | 'verify-only' | 'rerun';
}

/** What the preflight steps share: the findings so far and the facts they establish. */
interface Findings {
  config: Config;
  opts: PreflightOptions;
  say: (line: string) => void;
  problems: string[];
  notes: string[];
  tools: Record<string, string>;
  full: boolean;
  planned: { dump: boolean; restore: boolean; mirror: boolean };
  needed: Command['tool'][];
  archive?: ArchiveInfo;
  src?: ServerFacts;
  dst?: ServerFacts;
  privileges?: PrivilegeVerdict;
  destructive: string[];
}

/** Run every preflight check; throws one PhaseError (exit 2) listing every problem. */
export async function runPreflight(config: Config, opts: PreflightOptions = {}): Promise<PreflightResult> {
  const full = (opts.mode ?? 'full') === 'full';
  const f: Findings = {
    config,
    opts,
    say: opts.say ?? (() => {}),
    problems: [],
    notes: [],
    tools: { node: process.version },
    full,
    planned: full ? plannedPhases(config) : { dump: false, restore: false, mirror: false },
    needed: [],
    destructive: [],
  };
  await checkRsync(f); // 1
  await checkAssetDirs(f); // 2
  await checkArchive(f); // 3
  await checkServers(f); // 4
  await checkClientTools(f); // 5
  await checkTargetRole(f); // 6
  await checkRestoreRole(f); // 6b
  await checkTargetEmpty(f); // 7
  await checkConfiguredSubjects(f); // 8
  await checkTablespaces(f); // 9
  await checkDestructiveSteps(f); // 10
  await checkLockBudget(f); // 11
  await checkConnectionSlots(f); // 12
  return conclude(f);
}

/** 1. Tools. rsync here; pg_dump/pg_restore/psql once the servers' majors are known (checkClientTools). */
async function checkRsync(f: Findings): Promise<void> {
  const { planned, needed } = f;
  if (planned.dump) needed.push('pg_dump');
  if (planned.restore) needed.push('pg_restore', 'psql');
  if (!planned.mirror) return;
  needed.push('rsync');
  // The file found here is the one the mirror runs (setToolBinary), never a second PATH lookup later.
  const file = resolveOnPath('rsync');
  const v = file ? await toolVersion('rsync', file) : undefined;
  if (!file || !v) f.problems.push('rsync is not installed or not on PATH; install rsync');
  else {
    f.tools.rsync = v.version;
    f.tools['rsync path'] = file;
    setToolBinary('rsync', file);
  }
}

/** 2. Asset directories (the static same/inside check is in config; here through symlinks too). */
async function checkAssetDirs(f: Findings): Promise<void> {
  const { config, problems } = f;
  if (f.planned.mirror && !config.srcAssetsRemote) {
    const src = config.srcAssetsDir!;
    if (!fs.existsSync(src) || !fs.statSync(src).isDirectory()) {
      problems.push(`SRC_ASSETS_DIR=${src} is not an existing directory; point it at the source .data root`);
    } else if (isInside(fs.realpathSync(src), realPathLoose(config.dstAssetsDir))) {
      problems.push(
        `DST_ASSETS_DIR (${config.dstAssetsDir}) resolves to ${realPathLoose(config.dstAssetsDir)}, which is the same as or inside SRC_ASSETS_DIR (${fs.realpathSync(src)}); mirror to a separate directory`,
      );
    }
  }
  if (fs.existsSync(config.dstAssetsDir) && !fs.statSync(config.dstAssetsDir).isDirectory()) {
    problems.push(`DST_ASSETS_DIR=${config.dstAssetsDir} exists but is not a directory`);
  }
  problems.push(...dstAssetsDirProblems(config.dstAssetsDir, f.planned.mirror));
  if (config.srcAssetsDir && config.srcAssetsRemote) {
    const probe = await probeRemoteAssets(config, f.opts.log);
    if (probe) problems.push(probe);
    else f.notes.push(`remote SRC_ASSETS_DIR ${config.srcAssetsDir} answers (rsync --list-only)`);
  }
}

/** 3. The existing dump, validated before anything touches the target. */
async function checkArchive(f: Findings): Promise<void> {
  const { config } = f;
  if (!config.dumpPath) return;
  try {
    f.archive = await inspectArchive(config.dumpPath, { phase: 'preflight', log: f.opts.log, deep: true });
    f.notes.push(`existing dump ${config.dumpPath}: ${f.archive.format}, ${f.archive.entries} TOC entries`);
  } catch (e) {
    f.problems.push((e as Error).message.replace(/^preflight: /, ''));
  }
}

/** 4. Servers: both answer, their versions, and that they are not the same database under two names. */
async function checkServers(f: Findings): Promise<void> {
  const { config, problems, tools } = f;
  const src = config.src
    ? await connectFacts(config.src, `the source ${describeDsn(config.src)}`, config, problems)
    : undefined;
  const dst = await connectFacts(config.dst, `the target ${describeDsn(config.dst)}`, config, problems);
  f.src = src;
  f.dst = dst;
  if (src) {
    tools['source server'] = src.version;
    if (src.vector) tools['source vector'] = src.vector.version;
  }
  if (dst) {
    tools['target server'] = dst.version;
    if (dst.vectorAvailable) tools['target vector available'] = dst.vectorAvailable;
    if (dst.vector) tools['target vector'] = dst.vector.version;
    f.say(
      `target: ${describeDsn(config.dst)} (PostgreSQL ${dst.version}, database "${dst.database}"); assets: ${config.dstAssetsDir}`,
    );
  }
  if (src && dst && src.systemId && src.systemId === dst.systemId && src.database === dst.database) {
    problems.push(
      `SRC_DATABASE_URL and DST_DATABASE_URL reach the same database ("${dst.database}" on the server with system identifier ${dst.systemId}) under different names; the target must be a different, staging database`,
    );
  }
}

/** 5. Client tools against both majors (lib/phases/client-tools.ts). */
async function checkClientTools(f: Findings): Promise<void> {
  const pgNeeded = f.needed.filter((t): t is PgTool => t !== 'rsync');
  if (!pgNeeded.length) return;
  const { src, dst, archive } = f;
  // A side whose version could not be read was already reported (checkServers): choosing tools without its major would
  // only add a consequence ("no installed pg_restore fits … major ≥ 17") in front of the real failure (issue 26).
  if (!dst || (f.config.src && !src && !archive)) return;
  const choice = await chooseClientTools(f.config, {
    // Without a source connection, the archive's header says which major it was dumped from.
    srcMajor: src
      ? serverMajor(src.versionNum)
      : archive?.dumpedFrom
        ? Number.parseInt(archive.dumpedFrom, 10)
        : undefined,
    dstMajor: dst ? serverMajor(dst.versionNum) : undefined,
    archiveMajor: archive?.dumpedBy ? Number.parseInt(archive.dumpedBy, 10) : undefined,
    needed: pgNeeded,
  });
  f.problems.push(...choice.problems);
  f.notes.push(...choice.notes);
  for (const t of Object.values(choice.tools)) {
    f.tools[t.tool] = t.version;
    f.tools[`${t.tool} path`] = t.file;
  }
}

/**
 * 6. The target role's powers against what the archive needs (extensions, roles, schemas); read before the dump, so a
 *    refusal costs nothing. Its `extensionsPresent` is the fact the restore plans its TOC exclusions from.
 */
async function checkTargetRole(f: Findings): Promise<void> {
  if (!f.dst || !f.planned.restore) return;
  try {
    // A source that did not answer checkServers is reported there; its needs are not read again here.
    if (f.config.src && !f.src && !f.archive) return;
    f.privileges = await checkPrivileges(f.config, f.archive, f.src?.schemas ?? [], f.opts.log);
    f.problems.push(...f.privileges.problems);
    f.notes.push(...f.privileges.notes);
  } catch (e) {
    f.problems.push(e instanceof SideError ? e.message : `could not read the archive's needs: ${redact(String(e))}`);
  }
}

/**
 * 6b. RESTORE_ROLE must contain the restore: the target login may hold no power the restored code could regain by
 *     RESET ROLE (lib/phases/preflight-restore-role.ts, issue 26 E1). A login whose powers cannot be read is refused.
 */
async function checkRestoreRole(f: Findings): Promise<void> {
  const role = f.config.restoreRole;
  if (!role || !f.dst || !f.planned.restore) return;
  const why = await withConnection(f.config.dst, async (c) => restoreRoleProblem(await restoreRoleFacts(c, role)), {
    connectTimeoutMs: f.config.connectTimeoutMs,
  }).catch(
    (e) =>
      `RESTORE_ROLE=${role}: could not read the target login's powers (${redact(String(e))}); unset RESTORE_ROLE or fix the target connection`,
  );
  if (why) f.problems.push(why);
}

/**
 * 7. The target must be empty where the restore writes: `public` (unless DST_DROP_SCHEMA=1) and every other schema
 *    the dump creates (CREATE SCHEMA fails on an existing one, unless DST_DROP_SCHEMA drops it first).
 */
async function checkTargetEmpty(f: Findings): Promise<void> {
  const { config, dst, problems, notes } = f;
  if (!dst || !f.planned.restore) return;
  const toRestore = new Set(f.archive ? f.archive.schemas : f.src ? f.src.schemas : ['public']);
  toRestore.add('public');
  await withConnection(
    config.dst,
    async (c) => {
      for (const schema of [...toRestore].sort()) {
        if (schema === 'public') {
          const r = (await c.query(SCHEMA_OBJECTS_SQL, [schema])).rows[0];
          if (r.n > 0 && !config.dstDropSchema) {
            problems.push(
              `the target schema public is not empty (${r.n} objects, e.g. ${r.sample.join(', ')}); restoring into it would mix old and new data. Use a fresh database, or set DST_DROP_SCHEMA=<the target database name> (STAGING ONLY: drops public and the schemas the archive creates that exist there; DST_DROP_SCHEMA=1 is enough for a target this tool restored before, and drops exactly what that restore created, keeping what a DBA installed)`,
            );
          } else if (r.n > 0) {
            notes.push(`target public has ${r.n} objects: DST_DROP_SCHEMA drops them`);
          }
        } else if (f.privileges?.schemasKept.includes(schema)) {
          // holds an extension installed beforehand (lib/phases/privileges.ts): kept, its CREATE SCHEMA left out
        } else if (dst.schemas.includes(schema) && config.dstDropSchema) {
          notes.push(
            `target schema ${schema} exists: DST_DROP_SCHEMA drops it when the last restore created it (the marker) or the target is confirmed by name`,
          );
        } else if (dst.schemas.includes(schema)) {
          problems.push(
            `the target already has schema ${schema}, which the dump creates (the restore would fail); drop it on the staging database or use a fresh one (or set DST_DROP_SCHEMA: it drops the schemas the last restore created)`,
          );
        }
      }
    },
    { connectTimeoutMs: config.connectTimeoutMs },
  ).catch((e) => problems.push(sideProblem('target', config.dst, "inspect the target's schemas", e, config)));
}

/**
 * 8. The configured tables and columns exist where the checks will read them: the target for a checks-only run,
 *    the source before a copy (the target is about to be replaced).
 */
async function checkConfiguredSubjects(f: Findings): Promise<void> {
  const { config, src, dst } = f;
  const side = f.full
    ? src
      ? { dsn: config.src!, name: 'source' as const }
      : undefined
    : dst
      ? { dsn: config.dst, name: 'target' as const }
      : undefined;
  if (!side) return;
  const missing = await withConnection(side.dsn, (c) => missingConfiguredSubjects(c, config, side.name), {
    connectTimeoutMs: config.connectTimeoutMs,
  }).catch((e) => [sideProblem(side.name, side.dsn, 'look up the configured tables', e, config)]);
  f.problems.push(...missing);
}

/**
 * 9. Tablespaces: pg_restore sets default_tablespace per object, and fails on one the target lacks. Read from the
 *    source catalog (so before the dump); RESTORE_NO_TABLESPACES=1 restores everything into the default instead.
 */
async function checkTablespaces(f: Findings): Promise<void> {
  const { config } = f;
  if (!f.src || !f.dst || !f.planned.restore || config.restoreNoTablespaces) return;
  try {
    const need = await withConnection(config.src!, (c) => usedTablespaces(c), {
      connectTimeoutMs: config.connectTimeoutMs,
    });
    const have = await withConnection(
      config.dst,
      async (c) => (await c.query<{ n: string }>('SELECT spcname AS n FROM pg_tablespace')).rows.map((r) => r.n),
      { connectTimeoutMs: config.connectTimeoutMs },
    );
    const missing = missingTablespaces(need, have);
    if (missing.length)
      f.problems.push(
        `the dump puts objects in tablespace${missing.length > 1 ? 's' : ''} ${missing.map((t) => `"${t}"`).join(', ')}, which the target server lacks (the restore would fail on SET default_tablespace); create ${missing.length > 1 ? 'them' : 'it'} on the staging server (CREATE TABLESPACE ... LOCATION '...', a directory owned by the postgres OS user), or set RESTORE_NO_TABLESPACES=1 to restore every object into the target's default tablespace`,
      );
    else if (need.length) f.notes.push(`tablespaces used by the source (${need.join(', ')}) exist on the target`);
  } catch (e) {
    f.notes.push(`could not compare tablespaces of the source and the target: ${redact((e as Error).message)}`);
  }
}

/** 10. Identity of source and target, and the confirmations of destructive steps (lib/phases/guards.ts). */
async function checkDestructiveSteps(f: Findings): Promise<void> {
  if (!f.dst) return;
  const verdict = await checkDestructive(f.config, f.planned, { log: f.opts.log });
  f.problems.push(...verdict.problems);
  f.destructive = verdict.lines;
  for (const l of f.destructive) f.say(l);
}

/** 11. A single-transaction restore must fit the target's lock table (lib/phases/guards.ts lockBudget). */
async function checkLockBudget(f: Findings): Promise<void> {
  const { config } = f;
  if (!f.dst || !f.planned.restore || !restoreMode(config).startsWith('single-transaction')) return;
  try {
    const n = await relationsToRestore(config, f.archive?.toc);
    if (n === undefined) return;
    const verdict = lockBudget(n, await lockSettings(config.dst, config.connectTimeoutMs));
    if (verdict?.level === 'refuse') f.problems.push(verdict.message);
    else if (verdict) {
      f.notes.push(verdict.message);
      f.say(`warning: ${verdict.message}`);
    }
  } catch (e) {
    f.notes.push(`could not check the lock budget of the restore: ${redact((e as Error).message)}`);
  }
}

/**
 * 12. Each server has the free connection slots a run needs at its lowest concurrency (lib/core/db.ts minimumSlots;
 * the CLI lowers the concurrency to what is free above that). Issue 26: with 1 free slot the restore failed on "too
 * many clients". A server that cannot be asked is judged by checkServers.
 */
async function checkConnectionSlots(f: Findings): Promise<void> {
  const { config } = f;
  if (!f.dst) return;
  for (const s of serversOf([config.dst, ...(config.src ? [config.src] : [])])) {
    const free = await freeConnectionSlots(s.dsn, { connectTimeoutMs: config.connectTimeoutMs }).catch(() => undefined);
    const need = minimumSlots(s.pools);
    if (free !== undefined && free < need)
      f.problems.push(
        `${describeDsn(s.dsn)} has ${free} free connection slot(s) for this role; a rehearsal needs at least ${need} there (the checks' connection${s.pools > 1 ? 's' : ''} and one beside them): raise max_connections or close idle sessions, then rerun`,
      );
  }
}

/** The verdict: one PhaseError (exit 2) listing every problem, or the result with its typed facts. */
function conclude(f: Findings): PreflightResult {
  const { tools, notes, problems, destructive, src, dst, needed } = f;
  for (const [k, v] of Object.entries(tools)) f.opts.log?.line(`version ${k}: ${v}`);
  for (const n of notes) f.opts.log?.line(`note: ${n}`);
  if (problems.length) {
    throw new PhaseError(
      'preflight',
      `refused before any write (the target is untouched):\n  - ${problems.join('\n  - ')}`,
      EXIT.usage,
      { details: { tools, problems, destructive } },
    );
  }
  const reason = [
    needed.length
      ? `tools ${needed.map((t) => `${t} ${tools[t]}${tools[`${t} path`] ? ` (${tools[`${t} path`]})` : ''}`).join(', ')}`
      : 'no tools needed',
    src
      ? `source PostgreSQL ${src.version}${src.vector ? ` (vector ${src.vector.version})` : ''}`
      : 'no source database',
    dst
      ? `target PostgreSQL ${dst.version}${dst.vectorAvailable ? ` (vector ${dst.vectorAvailable} available)` : ''}`
      : '',
  ]
    .filter(Boolean)
    .join('; ');
  const facts: PreflightFacts = {
    tools,
    archive: f.archive,
    destructive,
    notes,
    extensionsPresent: f.privileges?.extensionsPresent ?? [],
    schemasKept: f.privileges?.schemasKept ?? [],
  };
  return {
    reason,
    tools,
    archive: f.archive,
    destructive,
    facts,
    details: {
      tools,
      notes,
      destructive,
      extensionsPresent: facts.extensionsPresent,
      schemasKept: facts.schemasKept,
    },
  };
}

/**
 * What the restore will need (from the source catalog when the tool dumps, else from the archive) against what the
 * target role can do; see lib/phases/privileges.ts.
 */
async function checkPrivileges(config: Config, archive: ArchiveInfo | undefined, srcSchemas: string[], log?: PhaseLog) {
  let extensions: NeededExtension[] = [];
  let roles: NeededRole[] = [];
  let schemas: string[] = [];
  if (archive) {
    extensions = archive.extensions.filter((e) => e !== 'plpgsql').map((name) => ({ name }));
    roles = rolesNamedBySql(await archiveSchemaSql(archive.path, log));
    schemas = archive.schemas;
  } else if (config.src) {
    const needs = await withConnection(config.src, sourceNeeds, { connectTimeoutMs: config.connectTimeoutMs }).catch(
      (e) => {
        throw new SideError(sideProblem('source', config.src!, 'read what the restore needs', e, config));
      },
    );
    extensions = needs.extensions;
    roles = needs.roles;
    schemas = srcSchemas;
  }
  return readTargetPowers(config, { extensions, roles, schemas }).catch((e) => {
    throw new SideError(sideProblem('target', config.dst, "read the target role's powers", e, config));
  });
}

/** A preflight problem already worded with its side (sideProblem). */
class SideError extends Error {}

/** The target role's powers judged against what the restore needs (lib/phases/privileges.ts judgePrivileges). */
function readTargetPowers(
  config: Config,
  needs: { extensions: NeededExtension[]; roles: NeededRole[]; schemas: string[] },
): Promise<PrivilegeVerdict> {
  const { extensions, roles, schemas } = needs;
  return withConnection(
    config.dst,
    async (c) =>
      judgePrivileges({
        powers: await rolePowers(c),
        database: (await c.query('SELECT current_database() AS d')).rows[0].d,
        extensions,
        targetExtensions: await targetExtensions(
          c,
          extensions.map((e) => e.name),
        ),
        neededRoles: roles,
        existingRoles: await existingRoles(
          c,
          roles.map((r) => r.name),
        ),
        otherSchemas: schemas.filter((x) => x !== 'public'),
        dropPublic: config.dstDropSchema,
        cmp: cmpVersion,
      }),
    { connectTimeoutMs: config.connectTimeoutMs },
  );
}

/**
 * DST_ASSETS_DIR must exist (a checks-only run reads it), or — before a mirror — at least its parent, so that rsync
 * creates only the last component: a misspelled path is never created silently with all its parents.
 */
export function dstAssetsDirProblems(dir: string, mirrorPlanned: boolean): string[] {
  if (fs.existsSync(dir)) return [];
  const parent = path.dirname(path.resolve(dir));
  if (!mirrorPlanned)
    return [
      `DST_ASSETS_DIR=${dir} does not exist; point it at the target's .data root (nothing is created by a checks-only run)`,
    ];
  if (!fs.existsSync(parent) || !fs.statSync(parent).isDirectory())
    return [
      `DST_ASSETS_DIR=${dir} does not exist and neither does its parent ${parent}; a misspelled path is never created: fix DST_ASSETS_DIR, or create the parent directory first`,
    ];
  return [];
}

/** rsync --list-only of a remote SRC_ASSETS_DIR; undefined when it answers, else the problem line. */
async function probeRemoteAssets(config: Config, log?: PhaseLog): Promise<string | undefined> {
  const v = await toolVersion('rsync');
  if (!v) return `SRC_ASSETS_DIR=${config.srcAssetsDir} is remote but rsync is not installed; install rsync`;
  const cmd = rsyncProbeCommand(config);
  const r = await runCommand(cmd, { phase: 'preflight', log, timeoutMs: Math.max(5000, config.connectTimeoutMs * 4) });
  if (r.code === 0) return undefined;
  const tail = r.stderrTail
    .filter((l) => l.trim())
    .slice(-3)
    .join(' | ');
  return `the remote SRC_ASSETS_DIR ${config.srcAssetsDir} does not answer (rsync --list-only exit ${r.code}${tail ? `: ${tail}` : ''}); check the host, the ssh key (BatchMode: no password prompt) and the path`;
}
