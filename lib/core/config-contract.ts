/**
 * The configuration contract: every environment variable the tool reads, as one table (VARS) of name, group, default,
 * documentation and parser, and the typed Config it parses into. lib/core/config.ts runs the table (parseConfig),
 * lib/core/config-printout.ts prints it (`--help`, the effective configuration), lib/core/path-policy.ts holds the
 * path refusals the table applies.
 */
import path from 'node:path';
import { MAX_TIMEOUT_MS, envBool, envInt, isSet, showDefault, type Env, type IntRule } from './env.ts';
import { DEFAULT_DB_PATH_PREFIX, realPathLoose } from './paths.ts';
import { type Dsn, parseDsn } from './dsn.ts';
import { type TableRef, parseColumnRef, parseTableRef, splitIdentifiers, splitOutsideQuotes } from './ident.ts';
import { isRemoteRsyncPath, refusedAssetsDir, refusedOutputDir, refusedSourceAssetsDir } from './path-policy.ts';

export interface AssetColumn {
  table: TableRef;
  column: string;
  kind: 'file' | 'dir';
}

export interface Relation {
  child: TableRef;
  childColumns: string[];
  parent: TableRef;
  parentColumns: string[];
  /** 'declared' comes from pg_constraint; 'configured' from ORPHAN_RELATIONS. */
  origin: 'declared' | 'configured';
  constraintName?: string;
}

export interface Config {
  /** DST_DATABASE_URL: target staging database (restore + checks). */
  dst: Dsn;
  /** DST_ASSETS_DIR: target `.data` root. */
  dstAssetsDir: string;
  /**
   * Where DST_ASSETS_DIR really led when the configuration was parsed (before the preflight; symlinks followed,
   * lib/core/paths.ts realPathLoose). Resolved once: the mirror writes into this path and refuses when the link leads
   * elsewhere by then (issue 26: a link swapped after the preflight). Absent in a hand-built configuration.
   */
  dstAssetsReal?: string;
  /** SRC_DATABASE_URL: source database (dump + comparisons). */
  src?: Dsn;
  /** SRC_ASSETS_DIR: rsync source; a local path or rsync remote syntax. */
  srcAssetsDir?: string;
  /** True when SRC_ASSETS_DIR uses rsync remote syntax (host:path, rsync://). */
  srcAssetsRemote: boolean;
  /** SRC_DB_DUMP_PATH: an existing dump (custom = file, directory = directory). */
  dumpPath?: string;
  /** VALIDATE_TABLES: tables to count; default every user table. */
  validateTables?: TableRef[];
  rowcountTimeoutMs: number;
  rowcountMaxDiff: number;
  rowcountRequireExact: boolean;
  /** ROWCOUNT_ESTIMATE_TOLERANCE: largest accepted relative difference (percent) when a count is only an estimate. */
  rowcountEstimateTolerance: number;
  /** PREEXISTING_DEFECTS_FAIL: orphans / dangling asset paths the source has too fail instead of warning. */
  preexistingDefectsFail: boolean;
  assetsSampleN: number;
  /** ASSETS_SAMPLE_SEED: seed of the deterministic asset sample; default derived from the run. */
  assetsSampleSeed?: string;
  assetsDbPathPrefix: string;
  dstDropSchema: boolean;
  /** DST_DROP_SCHEMA=<dbname>: the target database's name, given as the confirmation (see lib/phases/guards.ts). */
  dstDropSchemaConfirm?: string;
  assetsDelete: boolean;
  /**
   * ASSETS_DELETE=<path>: DST_ASSETS_DIR, given as the confirmation, exactly as the operator set it (trimmed); the
   * guard compares real paths (lib/phases/guards.ts).
   */
  assetsDeleteConfirm?: string;
  /** The health URL base (STAGING_API_BASE_URL, else from STAGING_API_PORT, else the default). */
  stagingApiBaseUrl: string;
  stagingHealthPath: string;
  /** HEALTH_CHECK=0 skips the health check, visibly. */
  healthCheck: boolean;
  healthTimeoutMs: number;
  workDir?: string;
  dumpFormat: 'custom' | 'directory';
  dumpJobs: number;
  restoreJobs: number;
  restoreSingleTransaction: boolean;
  /** RESTORE_MAINTENANCE_WORK_MEM: the restore session's maintenance_work_mem in bytes, or auto / off (lib/phases/restore-tuning.ts). */
  restoreMaintenanceWorkMem: number | 'auto' | 'off';
  /** RESTORE_MAINTENANCE_WORKERS: the restore session's max_parallel_maintenance_workers, or auto. */
  restoreMaintenanceWorkers: number | 'auto';
  /** RESTORE_ANALYZE_JOBS: connections the ANALYZE after the restore uses at once, or auto. */
  restoreAnalyzeJobs: number | 'auto';
  dumpSerializableDeferrable: boolean;
  assetColumns: AssetColumn[];
  /** True when ASSET_COLUMNS was set (not the default): preflight then insists that every named column exists. */
  assetColumnsConfigured: boolean;
  orphanRelations: Relation[];
  reportsDir: string;
  /** REHEARSAL_OPERATOR: who ran the rehearsal, recorded in the manifest and report (unset: the login user). */
  operator?: string;
  checksum: 'full' | 'off';
  checksumTables?: TableRef[];
  /** CHECKSUM_SPLIT_MB: a table larger than this (heap MB) is checksummed in CHECK_CONCURRENCY block ranges at once. */
  checksumSplitMb: number;
  assetsUnreferencedFail: boolean;
  connectTimeoutMs: number;
  checkConcurrency: number;
  /** CHECKS_DEADLINE_S: seconds the whole checks phase may take from its first check (lib/checks/deadline.ts); 3600. */
  checksDeadlineS: number;
  /** RSYNC_TIMEOUT_S: seconds without I/O after which rsync gives up (its --timeout); default 300. */
  rsyncTimeoutS: number;
  /** FULL_LIST_MAX: most items a check writes to its full list (failures/<check>.txt); default 100000. */
  fullListMax: number;
  /** ISOLATION: detach (default: links from staging to other servers are left out or pointed nowhere) or keep. */
  isolation: 'detach' | 'keep';
  /** ASSETS_MIRROR_CHECKSUM: rsync --checksum: auto (when the target tree is not empty), always (1) or never (0). */
  assetsMirrorChecksum: 'auto' | 'on' | 'off';
  /** ASSETS_VERIFY: what the census compares for EVERY file against a local source: size-mtime (default) or sha256 (also content). */
  assetsVerify: 'size-mtime' | 'sha256';
  /** ASSETS_APP_USER: the staging application's user (name, uid or uid:gid) whose read permission is checked. */
  assetsAppUser?: string;
  /** RESTORE_NO_TABLESPACES=1: pg_restore --no-tablespaces (every object in the target's default tablespace). */
  restoreNoTablespaces: boolean;
  /**
   * RESTORE_ROLE: a non-superuser role the restore session switches to (`SET ROLE` at connect, PGOPTIONS `-c role=`),
   * so code in the archive (index expressions, generated columns, defaults) never runs with superuser powers.
   */
  restoreRole?: string;
  /** PG_BIN_DIR: directory of pg_dump, pg_restore and psql for both sides; unset: chosen by major. */
  pgBinDir?: string;
  /** SRC_PG_BIN_DIR: directory of the pg_dump that dumps the source (overrides PG_BIN_DIR). */
  srcPgBinDir?: string;
  /** DST_PG_BIN_DIR: directory of the pg_restore and psql that restore into the target (overrides PG_BIN_DIR). */
  dstPgBinDir?: string;
  /** EXTENSION_VERSIONS_EQUAL=1: an extension newer on the target than on the source is a failure, not evidence. */
  extensionVersionsEqual: boolean;
  /** COPY_ENGINE: pg_dump (default: dump → restore) or pgcopydb (lib/phases/engines/pgcopydb.ts; not atomic). */
  copyEngine: 'pg_dump' | 'pgcopydb';
  /** COPY_JOBS: pgcopydb's --table-jobs and --index-jobs; default 4 (pgcopydb's own default). */
  copyJobs: number;
  /** COPY_SPLIT_TABLES_MB: pgcopydb --split-tables-larger-than, in MB; 0 (default) never splits a table. */
  copySplitTablesMb: number;
  /** ASSETS_ENGINE: rsync (default: one process) or fpsync (fpart + parallel rsync; lib/phases/engines/fpsync.ts). */
  assetsEngine: 'rsync' | 'fpsync';
  /** ASSETS_JOBS: fpsync's concurrent rsync workers (-n); default 2. */
  assetsJobs: number;
  /** ASSETS_WORKERS: fpsync's ssh worker hosts (-w), `[user@]host` each; empty: the workers run on this machine. */
  assetsWorkers: string[];
}

