/**
 * COPY_ENGINE=pgcopydb: the database copy by `pgcopydb clone` (https://pgcopydb.readthedocs.io) instead of
 * pg_dump → pg_restore. pgcopydb takes one snapshot on the source, dumps the schema with pg_dump, restores the
 * pre-data section with pg_restore, then copies the tables COPY_JOBS at a time (source → target, no archive on disk),
 * builds the indexes and constraints COPY_JOBS at a time while other tables are still copying, resets sequences and
 * restores the post-data section.
 *
 * NOT ATOMIC. Unlike the default restore (one transaction, rolled back on any failure), pgcopydb commits each table,
 * each index, each step on its own: a copy that fails or is interrupted leaves a PARTIAL target. The run says so in
 * its first line (`PGCOPYDB_NOT_ATOMIC`); the next run with DST_DROP_SCHEMA cleans the target (the guards accept
 * that because the caller, ./steps.ts pgcopydbStep, writes the restore marker after the copy, also after a failed one).
 *
 * What is kept from the default path, and how:
 * - secrets never in argv: the connection strings go through pgcopydb's own environment variables
 *   (PGCOPYDB_SOURCE_PGURI / PGCOPYDB_TARGET_PGURI) WITHOUT the password; the passwords are in a 0600 passfile
 *   (PGPASSFILE) in the run's own folder, deleted when the run ends. pgcopydb puts the URI on the command line of the
 *   pg_dump / pg_restore it starts, which is why the URI must never carry a password (proven by the integration test
 *   reading /proc/<pid>/cmdline of every process while the copy runs);
 * - bounded parallelism: `--table-jobs` and `--index-jobs` = COPY_JOBS; `--split-tables-larger-than` =
 *   COPY_SPLIT_TABLES_MB when set and when this pgcopydb has the option (`pgcopydbFeatures`, from its help text);
 * - its own folder: `--dir <WORK_DIR>/pgcopydb` (pgcopydb's schema dumps, lists and per-step state);
 * - progress: pgcopydb's log lines are parsed (`parsePgcopydbLine`) into step / tables started / indexes started;
 * - interruption: pgcopydb runs as the leader of its own session (./process-group.ts `startEngine`, with a cleanup
 *   hook that removes the passfile); stopping the run signals every process of that session, so no pg_dump,
 *   pg_restore or worker of it outlives the run (nor a kill -9 of the caller: parent-death signal + a watchdog);
 * - the restore's session settings: appended to the TARGET URI's `options` (`-c name=value`), so every connection
 *   pgcopydb and its pg_restore open to the target has them (lib/phases/restore-tuning.ts chooses them);
 * - the TOC filter: `pgcopydbFilterPlan` — pgcopydb's `--filters` file and `--skip-extensions`; what pgcopydb 0.10
 *   cannot leave out (user mappings, subscriptions, foreign servers pointing away) is a refusal before any write;
 * - versions: pgcopydb 0.10 (Debian 12) knows servers 10–15 only; a newer server major is refused before any write
 *   (`pgcopydbRefusal`), naming the fix (a newer pgcopydb built from Debian's source package).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../core/config.ts';
import { formatUrl, type Dsn } from '../../core/dsn.ts';
import { EXIT, PhaseError } from '../../core/errors.ts';
import { redact } from '../../core/redact.ts';
import { resolveOnPath } from '../../core/tools.ts';
import { startEngine, type EngineExit, type EngineRun } from './process-group.ts';
import { mkdirPrivate } from '../../core/files.ts';

/** The line a pgcopydb copy prints first (the run's log and console): the copy is not atomic. */
export const PGCOPYDB_NOT_ATOMIC =
  'COPY_ENGINE=pgcopydb: this copy is NOT atomic (tables, indexes and steps commit one by one): if it fails or is interrupted the target is left PARTIAL; rerun with DST_DROP_SCHEMA to clean it';

/** The subfolder of WORK_DIR that is pgcopydb's `--dir`. */
export const PGCOPYDB_DIR = 'pgcopydb';

// ---------------------------------------------------------------------------------------------------------------
// Version and features

