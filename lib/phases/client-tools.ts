/**
 * Which pg_dump / pg_restore / psql run, chosen against the two servers' majors: the version matrix as a rule, not as
 * whatever Debian's wrapper on PATH happens to pick (it picks the newest installed client).
 *
 * The rules (PostgreSQL's own compatibility promises, see the pg_dump and pg_restore manuals):
 * - pg_dump must be of the source's major or newer ("pg_dump cannot dump from PostgreSQL servers newer than its own
 *   major version"); the same major is preferred: a newer pg_dump may emit what an older release never wrote (seen:
 *   pg_dump 17.11 dumping a per-column option of a 15.20 server that 17 then rejects).
 * - pg_restore must read the archive (its major ≥ pg_dump's) and must not be newer than the target: its output is
 *   written for its own major (pg_restore 17+ always sends `SET transaction_timeout`, which servers before 17 reject).
 * - psql runs with pg_restore (DST_PG_BIN_DIR names both); it only forwards pg_restore's SQL.
 * - The target must not be older than the source: "pg_dump's output can be expected to load into server versions
 *   newer than pg_dump's version", never older. A downgrade is refused.
 *
 * Settings: PG_BIN_DIR (both sides), SRC_PG_BIN_DIR (pg_dump), DST_PG_BIN_DIR (pg_restore, psql). Unset: the
 * installed client directories are searched (Debian's /usr/lib/postgresql/N/bin, PGDG's /usr/pgsql-N/bin, the
 * project's cache of built clients, PATH) and the fitting major is taken: the matrix rule itself (which installed
 * client suits which majors) is lib/core/pg-clients.ts, shared with the dump-based schema check.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.ts';
import { clientDirCandidates, installedClientDirs, pickClientDirs, type PgClientTool } from '../core/pg-clients.ts';
import { setToolBinary, toolVersion, type Command } from '../core/tools.ts';

/** The PostgreSQL client tools the copy phases run. */
export type PgTool = PgClientTool;
export { serverMajor } from '../core/pg-clients.ts';

/** A chosen tool: the executable's full path and its full version. */
export interface ChosenTool {
  tool: PgTool;
  file: string;
  version: string;
  major: number;
}

export interface ToolChoice {
  tools: Partial<Record<PgTool, ChosenTool>>;
  /** Refusals, each with the fix (package or setting). */
  problems: string[];
  notes: string[];
}

/** The package that brings client tools of `major` (Debian/Ubuntu; PGDG on RHEL names them postgresqlN). */
export function clientPackage(major: number): string {
  return `postgresql-client-${major}`;
}

async function describeDir(dir: string, tool: PgTool): Promise<ChosenTool | undefined> {
  const file = path.join(dir, tool);
  if (!fs.existsSync(file)) return undefined;
  const v = await toolVersion(tool, file);
  return v && { tool, file, version: v.version, major: v.major };
}

/** What the client-tool choice needs to know: the servers' and the archive's majors, and the tools the phases run. */
type ToolWant = { srcMajor?: number; dstMajor?: number; archiveMajor?: number; needed: PgTool[] };

/** The choice being made: the tools chosen so far, the problems and the notes. */
type ToolChoiceDraft = { tools: ToolChoice['tools']; problems: string[]; notes: string[] };

/**
 * Choose and check the client tools for this run; `setToolBinary` is called for each chosen tool so every later
 * command of the process runs exactly these. `needed` says which tools the planned phases run.
 */
export async function chooseClientTools(
  config: Pick<Config, 'pgBinDir' | 'srcPgBinDir' | 'dstPgBinDir'>,
  want: ToolWant,
): Promise<ToolChoice> {
  const choice: ToolChoiceDraft = { tools: {}, problems: [], notes: [] };
  const needDump = want.needed.includes('pg_dump');
  const needRestore = want.needed.includes('pg_restore') || want.needed.includes('psql');
  const srcDir = config.srcPgBinDir ?? config.pgBinDir;
  const dstDir = config.dstPgBinDir ?? config.pgBinDir;
  const searching = (!srcDir && needDump) || (!dstDir && needRestore);
  const installed = searching ? await installedClientDirs(clientDirCandidates({ pathEnv: process.env.PATH })) : [];
  const picked = pickClientDirs(installed, {
    srcMajor: needDump ? want.srcMajor : undefined,
    dstMajor: want.dstMajor,
    archiveMajor: want.archiveMajor,
  });
  if (want.srcMajor !== undefined && want.dstMajor !== undefined && want.dstMajor < want.srcMajor) {
    choice.problems.push(
      `the target runs PostgreSQL ${want.dstMajor}, older than the source's ${want.srcMajor}: a downgrade is not supported (pg_dump output only loads into the same or a newer major); rehearse against a staging server of PostgreSQL ${want.srcMajor} or newer`,
    );
  }
  if (needDump) await chooseDumpTool(config, want, srcDir ?? picked.dump?.dir, choice);
  if (needRestore) await chooseRestoreTools(config, want, dstDir ?? picked.restore?.dir, choice);
  for (const t of Object.values(choice.tools)) setToolBinary(t.tool as Command['tool'], t.file);
  return choice;
}