/** A Config being filled in by the table, variable by variable. */
export type Draft = { -readonly [K in keyof Config]?: Config[K] };

export interface VarSpec {
  name: string;
  group: 'required' | 'source' | 'dump' | 'validation' | 'assets' | 'dangerous' | 'smoke' | 'output' | 'tuning';
  /** Shown in --help. */
  doc: string;
  default?: string;
  secret?: boolean;
  /** Parse `raw` (undefined when unset) into the draft; return an error text or nothing. */
  apply(raw: string | undefined, draft: Draft, env: Env): string | void;
}

/** What a run does: copy then check, check only, or plan only. */
export type Mode = 'full' | 'verify-only' | 'dry-run';

function setOr<K extends keyof Config>(
  draft: Draft,
  key: K,
  v: Config[K] | string,
  isErr: (v: unknown) => v is string,
): string | void {
  if (isErr(v)) return v;
  draft[key] = v as Config[K];
}
const isStr = (v: unknown): v is string => typeof v === 'string';

/** lib/core/env.ts's rules under the table's short names: `int(name, raw, default, min, max?)`, `bool(name, raw, default)`. */
const int = (name: string, raw: string | undefined, dflt: number, min: number, max?: number) =>
  envInt(name, raw, { default: dflt, min, max });
const bool = envBool;

/**
 * A destructive switch (DST_DROP_SCHEMA, ASSETS_DELETE): unset, blank, `0` (or false/no/off) is off; exactly `1` is on;
 * the other spellings of "true" (yes, true, on) are refused, because the refusals and the log must quote what the
 * operator set and "yes" is not a database name or path anybody means; anything else is the confirmation value (the
 * target database's name, DST_ASSETS_DIR), trimmed, checked against the target in lib/phases/guards.ts.
 */
function dangerousSwitch(name: string, raw: string | undefined): boolean | { confirm: string } | { error: string } {
  if (!isSet(raw)) return false;
  const v = raw.trim();
  if (v === '1') return true;
  const b = envBool(name, v, false);
  if (b === false) return false;
  if (b === true) return { error: `${name}=${JSON.stringify(raw)} is ambiguous` };
  return { confirm: v };
}

/** How the operator set DST_DROP_SCHEMA, for the log: `DST_DROP_SCHEMA=1` or `DST_DROP_SCHEMA=<the name given>`. */
export function dropSchemaSetting(c: Pick<Config, 'dstDropSchemaConfirm'>): string {
  return `DST_DROP_SCHEMA=${c.dstDropSchemaConfirm ?? '1'}`;
}