/** What `pgcopydb --version` says: its version and the server majors it was built for. */
export interface PgcopydbVersion {
  /** e.g. "0.10" (the Debian revision dropped). */
  version: string;
  major: number;
  minor: number;
  /** Server majors of its "compatible with Postgres 10, 11, … and 15" line; empty when the line is missing. */
  serverMajors: number[];
}

/** Parse `pgcopydb --version` output (log lines such as `04:02:53 123 INFO Running …` are ignored). */
export function parsePgcopydbVersion(text: string): PgcopydbVersion | undefined {
  const m = /pgcopydb version (\d+)\.(\d+)/.exec(text);
  if (!m) return undefined;
  const compat = /compatible with Postgres ([\d ,and]+)/.exec(text);
  const serverMajors = compat ? [...compat[1].matchAll(/\d+/g)].map((x) => Number(x[0])) : [];
  return { version: `${m[1]}.${m[2]}`, major: Number(m[1]), minor: Number(m[2]), serverMajors };
}

/** Options this pgcopydb has, read from `pgcopydb clone --help` (feature detection beats version arithmetic). */
export interface PgcopydbFeatures {
  /** `--split-tables-larger-than` (same-table concurrency). */
  split: boolean;
  /** `--filters <file>`. */
  filters: boolean;
  /** `--skip-extensions`. */
  skipExtensions: boolean;
}

export function pgcopydbFeatures(cloneHelp: string): PgcopydbFeatures {
  return {
    split: cloneHelp.includes('--split-tables-larger-than'),
    filters: cloneHelp.includes('--filters'),
    skipExtensions: cloneHelp.includes('--skip-extensions'),
  };
}

/**
 * Why this pgcopydb cannot copy between these servers (exit 2 before any write), or undefined. pgcopydb links libpq and
 * parses the catalogs of the majors it was built for; a server outside its "compatible with" list is refused.
 */
export function pgcopydbRefusal(v: PgcopydbVersion, srcMajor: number, dstMajor: number): string | undefined {
  const missing = [srcMajor, dstMajor].filter((m) => v.serverMajors.length && !v.serverMajors.includes(m));
  if (!missing.length) return undefined;
  return `pgcopydb ${v.version} supports PostgreSQL ${v.serverMajors.join(', ')} only, but the ${missing.includes(srcMajor) ? `source is ${srcMajor}` : ''}${missing.includes(srcMajor) && missing.includes(dstMajor) ? ' and the ' : ''}${missing.includes(dstMajor) ? `target is ${dstMajor}` : ''}; use COPY_ENGINE=pg_dump, or install a newer pgcopydb (build Debian's newer source package, as scripts/bootstrap.sh builds pgvector)`;
}