/** pg_dump from `dir` (set, or picked by major): it must exist and not be older than the source server. */
async function chooseDumpTool(
  config: Pick<Config, 'pgBinDir' | 'srcPgBinDir'>,
  want: ToolWant,
  dir: string | undefined,
  { tools, problems, notes }: ToolChoiceDraft,
): Promise<void> {
  const setting = config.srcPgBinDir ? 'SRC_PG_BIN_DIR' : config.pgBinDir ? 'PG_BIN_DIR' : undefined;
  const t = dir ? await describeDir(dir, 'pg_dump') : undefined;
  if (!t && want.srcMajor === undefined && !setting) {
    // The source was not reachable (its own problem line says so): no major to choose a pg_dump for.
  } else if (!t) {
    problems.push(
      setting
        ? `${setting}=${dir} holds no working pg_dump; point it at a PostgreSQL client bin directory (e.g. /usr/lib/postgresql/${want.srcMajor ?? 'N'}/bin)`
        : `no installed pg_dump can dump a PostgreSQL ${want.srcMajor ?? '?'} source; install ${clientPackage(want.srcMajor ?? 15)} (or set SRC_PG_BIN_DIR to a client of major ${want.srcMajor ?? 'N'} or newer)`,
    );
  } else {
    tools.pg_dump = t;
    if (want.srcMajor !== undefined && t.major < want.srcMajor) {
      problems.push(
        `pg_dump ${t.version} (${t.file}) is older than the source server's major ${want.srcMajor}; pg_dump refuses newer servers: install ${clientPackage(want.srcMajor)} and set ${setting ?? 'SRC_PG_BIN_DIR'}=/usr/lib/postgresql/${want.srcMajor}/bin`,
      );
    } else if (want.srcMajor !== undefined && t.major > want.srcMajor) {
      notes.push(
        `pg_dump ${t.version} is newer than the source's major ${want.srcMajor}; if the restore rejects an option it wrote, use a client of major ${want.srcMajor} (SRC_PG_BIN_DIR)`,
      );
    }
  }
}

/** pg_restore and psql from `dir` (set, or picked by major): they must read the archive and not outrun the target. */
async function chooseRestoreTools(
  config: Pick<Config, 'pgBinDir' | 'dstPgBinDir'>,
  want: ToolWant,
  dir: string | undefined,
  { tools, problems }: ToolChoiceDraft,
): Promise<void> {
  const setting = config.dstPgBinDir ? 'DST_PG_BIN_DIR' : config.pgBinDir ? 'PG_BIN_DIR' : undefined;
  const restore = dir ? await describeDir(dir, 'pg_restore') : undefined;
  const psql = dir ? await describeDir(dir, 'psql') : undefined;
  const floor = tools.pg_dump?.major ?? want.archiveMajor;
  if (!restore || !psql) {
    const range =
      want.dstMajor !== undefined && floor !== undefined && floor <= want.dstMajor
        ? floor === want.dstMajor
          ? `${floor}`
          : `${floor}..${want.dstMajor}`
        : `${want.dstMajor ?? floor ?? 'N'}`;
    problems.push(
      setting
        ? `${setting}=${dir} holds no working ${!restore ? 'pg_restore' : 'psql'}; point it at a PostgreSQL client bin directory`
        : `no installed pg_restore/psql fits: it must read the archive${floor !== undefined ? ` (major ≥ ${floor})` : ''} and not be newer than the target${want.dstMajor !== undefined ? ` (major ≤ ${want.dstMajor})` : ''}; install ${clientPackage(Number(range.split('..').pop()) || 15)} (a client of major ${range}) and set DST_PG_BIN_DIR to its bin directory`,
    );
  } else {
    tools.pg_restore = restore;
    tools.psql = psql;
    if (want.dstMajor !== undefined && restore.major > want.dstMajor) {
      problems.push(
        `pg_restore ${restore.version} (${restore.file}) is newer than the target's PostgreSQL ${want.dstMajor}: it writes SQL for ${restore.major}${restore.major >= 17 && want.dstMajor < 17 ? ' (`SET transaction_timeout`, which servers before 17 reject)' : ''}; install ${clientPackage(want.dstMajor)} and set ${setting ?? 'DST_PG_BIN_DIR'}=/usr/lib/postgresql/${want.dstMajor}/bin`,
      );
    }
    if (floor !== undefined && restore.major < floor) {
      problems.push(
        `pg_restore ${restore.version} (${restore.file}) is older than the pg_dump that writes the archive (${floor}) and cannot read it; use a client of major ${floor}${want.dstMajor !== undefined && want.dstMajor > floor ? `..${want.dstMajor}` : ''} (DST_PG_BIN_DIR)`,
      );
    }
  }
}