/** How the operator set ASSETS_DELETE, for the log: `ASSETS_DELETE=1` or `ASSETS_DELETE=<the path as given>`. */
export function assetsDeleteSetting(c: Pick<Config, 'assetsDeleteConfirm'>): string {
  return `ASSETS_DELETE=${c.assetsDeleteConfirm ?? '1'}`;
}

type KeysOf<T> = { [K in keyof Config]-?: Config[K] extends T ? K : never }[keyof Config];

/** A whole-number variable of the table: default and range written once (lib/core/env.ts envInt). */
function intVar(name: string, group: VarSpec['group'], key: KeysOf<number>, rule: IntRule, doc: string): VarSpec {
  return {
    name,
    group,
    doc,
    default: showDefault(rule.default),
    apply: (raw, d) => setOr(d, key, envInt(name, raw, rule), isStr),
  };
}

/** One of a fixed set of words; the first is the default (`NAME="x" must be a or b`). */
function choiceVar<K extends 'dumpFormat' | 'checksum'>(
  name: string,
  group: VarSpec['group'],
  key: K,
  choices: ReadonlyArray<Config[K]>,
  doc: string,
): VarSpec {
  return {
    name,
    group,
    doc,
    default: choices[0],
    apply(raw, d) {
      const v = raw?.trim() || choices[0];
      if (!choices.includes(v as Config[K])) return `${name}="${raw}" must be ${choices.join(' or ')}`;
      d[key] = v as Config[K] & Draft[K];
    },
  };
}

export const DEFAULT_STAGING_API_BASE_URL = 'http://127.0.0.1:18080';
export const DEFAULT_HEALTH_PATH = '/health';
export const DEFAULT_REPORTS_DIR = 'reports';

/** A boolean variable of the table (1/0, true/false, ...), its default written once. */
function boolVar(name: string, group: VarSpec['group'], key: KeysOf<boolean>, dflt: boolean, doc: string): VarSpec {
  return {
    name,
    group,
    doc,
    default: showDefault(dflt),
    apply: (raw, d) => setOr(d, key, envBool(name, raw, dflt), isStr),
  };
}

/** Split a list on `sep` outside "quoted identifiers" (a quoted name may contain the separator). */
function parseList(raw: string, sep: string): string[] {
  return splitOutsideQuotes(raw, sep)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** ASSET_COLUMNS: `table.column:file|dir` items, comma-separated; throws on a malformed item. */
export function parseAssetColumns(raw: string): AssetColumn[] {
  return parseList(raw, ',').map((item) => {
    const m = /^(.*):(file|dir)$/.exec(item);
    if (!m) throw new Error(`"${item}" must be table.column:file or table.column:dir`);
    const ref = parseColumnRef(m[1]);
    const schema = ref.table.schema ?? 'public';
    // The system catalogs hold no assets, but they do hold secrets (pg_authid.rolpassword): never read them as paths.
    if (/^pg_/i.test(schema) || schema.toLowerCase() === 'information_schema')
      throw new Error(`"${item}" names the system schema ${schema}; asset columns live in user tables`);
    return { table: ref.table, column: ref.column, kind: m[2] as 'file' | 'dir' };
  });
}

/**
 * Why a configured table may not be read by the checks, or undefined: a system catalog (`pg_catalog`,
 * `information_schema`, any `pg_*` schema). The checks print the values they find, so
 * `ORPHAN_RELATIONS=pg_catalog.pg_authid.rolpassword->…` would print every role's SCRAM verifier (issue 26).
 */
export function systemTableRefusal(t: { schema: string; name: string }): string | undefined {
  return t.schema === 'information_schema' || /^pg_/.test(t.schema)
    ? `${t.schema}.${t.name} is a system catalog, not application data; name the application's own tables`
    : undefined;
}

function parseSide(text: string): { table: TableRef; columns: string[] } {
  const [first, ...more] = splitOutsideQuotes(text, '+');
  const ref = parseColumnRef(first.trim());
  const columns = [ref.column];
  for (const c of more) {
    const parts = splitIdentifiers(c.trim());
    if (parts.length !== 1) throw new Error(`"${c}" after "+" must be a plain column name`);
    columns.push(parts[0]);
  }
  return { table: ref.table, columns };
}

/** ORPHAN_RELATIONS: `child.col->parent.col` items (composite `a+b`), semicolon-separated; throws on a malformed item. */
export function parseOrphanRelations(raw: string): Relation[] {
  return parseList(raw, ';').map((item) => {
    const arrow = splitOutsideQuotes(item, '->');
    if (arrow.length !== 2)
      throw new Error(`"${item}" must be child.col->parent.col (composite: child.a+b->parent.x+y)`);
    const child = parseSide(arrow[0]);
    const parent = parseSide(arrow[1]);
    for (const t of [child.table, parent.table]) {
      const why = systemTableRefusal(t);
      if (why) throw new Error(`"${item}": ${why}`);
    }
    if (child.columns.length !== parent.columns.length) {
      throw new Error(
        `"${item}": ${child.columns.length} child column(s) but ${parent.columns.length} parent column(s)`,
      );
    }
    return {
      child: child.table,
      childColumns: child.columns,
      parent: parent.table,
      parentColumns: parent.columns,
      origin: 'configured',
    };
  });
}

function tableList(name: string, raw: string | undefined): TableRef[] | string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  try {
    return parseList(raw, ',').map(parseTableRef);
  } catch (e) {
    return `${name}: ${(e as Error).message}`;
  }
}

export const DEFAULT_ASSET_COLUMNS =
  'knowledge_materials.storage_path:file,ugc_assets.storage_path:file,gallery_items.storage_dir:dir';