/** What the installed pgcopydb is and can do, or undefined when it is not installed (read-only: runs `--version`, `clone --help`). */
export function probePgcopydb(
  bin = resolveOnPath('pgcopydb'),
): { bin: string; version: PgcopydbVersion; features: PgcopydbFeatures } | undefined {
  if (!bin) return undefined;
  const run = (args: string[]) => {
    const r = spawnSync(bin, args, {
      encoding: 'utf8',
      timeout: 10_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' },
    });
    return `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  };
  const version = parsePgcopydbVersion(run(['--version']));
  return version ? { bin, version, features: pgcopydbFeatures(run(['clone', '--help'])) } : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Connection strings and the passfile

/** The DSN as a URI WITHOUT its password, the session `settings` appended to its `options` (`-c k=v`). */
export function pgcopydbUri(d: Dsn, settings: Array<[string, string]> = []): string {
  const params = { ...d.params };
  delete params.passfile;
  const ours = settings.map(([k, v]) => `-c ${k}=${v}`).join(' ');
  if (ours) params.options = params.options ? `${params.options} ${ours}` : ours;
  return formatUrl({ ...d, password: undefined, params });
}

/** One field of a passfile line: `\` and `:` escaped (the libpq manual, "The Password File"). */
function passField(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

/**
 * The passfile text for `dsns` (those with a password): `host:port:db:user:password` lines. A unix-socket host is
 * written as `localhost` too (libpq matches socket connections against `localhost`).
 */
export function passfileText(dsns: readonly Dsn[]): string {
  const lines: string[] = [];
  for (const d of dsns) {
    if (d.password === undefined) continue;
    const host = d.params.hostaddr && !d.host ? d.params.hostaddr : (d.host ?? 'localhost');
    const hosts = host.startsWith('/') ? [host, 'localhost'] : [host];
    for (const h of hosts)
      lines.push([h, String(d.port), d.database, d.user ?? '*', d.password].map(passField).join(':'));
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}

// ---------------------------------------------------------------------------------------------------------------
// The command

/** Everything one pgcopydb run needs besides the files it writes. */
export interface PgcopydbPlan {
  /** `clone` and its options: never a secret, never a connection string. */
  args: string[];
  /** PGCOPYDB_SOURCE_PGURI, PGCOPYDB_TARGET_PGURI (no password), PGPASSFILE, PGCONNECT_TIMEOUT. */
  env: Record<string, string>;
  /** pgcopydb's --dir. */
  dir: string;
  passfile: string;
  /** The --filters file, when the filter plan has sections. */
  filtersFile?: string;
}

export interface PgcopydbOptions {
  /** Session settings of the target connections (lib/phases/restore-tuning.ts chooseRestoreSettings). */
  sessionSettings?: Array<[string, string]>;
  /** What the filter plan decided (`pgcopydbFilterPlan`); default: no filter. */
  filter?: Pick<FilterPlan, 'ini' | 'skipExtensions'>;
  /** Features of the installed pgcopydb; default: those of 0.10 (all three). */
  features?: PgcopydbFeatures;
  /** `--drop-if-exists`: drop the target's objects of the same names first (only after the DST_DROP_SCHEMA guards). */
  dropIfExists?: boolean;
}

/**
 * The `pgcopydb clone` command for `config` (COPY_JOBS, COPY_SPLIT_TABLES_MB) with its folder in `workDir`. Pure: the
 * caller writes the passfile and the filters file (`writePlanFiles`). Shape: see PgcopydbPlan.
 */
export function pgcopydbPlan(
  config: Pick<Config, 'src' | 'dst' | 'copyJobs' | 'copySplitTablesMb' | 'connectTimeoutMs'>,
  workDir: string,
  opts: PgcopydbOptions = {},
): PgcopydbPlan {
  if (!config.src) throw new PhaseError('restore', 'COPY_ENGINE=pgcopydb needs SRC_DATABASE_URL', EXIT.usage);
  const features = opts.features ?? { split: true, filters: true, skipExtensions: true };
  const dir = path.join(workDir, PGCOPYDB_DIR);
  // Beside --dir, not in it: `--restart` empties --dir, and libpq reads the passfile at every connection.
  const passfile = path.join(workDir, `${PGCOPYDB_DIR}.pgpass`);
  const jobs = String(config.copyJobs ?? 4);
  // --restart: a previous run's folder (a fixed WORK_DIR) is started over, never resumed half-way.
  const args = ['clone', `--dir=${dir}`, `--table-jobs=${jobs}`, `--index-jobs=${jobs}`, '--no-owner', '--no-acl'];
  args.push('--restart');
  if (config.copySplitTablesMb && features.split) args.push(`--split-tables-larger-than=${config.copySplitTablesMb}MB`);
  const filtersFile =
    opts.filter?.ini && features.filters ? path.join(workDir, `${PGCOPYDB_DIR}-filters.ini`) : undefined;
  if (filtersFile) args.push(`--filters=${filtersFile}`);
  if (opts.filter?.skipExtensions && features.skipExtensions) args.push('--skip-extensions');
  if (opts.dropIfExists) args.push('--drop-if-exists');
  const env = {
    PGCOPYDB_SOURCE_PGURI: pgcopydbUri(config.src),
    PGCOPYDB_TARGET_PGURI: pgcopydbUri(config.dst, opts.sessionSettings),
    PGPASSFILE: passfile,
    PGCONNECT_TIMEOUT: String(Math.max(2, Math.ceil((config.connectTimeoutMs ?? 10_000) / 1000))),
  };
  return { args, env, dir, passfile, filtersFile };
}

/** The command as the log shows it: the URIs (no password in them) as variables, then the arguments. */
export function displayPgcopydb(plan: PgcopydbPlan): string {
  const env = ['PGCOPYDB_SOURCE_PGURI', 'PGCOPYDB_TARGET_PGURI', 'PGPASSFILE'].map((k) => `${k}='${plan.env[k]}'`);
  return redact([...env, 'pgcopydb', ...plan.args].join(' '));
}

// ---------------------------------------------------------------------------------------------------------------
// The TOC filter's equivalent

/** What the source and target say that the filter decides on (read by `readFilterFacts`). */
export interface FilterFacts {
  /** Foreign servers, user mappings and subscriptions of the source database (names). */
  outward: Array<{ kind: 'foreign server' | 'user mapping' | 'subscription'; name: string }>;
  /** Extensions of the source database (name). */
  sourceExtensions: string[];
  /** Extensions already installed in the target database. */
  targetExtensions: string[];
  /** The target role is a superuser (may CREATE EXTENSION of any kind). */
  targetSuperuser: boolean;
}

/** The filter pgcopydb gets, or why it cannot copy this pair as the default path would. */
export interface FilterPlan {
  /** The --filters ini text, or undefined when nothing is filtered by table/schema. */
  ini?: string;
  /** `--skip-extensions`: the target has every extension already (a managed target: not superuser). */
  skipExtensions: boolean;
  /** Exit-2 refusal: what pgcopydb cannot leave out; undefined when the copy may run. */
  refusal?: string;
  /** One line per decision, for the log and the phase evidence. */
  lines: string[];
}

/**
 * The equivalent of the default path's TOC filter (lib/phases/toc-filter.ts, lib/phases/isolation.ts) for pgcopydb:
 * - extensions: a target role that is not a superuser cannot run the superuser-only `CREATE EXTENSION` entries; when
 *   the target already has every source extension they are skipped (`--skip-extensions`, the default path's
 *   "extension already installed" rule); when one is missing the copy is refused (install it on the target first);
 * - isolation (ISOLATION=detach): pgcopydb 0.10's filters know schemas, tables, indexes and table data only, so a
 *   user mapping, subscription or foreign server would be copied as is, wiring staging to production. Such a source is
 *   refused (COPY_ENGINE=pg_dump leaves them out or points them nowhere; ISOLATION=keep copies them on purpose).
 * `excludeSchemas` become the ini's `[exclude-schema]` section.
 */
export function pgcopydbFilterPlan(
  facts: FilterFacts,
  config: Pick<Config, 'isolation'>,
  excludeSchemas: readonly string[] = [],
): FilterPlan {
  const lines: string[] = [];
  const refusals: string[] = [];
  const missing = facts.sourceExtensions.filter((e) => e !== 'plpgsql' && !facts.targetExtensions.includes(e));
  const skipExtensions = !facts.targetSuperuser && missing.length === 0;
  if (skipExtensions) lines.push('extensions: the target has every source extension; --skip-extensions');
  if (!facts.targetSuperuser && missing.length)
    refusals.push(
      `the target role is not a superuser and the target lacks extension(s) ${missing.join(', ')}; install them on the target first`,
    );
  if (config.isolation !== 'keep' && facts.outward.length) {
    const names = facts.outward.map((o) => `${o.kind} ${o.name}`).join(', ');
    refusals.push(
      `the source has ${names}; pgcopydb cannot leave these out or detach them (its filters know schemas and tables only), so staging would be wired to the servers they name: use COPY_ENGINE=pg_dump (ISOLATION=detach works there) or ISOLATION=keep`,
    );
  }
  const ini = excludeSchemas.length ? `[exclude-schema]\n${excludeSchemas.join('\n')}\n` : undefined;
  if (ini) lines.push(`filters: schemas left out: ${excludeSchemas.join(', ')}`);
  const refusal = refusals.length ? `COPY_ENGINE=pgcopydb refused: ${refusals.join('; ')}` : undefined;
  return { ini, skipExtensions, refusal, lines };
}

/** The SQL reading one side's FilterFacts parts (one row; arrays as text[]). */
export const FILTER_FACTS_SQL = `SELECT
  ARRAY(SELECT 'foreign server:' || srvname FROM pg_foreign_server
        UNION ALL SELECT 'user mapping:' || usename || ' SERVER ' || srvname FROM pg_user_mappings
        UNION ALL SELECT 'subscription:' || subname FROM pg_subscription
          WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())) AS outward,
  ARRAY(SELECT extname FROM pg_extension ORDER BY 1)::text[] AS extensions,
  (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser`;

/** Read FilterFacts with `query` (source first, then target; e.g. lib/core/db.ts pools). */
export async function readFilterFacts(
  querySrc: (sql: string) => Promise<{ rows: Array<Record<string, unknown>> }>,
  queryDst: (sql: string) => Promise<{ rows: Array<Record<string, unknown>> }>,
): Promise<FilterFacts> {
  const [s, d] = await Promise.all([querySrc(FILTER_FACTS_SQL), queryDst(FILTER_FACTS_SQL)]);
  const src = s.rows[0] as { outward: string[]; extensions: string[] };
  const dst = d.rows[0] as { extensions: string[]; superuser: boolean };
  return {
    outward: src.outward.map((o) => {
      const i = o.indexOf(':');
      return { kind: o.slice(0, i) as FilterFacts['outward'][number]['kind'], name: o.slice(i + 1) };
    }),
    sourceExtensions: src.extensions,
    targetExtensions: dst.extensions,
    targetSuperuser: dst.superuser,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Progress

/** What the copy has done so far, from pgcopydb's log lines. */
export interface PgcopydbProgress {
  /** The last `STEP n:` seen (pgcopydb 0.10 numbers 10 steps, several run at once), 0 before the first. */
  step: number;
  stepText: string;
  /** Tables pgcopydb found to copy ("Fetched information for N tables"), when known. */
  tables?: number;
  /** COPY statements started: one per table, one per part of a split table. */
  copiesStarted: number;
  /** Extra COPY statements of split tables ("Table … is 6712 kB large, 7 COPY processes will be used": 6 extra). */
  extraParts: number;
  /** CREATE INDEX statements started. */
  indexesStarted: number;
}

export function emptyProgress(): PgcopydbProgress {
  return { step: 0, stepText: '', copiesStarted: 0, extraParts: 0, indexesStarted: 0 };
}

/**
 * Fold one pgcopydb log line (`HH:MM:SS pid LEVEL message`) into `p` (mutated and returned); whether the line changed
 * the progress is `changed`. Lines it does not know leave `p` as it was.
 */
export function parsePgcopydbLine(line: string, p: PgcopydbProgress): { progress: PgcopydbProgress; changed: boolean } {
  const msg = line.replace(/^\d\d:\d\d:\d\d\s+\d+\s+[A-Z]+\s+/, '');
  let m: RegExpExecArray | null;
  if ((m = /^STEP (\d+): (.*)$/.exec(msg))) {
    p.step = Number(m[1]);
    p.stepText = m[2];
  } else if ((m = /^Fetched information for (\d+) tables/.exec(msg))) p.tables = Number(m[1]);
  else if ((m = /^Table .* (\d+) COPY processes will be used/.exec(msg))) p.extraParts += Number(m[1]) - 1;
  else if (/^COPY ("|\(SELECT )/.test(msg)) p.copiesStarted++;
  else if (/^CREATE (UNIQUE )?INDEX /.test(msg)) p.indexesStarted++;
  else return { progress: p, changed: false };
  return { progress: p, changed: true };
}

/** One progress line: `step 4/10 (copy data …), COPY 3/7 started, 2 indexes started` (split parts count as COPYs). */
export function progressLine(p: PgcopydbProgress): string {
  const planned = p.tables !== undefined ? `/${p.tables + p.extraParts}` : '';
  const tables = `COPY ${p.copiesStarted}${planned} started`;
  return `step ${p.step}/10${p.stepText ? ` (${p.stepText})` : ''}, ${tables}, ${p.indexesStarted} indexes started`;
}

// ---------------------------------------------------------------------------------------------------------------
// Running

/** A finished (or stopped) pgcopydb run: what every engine records (./process-group.ts), and its progress. */
export interface PgcopydbResult extends EngineExit {
  progress: PgcopydbProgress;
}

/** A running copy: `result` settles when pgcopydb and every process of its group have ended. */
export type PgcopydbRun = EngineRun<PgcopydbResult>;

export interface RunPgcopydbOptions {
  /** The executable; default `pgcopydb` on PATH. */
  bin?: string;
  /** Each raw line, redacted (for the phase log). */
  onLine?: (line: string) => void;
  /** Called when the progress changed. */
  onProgress?: (p: PgcopydbProgress) => void;
  /** The filters file's text (FilterPlan.ini) when the plan has a filtersFile. */
  filtersIni?: string;
}

/** Write the plan's passfile (0600) and filters file beside its --dir (the folder is created 0700). */
export function writePlanFiles(plan: PgcopydbPlan, dsns: readonly Dsn[], filtersIni?: string): void {
  mkdirPrivate(path.dirname(plan.passfile));
  fs.writeFileSync(plan.passfile, passfileText(dsns), { mode: 0o600 });
  fs.chmodSync(plan.passfile, 0o600);
  if (plan.filtersFile) fs.writeFileSync(plan.filtersFile, filtersIni ?? '', { mode: 0o600 });
}

/**
 * Start `pgcopydb clone` as planned (the passfile written first, removed when the run ends). Resolves nothing itself:
 * `result` settles with the exit code, the parsed progress and the output tail once no process of the run is left.
 * Throws PhaseError (exit 2) when pgcopydb is not installed.
 */
export function startPgcopydb(plan: PgcopydbPlan, dsns: readonly Dsn[], opts: RunPgcopydbOptions = {}): PgcopydbRun {
  const bin = opts.bin ?? resolveOnPath('pgcopydb');
  if (!bin)
    throw new PhaseError(
      'restore',
      'COPY_ENGINE=pgcopydb but pgcopydb is not installed (apt-get install pgcopydb; scripts/bootstrap.sh installs it)',
      EXIT.usage,
    );
  writePlanFiles(plan, dsns, opts.filtersIni);
  const progress = emptyProgress();
  return startEngine(bin, plan.args, {
    env: plan.env,
    onLine(raw) {
      const line = redact(raw);
      opts.onLine?.(line);
      if (parsePgcopydbLine(line, progress).changed) opts.onProgress?.(progress);
      return line;
    },
    cleanup: () => fs.rmSync(plan.passfile, { force: true }),
    finish: (exit) => ({ ...exit, progress }),
  });
}

/**
 * Run the copy to its end: the not-atomic line first (through `say`), progress lines through `say`, every output line
 * into `log`. Returns the result on exit 0; throws PhaseError (exit 3) naming the exit code, the state the target is
 * left in (partial) and the output tail.
 */
export async function runPgcopydb(
  plan: PgcopydbPlan,
  dsns: readonly Dsn[],
  io: {
    say(line: string): void;
    log?: (line: string) => void;
    filtersIni?: string;
    bin?: string;
  },
): Promise<PgcopydbResult> {
  io.say(PGCOPYDB_NOT_ATOMIC);
  io.say(displayPgcopydb(plan));
  let lastStep = -1;
  let lastAt = 0;
  const run = startPgcopydb(plan, dsns, {
    bin: io.bin,
    filtersIni: io.filtersIni,
    onLine: io.log,
    // A line when the step changes, else at most one every 2 s.
    onProgress(p) {
      if (p.step === lastStep && Date.now() - lastAt < 2000) return;
      io.say(`progress: ${progressLine(p)}`);
      lastStep = p.step;
      lastAt = Date.now();
    },
  });
  const r = await run.result;
  if (r.code === 0) {
    io.say(`done: ${progressLine(r.progress)} in ${r.durationMs} ms`);
    return r;
  }
  const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
  throw new PhaseError(
    'restore',
    `pgcopydb ${how} at ${progressLine(r.progress)}; the target is PARTIALLY copied (pgcopydb is not atomic): fix the cause and rerun with DST_DROP_SCHEMA\n  output (last lines):\n    ${r.tail.join('\n    ')}`,
    EXIT.phaseFailed,
    { toolExitCode: r.code ?? undefined },
  );
}
