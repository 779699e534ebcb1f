/**
 * Which installed PostgreSQL client directory suits servers of given majors: the one rule both the copy phases
 * (lib/phases/client-tools.ts: pg_dump for the source, pg_restore/psql for the target) and the dump-based schema
 * check (lib/checks/families/schema-parity/dump-schema.ts: one pg_dump for both sides) choose by. Generic: it knows
 * no phase and builds no command line (a client's version is read with lib/core/tools.ts `toolVersion`).
 *
 * The rule is PostgreSQL's own compatibility promise (the pg_dump manual): "pg_dump cannot dump from PostgreSQL servers
 * newer than its own major version", so a client reads servers of its major and older; among those that do, the
 * smallest major is preferred (a newer pg_dump may emit what an older release never wrote: seen, pg_dump 17.11 dumping
 * a per-column option of a 15.20 server that 17 then rejects).
 */
import fs from 'node:fs';
import path from 'node:path';
import { MAJORS_CACHE_DIR } from './majors-cache.ts';
import { toolVersion } from './tools.ts';

/** The client tools a directory may hold. */
export type PgClientTool = 'pg_dump' | 'pg_restore' | 'psql';

/** One directory holding PostgreSQL client tools, with the major of its clients. */
export interface ClientDir {
  dir: string;
  major: number;
  /** Full version, e.g. "15.20". */
  version: string;
}

/**
 * Directories that may hold client tools, in the order they are preferred for equal majors: `first` (configured
 * directories), Debian's /usr/lib/postgresql/N/bin, PGDG's /usr/pgsql-N/bin, the project's cache of built clients,
 * then each directory of `pathEnv` (omit it to leave PATH out). Reads directory listings only.
 */
export function clientDirCandidates(opts: { first?: Array<string | undefined>; pathEnv?: string } = {}): string[] {
  const out: string[] = (opts.first ?? []).filter((d): d is string => !!d);
  const globMajors = (base: string, pattern: RegExp, sub: (name: string) => string) => {
    if (!fs.existsSync(base)) return;
    for (const name of fs.readdirSync(base).filter((n) => pattern.test(n))) out.push(sub(name));
  };
  globMajors('/usr/lib/postgresql', /^\d+$/, (n) => path.join('/usr/lib/postgresql', n, 'bin'));
  globMajors('/usr', /^pgsql-\d+$/, (n) => path.join('/usr', n, 'bin'));
  globMajors(path.join(MAJORS_CACHE_DIR, 'client'), /^\d+$/, (n) => path.join(MAJORS_CACHE_DIR, 'client', n, 'bin'));
  for (const d of (opts.pathEnv ?? '').split(':')) if (d) out.push(d);
  return [...new Set(out)];
}

/**
 * The directories of `dirs` that really hold every tool of `tools`, with the version of `tools[0]` (`--version`):
 * directories without one, or whose version cannot be read, are left out, and so is a version seen before (Debian's /usr/bin/pg_restore is a wrapper for the newest
 * /usr/lib/postgresql/N/bin, listed earlier: that one is kept).
 */
export async function installedClientDirs(
  dirs: readonly string[],
  tools: readonly PgClientTool[] = ['pg_restore', 'pg_dump', 'psql'],
): Promise<ClientDir[]> {
  const out: ClientDir[] = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    if (!tools.every((t) => fs.existsSync(path.join(dir, t)))) continue;
    const v = await toolVersion(tools[0], path.join(dir, tools[0]));
    if (!v || !v.major || seen.has(v.version)) continue;
    seen.add(v.version);
    out.push({ dir, major: v.major, version: v.version });
  }
  return out;
}

/**
 * The client of `dirs` that reads servers of every major in `serverMajors`: the smallest major ≥ the largest server
 * major; a directory of `preferred` (a configured one) wins when it reads them too. Undefined when none does. Pure.
 */
export function clientForMajors(
  dirs: readonly ClientDir[],
  serverMajors: readonly number[],
  preferred: ReadonlyArray<string | undefined> = [],
): ClientDir | undefined {
  const need = Math.max(...serverMajors);
  const reading = dirs.filter((d) => d.major >= need);
  return reading.find((d) => preferred.includes(d.dir)) ?? [...reading].sort((a, b) => a.major - b.major)[0];
}

/**
 * Pick directories for the dump and for the restore among `dirs`, for a source of major `srcMajor` (undefined: no
 * dump) and a target of major `dstMajor` (undefined: unknown). Pure.
 * Dump: `clientForMajors` of the source. Restore: a major in [dump major (or the archive's), dstMajor] (pg_restore
 * must read the archive and must not be newer than the target: its output is written for its own major), the dump's
 * own directory first, else the newest that fits.
 */
export function pickClientDirs(
  dirs: readonly ClientDir[],
  want: { srcMajor?: number; dstMajor?: number; archiveMajor?: number },
): { dump?: ClientDir; restore?: ClientDir } {
  const dump = want.srcMajor === undefined ? undefined : clientForMajors(dirs, [want.srcMajor]);
  const floor = dump?.major ?? want.archiveMajor ?? 0;
  const fits = (d: ClientDir) => d.major >= floor && (want.dstMajor === undefined || d.major <= want.dstMajor);
  const newestFirst = [...dirs].sort((a, b) => a.major - b.major).reverse();
  const restore = dump && fits(dump) ? dump : newestFirst.find(fits);
  return { dump, restore };
}

/** Major of a server from server_version_num (150020 → 15; 90624 → 9.6). */
export function serverMajor(versionNum: number): number {
  return versionNum >= 100000
    ? Math.floor(versionNum / 10000)
    : Number(`${Math.floor(versionNum / 10000)}.${Math.floor(versionNum / 100) % 100}`);
}