/** The contract table: one entry per environment variable, in --help order (data). */
export const VARS: VarSpec[] = [
  {
    name: 'DST_DATABASE_URL',
    group: 'required',
    secret: true,
    doc: 'Target staging PostgreSQL DSN (libpq URL or keyword form); restore target and what the checks read.',
    apply(raw, d) {
      if (!raw)
        return 'DST_DATABASE_URL is not set; export DST_DATABASE_URL="postgresql://<user>:<password>@<host>:<port>/<db>"';
      try {
        d.dst = parseDsn(raw, 'DST_DATABASE_URL');
      } catch (e) {
        return (e as Error).message.replace(/^configuration error: /, '');
      }
    },
  },
  {
    name: 'DST_ASSETS_DIR',
    group: 'required',
    doc: 'Target staging `.data` root (host path, or the container path /app/.data).',
    apply(raw, d, env) {
      if (!raw) return 'DST_ASSETS_DIR is not set; export DST_ASSETS_DIR=/path/to/staging/.data';
      if (isRemoteRsyncPath(raw))
        return `DST_ASSETS_DIR="${raw}" looks like an rsync remote; the target must be a local path`;
      const refused = refusedAssetsDir(path.resolve(raw), env);
      if (refused) return refused;
      d.dstAssetsDir = path.resolve(raw);
      d.dstAssetsReal = realPathLoose(d.dstAssetsDir);
    },
  },
  {
    name: 'SRC_DATABASE_URL',
    group: 'source',
    secret: true,
    doc: 'Source PostgreSQL DSN: dumped (unless SRC_DB_DUMP_PATH is set) and compared against the target.',
    apply(raw, d) {
      if (!raw) return;
      try {
        d.src = parseDsn(raw, 'SRC_DATABASE_URL');
      } catch (e) {
        return (e as Error).message.replace(/^configuration error: /, '');
      }
    },
  },
  {
    name: 'SRC_ASSETS_DIR',
    group: 'source',
    doc: 'Source `.data` root for rsync; local path or rsync remote syntax (user@host:/path). Unset: no asset mirror.',
    apply(raw, d, env) {
      if (!raw) {
        d.srcAssetsRemote = false;
        return;
      }
      d.srcAssetsRemote = isRemoteRsyncPath(raw);
      const refused = d.srcAssetsRemote ? undefined : refusedSourceAssetsDir(raw, env);
      if (refused) return refused;
      d.srcAssetsDir = d.srcAssetsRemote ? raw : path.resolve(raw);
    },
  },
  {
    name: 'SRC_DB_DUMP_PATH',
    group: 'dump',
    doc: 'An existing dump to restore instead of dumping (custom format: a file; directory format: a directory).',
    apply(raw, d) {
      if (raw) d.dumpPath = path.resolve(raw);
    },
  },
  choiceVar(
    'DUMP_FORMAT',
    'dump',
    'dumpFormat',
    ['custom', 'directory'],
    'pg_dump archive format: custom (one file) or directory (needed for DUMP_JOBS).',
  ),
  intVar(
    'DUMP_JOBS',
    'dump',
    'dumpJobs',
    { default: 1, min: 1, max: 64 },
    'Parallel pg_dump workers (synchronized snapshot); >1 needs DUMP_FORMAT=directory.',
  ),
  intVar(
    'RESTORE_JOBS',
    'dump',
    'restoreJobs',
    { default: 1, min: 1, max: 64 },
    'Parallel pg_restore workers; >1 is faster but NOT atomic (no --single-transaction).',
  ),
  {
    ...boolVar(
      'RESTORE_SINGLE_TRANSACTION',
      'dump',
      'restoreSingleTransaction',
      true,
      'Restore all-or-nothing with pg_restore --single-transaction; cannot be combined with RESTORE_JOBS>1.',
    ),
    default: '1 (0 when RESTORE_JOBS>1)',
  },
  ...(['PG_BIN_DIR', 'SRC_PG_BIN_DIR', 'DST_PG_BIN_DIR'] as const).map((name): VarSpec => ({
    name,
    group: 'dump',
    default: name === 'PG_BIN_DIR' ? "(chosen by the servers' majors)" : '(PG_BIN_DIR)',
    doc:
      name === 'PG_BIN_DIR'
        ? "Directory of the PostgreSQL client tools for both sides; unset: the installed pg_dump of the source's major (or newer) and a pg_restore/psql not newer than the target."
        : name === 'SRC_PG_BIN_DIR'
          ? "Directory of the pg_dump that dumps the source (its major must be the source's or newer)."
          : 'Directory of the pg_restore and psql that restore into the target (major not newer than the target).',
    apply(raw, d) {
      if (!isSet(raw)) return;
      const dir = path.resolve(raw.trim());
      const key = name === 'PG_BIN_DIR' ? 'pgBinDir' : name === 'SRC_PG_BIN_DIR' ? 'srcPgBinDir' : 'dstPgBinDir';
      d[key] = dir;
    },
  })),
  {
    name: 'EXTENSION_VERSIONS_EQUAL',
    group: 'validation',
    default: '0',
    doc: "Require every extension (pgvector too) at exactly the source's version on the target; default: a newer target version that preflight accepted passes, with the versions as evidence.",
    apply(raw, d) {
      return setOr(d, 'extensionVersionsEqual', bool('EXTENSION_VERSIONS_EQUAL', raw, false), isStr);
    },
  },
  {
    name: 'RESTORE_MAINTENANCE_WORK_MEM',
    group: 'dump',
    default: 'auto',
    doc: 'maintenance_work_mem of the restore session (index builds): auto (a quarter of the memory the target can spare, at most 1GB, never below its own value), a size such as 512MB, or off (no session settings).',
    apply(raw, d) {
      const v = isSet(raw) ? raw.trim() : 'auto';
      if (v === 'auto' || v === 'off') return void (d.restoreMaintenanceWorkMem = v);
      const m = /^(\d+)\s*(kB|MB|GB)?$/i.exec(v);
      const bytes = m ? Number(m[1]) * { kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'kB').toLowerCase()]! : NaN;
      if (!m || bytes < 1024 ** 2 || bytes > 2 * 1024 ** 4)
        return `RESTORE_MAINTENANCE_WORK_MEM="${raw}" must be auto, off or a size from 1MB to 2TB (e.g. 512MB, 1GB)`;
      d.restoreMaintenanceWorkMem = bytes;
    },
  },
  {
    name: 'RESTORE_MAINTENANCE_WORKERS',
    group: 'dump',
    default: 'auto',
    doc: 'max_parallel_maintenance_workers of the restore session: auto (cores − 1 for a target on this machine, else the target’s own value) or a number.',
    apply(raw, d) {
      if (!isSet(raw) || raw.trim() === 'auto') return void (d.restoreMaintenanceWorkers = 'auto');
      return setOr(d, 'restoreMaintenanceWorkers', int('RESTORE_MAINTENANCE_WORKERS', raw, 0, 0, 1024), isStr);
    },
  },
  {
    name: 'RESTORE_ANALYZE_JOBS',
    group: 'dump',
    default: 'auto',
    doc: 'Connections the ANALYZE after the restore uses at once, largest table first (as vacuumdb --analyze-only -j): auto (the cores of this machine for a target running here, else CHECK_CONCURRENCY) or a number.',
    apply(raw, d) {
      if (!isSet(raw) || raw.trim() === 'auto') return void (d.restoreAnalyzeJobs = 'auto');
      return setOr(d, 'restoreAnalyzeJobs', int('RESTORE_ANALYZE_JOBS', raw, 1, 1, 64), isStr);
    },
  },
  {
    name: 'DUMP_SERIALIZABLE_DEFERRABLE',
    group: 'dump',
    default: '0',
    doc: 'Add pg_dump --serializable-deferrable (stronger snapshot; may wait for a safe moment).',
    apply(raw, d) {
      return setOr(d, 'dumpSerializableDeferrable', bool('DUMP_SERIALIZABLE_DEFERRABLE', raw, false), isStr);
    },
  },
  {
    name: 'VALIDATE_TABLES',
    group: 'validation',
    doc: 'Comma list of tables ([schema.]table) to count; default every user table of the source (else the target).',
    apply(raw, d) {
      const v = tableList('VALIDATE_TABLES', raw);
      if (typeof v === 'string') return v;
      d.validateTables = v;
    },
  },
  intVar(
    'ROWCOUNT_TIMEOUT_MS',
    'validation',
    'rowcountTimeoutMs',
    { default: 3000, min: 1, max: MAX_TIMEOUT_MS },
    'Server-side statement_timeout for each count(*); on timeout the count falls back to an estimate.',
  ),
  intVar(
    'ROWCOUNT_MAX_DIFF',
    'validation',
    'rowcountMaxDiff',
    { default: 0, min: 0 },
    'Largest accepted |source - target| row difference; applies only when both counts are exact.',
  ),
  boolVar(
    'ROWCOUNT_REQUIRE_EXACT',
    'validation',
    'rowcountRequireExact',
    false,
    'Fail a row count that had to fall back to an estimate.',
  ),
  {
    name: 'ROWCOUNT_ESTIMATE_TOLERANCE',
    group: 'validation',
    default: '10',
    doc: "Percent by which a timed-out count's estimate may differ from the other side; an unknown estimate never passes.",
    apply(raw, d) {
      return setOr(d, 'rowcountEstimateTolerance', int('ROWCOUNT_ESTIMATE_TOLERANCE', raw, 10, 0, 100), isStr);
    },
  },
  {
    name: 'PREEXISTING_DEFECTS_FAIL',
    group: 'validation',
    default: '0',
    doc: 'Fail (instead of warn) on orphans and dangling asset paths that the source already has.',
    apply(raw, d) {
      return setOr(d, 'preexistingDefectsFail', bool('PREEXISTING_DEFECTS_FAIL', raw, false), isStr);
    },
  },
  {
    name: 'ORPHAN_RELATIONS',
    group: 'validation',
    doc: 'Undeclared relations to check for orphans, ";"-separated: child.col->parent.col (composite: a+b->x+y).',
    apply(raw, d) {
      if (!raw?.trim()) {
        d.orphanRelations = [];
        return;
      }
      try {
        d.orphanRelations = parseOrphanRelations(raw);
      } catch (e) {
        return `ORPHAN_RELATIONS: ${(e as Error).message}`;
      }
    },
  },
  choiceVar(
    'CHECKSUM',
    'validation',
    'checksum',
    ['full', 'off'],
    'Content checksums of every row on both sides: full or off.',
  ),
  {
    name: 'CHECKSUM_TABLES',
    group: 'validation',
    doc: 'Comma list of tables to checksum; default every compared table.',
    apply(raw, d) {
      const v = tableList('CHECKSUM_TABLES', raw);
      if (typeof v === 'string') return v;
      d.checksumTables = v;
    },
  },
  {
    name: 'ASSET_COLUMNS',
    group: 'assets',
    default: DEFAULT_ASSET_COLUMNS,
    doc: 'Columns holding asset paths, as table.column:file|dir, comma-separated.',
    apply(raw, d) {
      d.assetColumnsConfigured = isSet(raw);
      try {
        d.assetColumns = parseAssetColumns(raw ?? DEFAULT_ASSET_COLUMNS);
      } catch (e) {
        return `ASSET_COLUMNS: ${(e as Error).message}`;
      }
    },
  },
  intVar(
    'ASSETS_SAMPLE_N',
    'assets',
    'assetsSampleN',
    { default: 50, min: 0, max: 100_000 },
    'Paths sampled per asset column and checked on disk (0 = none).',
  ),
  {
    name: 'ASSETS_SAMPLE_SEED',
    group: 'assets',
    default: '(the run id)',
    doc: 'Seed of the deterministic asset sample; the seed used is stored in WORK_DIR and the manifest.',
    apply(raw, d) {
      if (raw?.trim()) d.assetsSampleSeed = raw.trim();
    },
  },
  {
    name: 'ASSETS_DB_PATH_PREFIX',
    group: 'assets',
    default: DEFAULT_DB_PATH_PREFIX,
    doc: 'Prefix every DB asset path must have; it maps to DST_ASSETS_DIR on disk.',
    apply(raw, d) {
      const v = (raw ?? DEFAULT_DB_PATH_PREFIX).trim() || DEFAULT_DB_PATH_PREFIX;
      if (!v.startsWith('/')) return `ASSETS_DB_PATH_PREFIX="${raw}" must be an absolute path such as /app/.data`;
      if (v.split('/').includes('..')) return `ASSETS_DB_PATH_PREFIX="${raw}" must not contain ".."`;
      d.assetsDbPathPrefix = v.length > 1 ? v.replace(/\/+$/, '') : v;
    },
  },
  {
    name: 'ASSETS_UNREFERENCED_FAIL',
    group: 'assets',
    default: '0',
    doc: 'Fail (instead of warn) when files under DST_ASSETS_DIR are referenced by no row.',
    apply(raw, d) {
      return setOr(d, 'assetsUnreferencedFail', bool('ASSETS_UNREFERENCED_FAIL', raw, false), isStr);
    },
  },
  {
    name: 'ASSETS_MIRROR_CHECKSUM',
    group: 'assets',
    default: 'auto',
    doc: 'rsync --checksum (compare content, not size+mtime): auto = when DST_ASSETS_DIR is not empty; 1 = always; 0 = never.',
    apply(raw, d) {
      const v = (raw ?? 'auto').trim().toLowerCase() || 'auto';
      if (v === 'auto') d.assetsMirrorChecksum = 'auto';
      else {
        const b = envBool('ASSETS_MIRROR_CHECKSUM', v, false);
        if (typeof b === 'string') return `ASSETS_MIRROR_CHECKSUM="${raw}" must be auto, 1 or 0`;
        d.assetsMirrorChecksum = b ? 'on' : 'off';
      }
    },
  },
  {
    name: 'ASSETS_VERIFY',
    group: 'assets',
    default: 'size-mtime',
    doc: 'Census of EVERY file against a local SRC_ASSETS_DIR: size-mtime (size and mtime) or sha256 (also the bytes; reads both trees).',
    apply(raw, d) {
      const v = (raw ?? 'size-mtime').trim().toLowerCase() || 'size-mtime';
      if (v !== 'size-mtime' && v !== 'sha256') return `ASSETS_VERIFY="${raw}" must be size-mtime or sha256`;
      d.assetsVerify = v;
    },
  },
  {
    name: 'ASSETS_APP_USER',
    group: 'assets',
    doc: "The staging application's user (name, uid or uid:gid): sampled files and their directories must be readable by it.",
    apply(raw, d) {
      if (!raw?.trim()) return;
      const v = raw.trim();
      if (!/^(\d+(:\d+)?|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/.test(v))
        return `ASSETS_APP_USER="${raw}" must be a user name, a uid or uid:gid (e.g. www-data or 1000:1000)`;
      d.assetsAppUser = v;
    },
  },
  {
    name: 'ISOLATION',
    group: 'dangerous',
    default: 'detach',
    doc: 'detach: foreign servers, user mappings and subscriptions pointing away from the target are left out or pointed nowhere, loudly; keep: restore them as they are (a wired staging).',
    apply(raw, d) {
      const v = (raw ?? 'detach').trim().toLowerCase() || 'detach';
      if (v !== 'detach' && v !== 'keep') return `ISOLATION="${raw}" must be detach or keep`;
      d.isolation = v;
    },
  },
  {
    name: 'RESTORE_ROLE',
    group: 'dump',
    doc: 'A non-superuser role (the target role must be a member) the restore runs as (SET ROLE): code in the archive never runs as a superuser (CVE-2024-7348 class). Unset: the target role.',
    apply(raw, d) {
      if (!raw) return;
      if (!/^[a-z_][a-z0-9_$]*$/.test(raw))
        return `RESTORE_ROLE="${raw}" is not a plain role name (lower-case letters, digits, _ and $); name a non-superuser role the target role is a member of`;
      d.restoreRole = raw;
    },
  },
  {
    name: 'RESTORE_NO_TABLESPACES',
    group: 'dump',
    default: '0',
    doc: "pg_restore --no-tablespaces: every object goes to the target's default tablespace (when the target lacks the source's).",
    apply(raw, d) {
      return setOr(d, 'restoreNoTablespaces', bool('RESTORE_NO_TABLESPACES', raw, false), isStr);
    },
  },
  {
    name: 'DST_DROP_SCHEMA',
    group: 'dangerous',
    default: '0',
    doc: "STAGING ONLY: drop what the last restore created before restoring again. `1` only for a rehearsal copy this tool restored and nobody wrote since: its marker says what to drop (the schemas, extensions and large objects that restore created; a DBA's extensions and other schemas are kept). Otherwise the target database name (`DST_DROP_SCHEMA=<dbname>`): drops `public` and the schemas the archive creates that exist there.",
    apply(raw, d) {
      const v = dangerousSwitch('DST_DROP_SCHEMA', raw);
      if (typeof v === 'boolean') d.dstDropSchema = v;
      else if ('error' in v)
        return `${v.error}: use 1 (a target this tool restored before), 0 (keep public) or the target database's own name`;
      else {
        d.dstDropSchema = true;
        d.dstDropSchemaConfirm = v.confirm;
      }
    },
  },
  {
    name: 'ASSETS_DELETE',
    group: 'dangerous',
    default: '0',
    doc: 'STAGING ONLY: rsync --delete (remove target files that are not in the source). `1` only for a directory this tool mirrored before; otherwise the DST_ASSETS_DIR path (`ASSETS_DELETE=<path>`).',
    apply(raw, d) {
      const v = dangerousSwitch('ASSETS_DELETE', raw);
      const accepted = 'use 1 (a directory this tool mirrored before), 0 (delete nothing) or the DST_ASSETS_DIR path';
      if (typeof v === 'boolean') d.assetsDelete = v;
      else if ('error' in v) return `${v.error}: ${accepted}`;
      else if (!v.confirm.startsWith('/'))
        return `ASSETS_DELETE=${JSON.stringify(raw)} is neither 1/0 nor an absolute path; ${accepted}`;
      else {
        d.assetsDelete = true;
        d.assetsDeleteConfirm = v.confirm;
      }
    },
  },
  {
    name: 'STAGING_API_BASE_URL',
    group: 'smoke',
    default: DEFAULT_STAGING_API_BASE_URL,
    doc: 'Base URL of the staging API for the health check (wins over STAGING_API_PORT).',
    apply(raw, d, env) {
      const port = env.STAGING_API_PORT?.trim();
      if (raw?.trim()) {
        let u: URL;
        try {
          u = new URL(raw.trim());
        } catch {
          return `STAGING_API_BASE_URL="${raw}" is not a URL; e.g. http://127.0.0.1:18080`;
        }
        if (u.protocol !== 'http:' && u.protocol !== 'https:')
          return `STAGING_API_BASE_URL must be http:// or https://`;
        d.stagingApiBaseUrl = raw.trim().replace(/\/+$/, '');
      } else if (port) {
        const p = envInt('STAGING_API_PORT', port, { default: 0, min: 1, max: 65535 });
        if (typeof p === 'string') return p;
        d.stagingApiBaseUrl = `http://127.0.0.1:${p}`;
      } else {
        d.stagingApiBaseUrl = DEFAULT_STAGING_API_BASE_URL;
      }
    },
  },
  {
    name: 'STAGING_API_PORT',
    group: 'smoke',
    doc: 'Port of the staging API on 127.0.0.1 (used when STAGING_API_BASE_URL is unset).',
    apply() {
      /* read by STAGING_API_BASE_URL */
    },
  },
  {
    name: 'STAGING_HEALTH_PATH',
    group: 'smoke',
    default: DEFAULT_HEALTH_PATH,
    doc: 'Path of the health endpoint; a 2xx answer passes.',
    apply(raw, d) {
      const v = raw?.trim() || DEFAULT_HEALTH_PATH;
      d.stagingHealthPath = v.startsWith('/') ? v : `/${v}`;
    },
  },
  boolVar(
    'HEALTH_CHECK',
    'smoke',
    'healthCheck',
    true,
    'Set to 0 to skip the health check (reported as skipped, never silently).',
  ),
  intVar(
    'HEALTH_TIMEOUT_MS',
    'smoke',
    'healthTimeoutMs',
    { default: 5000, min: 1, max: MAX_TIMEOUT_MS },
    'Timeout of the health request.',
  ),
  {
    name: 'WORK_DIR',
    group: 'output',
    default: '(a fresh temp dir, printed)',
    doc: 'Dumps, phase logs and state.json; set a fixed path for auditability.',
    apply(raw, d) {
      if (!raw?.trim()) return;
      d.workDir = path.resolve(raw.trim());
      return refusedOutputDir('WORK_DIR', d.workDir);
    },
  },
  {
    name: 'REPORTS_DIR',
    group: 'output',
    default: DEFAULT_REPORTS_DIR,
    doc: 'Where junit.xml, the HTML report, results.json and manifest.json of every run are kept.',
    apply(raw, d) {
      d.reportsDir = path.resolve(raw?.trim() || 'reports');
      return refusedOutputDir('REPORTS_DIR', d.reportsDir);
    },
  },
  {
    name: 'REHEARSAL_OPERATOR',
    group: 'output',
    default: '(the login user)',
    doc: 'Who ran the rehearsal (a name or e-mail), recorded in manifest.json, report.html and junit.xml.',
    apply(raw, d) {
      if (raw?.trim()) d.operator = raw.trim();
    },
  },
  {
    name: 'CHECKSUM_SPLIT_MB',
    group: 'tuning',
    default: '64',
    doc: 'A table whose heap is larger than this many MB is checksummed as CHECK_CONCURRENCY block ranges on as many connections at once (PostgreSQL 14+); 0 splits every table.',
    apply(raw, d) {
      return setOr(d, 'checksumSplitMb', int('CHECKSUM_SPLIT_MB', raw, 64, 0, 1_048_576), isStr);
    },
  },
  intVar(
    'CONNECT_TIMEOUT_MS',
    'tuning',
    'connectTimeoutMs',
    { default: 10_000, min: 100, max: MAX_TIMEOUT_MS },
    'Timeout of every database connection attempt.',
  ),
  intVar(
    'RSYNC_TIMEOUT_S',
    'tuning',
    'rsyncTimeoutS',
    { default: 300, min: 1, max: 86_400 },
    'Seconds without any I/O after which the asset mirror gives up (rsync --timeout): a hung or silent remote never blocks the run.',
  ),
  intVar(
    'FULL_LIST_MAX',
    'output',
    'fullListMax',
    { default: 100_000, min: 1 },
    'Most keys/paths a failing check writes to its full list (failures/<check>.txt beside report.html); the file says how many were left out.',
  ),
  intVar(
    'CHECKS_DEADLINE_S',
    'tuning',
    'checksDeadlineS',
    { default: 3600, min: 10, max: 604_800 },
    'One deadline for the whole checks phase, in seconds from its first check: a check still running then fails naming the deadline (a frozen server never keeps the run alive wave after wave). A side whose probe fails (the server stopped answering) fails every remaining check at once, naming it.',
  ),
  intVar(
    'CHECK_CONCURRENCY',
    'tuning',
    'checkConcurrency',
    { default: 4, min: 1, max: 64 },
    'Checks run at once (and connections per database per worker).',
  ),
  ...ENGINE_VARS(),
];

/** The scale engines' variables (issue 28; the engines themselves live in lib/phases/engines/). */
function ENGINE_VARS(): VarSpec[] {
  const word = <K extends 'copyEngine' | 'assetsEngine'>(name: string, key: K, choices: Config[K][], doc: string) =>
    ({
      name,
      group: 'tuning',
      doc,
      default: choices[0],
      apply(raw, d) {
        const v = isSet(raw) ? raw.trim() : choices[0];
        if (!choices.includes(v as Config[K])) return `${name}="${raw}" must be ${choices.join(' or ')}`;
        d[key] = v as Config[K] & Draft[K];
      },
    }) satisfies VarSpec;
  return [
    word(
      'COPY_ENGINE',
      'copyEngine',
      ['pg_dump', 'pgcopydb'],
      'How the database is copied: pg_dump (dump, then one restore; atomic by default) or pgcopydb (tables in parallel, indexes concurrently; NOT atomic: a failed copy leaves a partial target that the next DST_DROP_SCHEMA run cleans).',
    ),
    intVar(
      'COPY_JOBS',
      'tuning',
      'copyJobs',
      { default: 4, min: 1, max: 64 },
      'COPY_ENGINE=pgcopydb: tables copied at once (--table-jobs) and indexes built at once (--index-jobs).',
    ),
    intVar(
      'COPY_SPLIT_TABLES_MB',
      'tuning',
      'copySplitTablesMb',
      { default: 0, min: 0, max: 1_048_576 },
      'COPY_ENGINE=pgcopydb: a table larger than this many MB is copied by several jobs at once (--split-tables-larger-than); 0 never splits.',
    ),
    word(
      'ASSETS_ENGINE',
      'assetsEngine',
      ['rsync', 'fpsync'],
      'How the asset tree is mirrored: rsync (one process) or fpsync (fpart splits the tree, ASSETS_JOBS rsync workers run at once; a local SRC_ASSETS_DIR only).',
    ),
    intVar(
      'ASSETS_JOBS',
      'tuning',
      'assetsJobs',
      { default: 2, min: 1, max: 256 },
      'ASSETS_ENGINE=fpsync: rsync workers at once (fpsync -n).',
    ),
    {
      name: 'ASSETS_WORKERS',
      group: 'tuning',
      doc: 'ASSETS_ENGINE=fpsync: comma list of ssh worker hosts ([user@]host) that run the rsync workers (fpsync -w); both trees must be at the same paths there (shared storage). Unset: workers run here.',
      apply(raw, d) {
        const hosts = (raw ?? '')
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean);
        const bad = hosts.find((h) => !/^([A-Za-z0-9._-]+@)?[A-Za-z0-9][A-Za-z0-9.:_-]*$/.test(h));
        if (bad !== undefined)
          return `ASSETS_WORKERS: "${bad}" must be [user@]host (no spaces, no options), e.g. worker1,backup@worker2`;
        d.assetsWorkers = hosts;
      },
    },
  ];
}

/** Problems of the engine variables that only show together (issue 28): an engine's knobs without the engine, inputs it cannot use. */
export function engineProblems(c: Config, env: Env): string[] {
  const out: string[] = [];
  if (c.copyEngine === 'pgcopydb' && c.dumpPath)
    out.push(
      'COPY_ENGINE=pgcopydb copies from a live source database, but SRC_DB_DUMP_PATH names an existing dump; unset one (COPY_ENGINE=pg_dump restores a dump)',
    );
  if (c.copyEngine !== 'pgcopydb')
    for (const n of ['COPY_JOBS', 'COPY_SPLIT_TABLES_MB'])
      if (isSet(env[n]))
        out.push(
          `${n} applies to COPY_ENGINE=pgcopydb only; unset it, or set COPY_ENGINE=pgcopydb (pg_dump's own: DUMP_JOBS, RESTORE_JOBS)`,
        );
  if (c.assetsEngine === 'fpsync' && c.srcAssetsRemote)
    out.push(
      `ASSETS_ENGINE=fpsync needs a local SRC_ASSETS_DIR (fpart walks the source tree here), but "${c.srcAssetsDir}" is remote; use ASSETS_ENGINE=rsync, or run from the source host`,
    );
  if (c.assetsEngine !== 'fpsync')
    for (const n of ['ASSETS_JOBS', 'ASSETS_WORKERS'])
      if (isSet(env[n])) out.push(`${n} applies to ASSETS_ENGINE=fpsync only; unset it, or set ASSETS_ENGINE=fpsync`);
  return out;
}
