/**
 * Dump phase: pg_dump the source into WORK_DIR (or take the existing SRC_DB_DUMP_PATH, already validated by
 * preflight), then record what the archive is: format, size, sha256 and its table of contents by entry type.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.ts';
import { withConnection } from '../core/db.ts';
import { EXIT, PhaseError } from '../core/errors.ts';
import { watchPhaseProgress } from './server-progress.ts';
import { Progress, byteLine, dumpedTable, fractionOf, phaseWriter, pollEvery, stdoutIsTty } from '../core/progress.ts';
import { formatBytes, formatDuration } from '../core/format.ts';
import { tableDataCountQuery, tableDataSizesQuery } from '../core/catalog.ts';
import type { RunState } from '../core/state.ts';
import { listFiles, sha256File } from '../core/files.ts';
import { displayCommand, type Command } from '../core/tools.ts';
import { dumpCommand, dumpOutputPath, pgDump, type ToolCtx } from './commands.ts';
import { pgRestoreList, pgRestoreReadAll } from './restore-commands.ts';
import type { PhaseCtx, PhaseOutcome } from './phase.ts';
import { TOC_TYPES } from './toc-filter.ts';
import { openPinned } from './pinned.ts';
import { mkdirPrivate } from '../core/files.ts';

export type ArchiveFormat = 'custom' | 'directory';

export interface ArchiveInfo {
  path: string;
  format: ArchiveFormat;
  /** TOC entries by type (`TABLE`, `TABLE DATA`, `INDEX`, `EXTENSION`, ...). */
  toc: Record<string, number>;
  entries: number;
  /** Schemas the archive creates or fills. */
  schemas: string[];
  /** Extensions the archive creates. */
  extensions: string[];
  /** The header's "Dumped from database version" (e.g. "13.23"), when present. */
  dumpedFrom?: string;
  /** The header's "Dumped by pg_dump version" (e.g. "15.20"), when present. */
  dumpedBy?: string;
}

/**
 * Parse `pg_restore --list`. An entry line is `<dumpId>; <catalogOid> <oid> <TYPE...> <schema|-> <name> <owner>`;
 * lines starting with `;` are the header.
 */
export function parseToc(text: string): Omit<ArchiveInfo, 'path' | 'format'> {
  const toc: Record<string, number> = {};
  const schemas = new Set<string>();
  const extensions = new Set<string>();
  let entries = 0;
  for (const line of text.split('\n')) {
    const m = /^\s*\d+;\s+\d+\s+\d+\s+(.*)$/.exec(line);
    if (!m) continue;
    entries++;
    const rest = m[1];
    const type = TOC_TYPES.find((t) => rest.startsWith(t + ' ')) ?? rest.split(' ')[0];
    toc[type] = (toc[type] ?? 0) + 1;
    const fields = rest.slice(type.length).trim().split(/\s+/);
    const schema = fields[0];
    if (type === 'SCHEMA' && fields[1]) schemas.add(fields[1]);
    else if (schema && schema !== '-' && type !== 'COMMENT' && type !== 'ACL') schemas.add(schema);
    if (type === 'EXTENSION' && fields[1]) extensions.add(fields[1]);
  }
  const header = (label: string) => new RegExp(`^;\\s+${label}:\\s*(\\d+(?:\\.\\d+)*)`, 'm').exec(text)?.[1];
  return {
    toc,
    entries,
    schemas: [...schemas].sort(),
    extensions: [...extensions].sort(),
    dumpedFrom: header('Dumped from database version'),
    dumpedBy: header('Dumped by pg_dump version'),
  };
}

/** Is `p` a custom-format file or a directory-format dump? Throws PhaseError with the fix when it is neither. */
export function detectArchive(p: string, phase: 'preflight' | 'dump'): ArchiveFormat {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new PhaseError(
      phase,
      `SRC_DB_DUMP_PATH=${p} does not exist; point it at a pg_dump archive (custom format: a file; directory format: a directory) or unset it to dump SRC_DATABASE_URL`,
      EXIT.usage,
    );
  }
  if (st.isDirectory()) {
    if (!fs.existsSync(path.join(p, 'toc.dat'))) {
      throw new PhaseError(
        phase,
        `SRC_DB_DUMP_PATH=${p} is a directory without toc.dat, so not a directory-format pg_dump archive; make one with pg_dump --format=directory`,
        EXIT.usage,
      );
    }
    return 'directory';
  }
  const head = Buffer.alloc(5);
  const fd = fs.openSync(p, 'r');
  try {
    fs.readSync(fd, head, 0, 5, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (head.toString('latin1') !== 'PGDMP') {
    const plain = head.toString('latin1').startsWith('--');
    throw new PhaseError(
      phase,
      plain
        ? `SRC_DB_DUMP_PATH=${p} is a plain SQL dump; the rehearsal restores archives only: make one with pg_dump --format=custom (or directory)`
        : `SRC_DB_DUMP_PATH=${p} is not a custom-format pg_dump archive (no PGDMP header; truncated or corrupt?); make a new dump with pg_dump --format=custom`,
      EXIT.usage,
    );
  }
  return 'custom';
}

/**
 * Format check + `pg_restore --list`. With `deep`, also `pg_restore --file=/dev/null`: the TOC sits at the start of a
 * custom-format file, so a dump truncated in its data passes --list; rendering it reads every byte (no database
 * involved), so a damaged archive is refused before the target is touched.
 */
export async function inspectArchive(
  p: string,
  ctx: ToolCtx & { phase: 'preflight' | 'dump'; deep?: boolean },
): Promise<ArchiveInfo> {
  const format = detectArchive(p, ctx.phase);
  const exitCode = ctx.phase === 'preflight' ? EXIT.usage : EXIT.phaseFailed;
  const { toc } = await pgRestoreList(p, { ...ctx, exitCode });
  if (ctx.deep) await pgRestoreReadAll(p, { ...ctx, exitCode });
  return { path: p, format, ...parseToc(toc) };
}

/**
 * sha256 of an archive. For a directory: the sha256 of its `sha256sum`-style listing (`<hash>  <relative path>` per
 * file, sorted by path), so the value is stable and can be recomputed with `sha256sum $(find . -type f | sort)`.
 */
export async function archiveDigest(
  p: string,
  format: ArchiveFormat,
): Promise<{ sha256: string; bytes: number; files: number }> {
  if (format === 'custom') return { sha256: await sha256File(p), bytes: fs.statSync(p).size, files: 1 };
  const files = listFiles(p);
  let bytes = 0;
  let listing = '';
  for (const f of files) {
    bytes += fs.statSync(path.join(p, f)).size;
    listing += `${await sha256File(path.join(p, f))}  ${f}\n`;
  }
  return { sha256: createHash('sha256').update(listing).digest('hex'), bytes, files: files.length };
}

function recordDump(
  state: RunState,
  info: ArchiveInfo,
  digest: { sha256: string; bytes: number; files: number },
  provided: boolean,
) {
  state.dump = {
    path: info.path,
    format: info.format,
    sha256: digest.sha256,
    toc: info.toc,
    bytes: digest.bytes,
    provided,
    sha256Of: info.format === 'custom' ? 'file' : 'file-list',
    files: digest.files,
    entries: info.entries,
  };
}

function summary(info: ArchiveInfo, digest: { sha256: string; bytes: number }): string {
  const tables = info.toc['TABLE'] ?? 0;
  const data = info.toc['TABLE DATA'] ?? 0;
  // Objects that connect staging to other servers (or let others connect) are counted where everyone reads them.
  const links = `${info.toc['PUBLICATION'] ?? 0} publications, ${info.toc['SUBSCRIPTION'] ?? 0} subscriptions, ${(info.toc['SERVER'] ?? 0) + (info.toc['FOREIGN SERVER'] ?? 0)} foreign servers, ${info.toc['USER MAPPING'] ?? 0} user mappings`;
  return `${info.format} archive ${info.path}: ${info.entries} TOC entries (${tables} tables, ${data} table data; ${links}), ${digest.bytes} bytes, sha256 ${digest.sha256.slice(0, 16)}…`;
}

/**
 * The progress total of the dump: tables with data in the source catalog (one cheap query). Unknown (undefined) when
 * the query fails: progress then counts without a total and pg_dump reports the real problem.
 */
async function tablesToDump(config: Config): Promise<number | undefined> {
  if (!config.src) return undefined;
  try {
    // node-postgres honours a per-query client-side timeout: a source that stops answering cannot hold the dump.
    const q = { ...tableDataCountQuery(), query_timeout: 30_000 };
    return await withConnection(config.src, async (c) => Number((await c.query(q)).rows[0].n), {
      connectTimeoutMs: config.connectTimeoutMs,
    });
  } catch {
    return undefined;
  }
}

/** Sizes of the tables pg_dump dumps, by `schema.table`; undefined when the source cannot say (progress then counts). */
export async function tableSizes(config: Config): Promise<Map<string, number> | undefined> {
  if (!config.src) return undefined;
  try {
    const q = { ...tableDataSizesQuery(), query_timeout: 30_000 };
    return await withConnection(
      config.src,
      async (c) => {
        // pg_table_size takes a share lock: never queue behind an application's lock (progress then counts tables).
        await c.query("SET lock_timeout = '500ms'");
        return new Map((await c.query<{ name: string; bytes: string }>(q)).rows.map((r) => [r.name, Number(r.bytes)]));
      },
      { connectTimeoutMs: config.connectTimeoutMs },
    );
  } catch {
    return undefined;
  }
}

/** Bytes of a file, or of every file under a directory (a directory-format dump); 0 when missing. */
export function pathBytes(p: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of fs.readdirSync(p)) n += pathBytes(path.join(p, e));
  return n;
}

/**
 * One dump progress line: `45.2 MiB of 183.2 MiB source table data (24%), 15.0 MiB/s, elapsed 3.0 s, ETA 9.4 s;
 * 3/8 tables; archive 5.1 MiB written` (without sizes: the table count, elapsed and the archive's size).
 */
export function dumpProgressLine(v: {
  done: number;
  total?: number;
  doneBytes: number;
  totalBytes?: number;
  written: number;
  elapsedMs: number;
}): string {
  const tables = `${v.done}${v.total !== undefined ? `/${v.total}` : ''} tables`;
  const archive = `archive ${formatBytes(v.written)} written`;
  if (v.totalBytes === undefined) return `${tables}, elapsed ${formatDuration(v.elapsedMs)}; ${archive}`;
  return `${byteLine({ bytes: v.doneBytes, total: v.totalBytes, of: 'source table data', elapsedMs: v.elapsedMs }, formatBytes, formatDuration)}; ${tables}; ${archive}`;
}

/** The dump phase. `existing` is the archive preflight validated (SRC_DB_DUMP_PATH), if any. */
export async function runDump(ctx: PhaseCtx, existing?: ArchiveInfo): Promise<PhaseOutcome> {
  const { config, state } = ctx;
  if (config.dumpPath) return providedDump(ctx, config.dumpPath, existing);
  const out = dumpOutputPath(ctx.workDir, config.dumpFormat);
  const partial = `${out}.partial`;
  // Our own files from an earlier run with the same fixed WORK_DIR; pg_dump --format=directory refuses an existing dir.
  fs.rmSync(partial, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
  mkdirPrivate(ctx.workDir);
  const cmd = dumpCommand(config, partial);
  const r = await dumpWithProgress(ctx, cmd, partial, out);
  // Only a finished dump gets the final name, so a dump file in WORK_DIR is always a complete one.
  fs.renameSync(partial, out);
  const { info, digest } = await inspectAndHash(out, config.dumpFormat, ctx);
  r.finish(info.toc['TABLE DATA']);
  recordDump(state, info, digest, false);
  ctx.log.line(`toc: ${JSON.stringify(info.toc)}`);
  ctx.log.line(`sha256 (${info.format === 'custom' ? 'file' : 'sorted file list'}): ${digest.sha256}`);
  return {
    reason: summary(info, digest),
    exitCode: r.code,
    details: {
      command: displayCommand(cmd),
      renamedTo: out,
      toc: info.toc,
      sha256: digest.sha256,
      bytes: digest.bytes,
    },
  };
}

/**
 * The dump's archive `out` opened once (O_NOFOLLOW, lib/phases/pinned.ts), its table of contents listed
 * (`pg_restore --list`, exit 3 when unreadable) and its sha256 computed through that one descriptor: the archive
 * described is the archive hashed (and the restore proves, through its own descriptor, that it reads that archive).
 */
async function inspectAndHash(
  out: string,
  format: ArchiveFormat,
  ctx: PhaseCtx,
): Promise<{ info: ArchiveInfo; digest: { sha256: string; bytes: number; files: number } }> {
  const pin = openPinned(out, format === 'custom' ? 'file' : 'directory');
  try {
    const opts = { phase: 'dump' as const, log: ctx.log, exitCode: EXIT.phaseFailed, fds: [pin.fd], shownAs: out };
    const { toc } = await pgRestoreList(pin.child, opts);
    const digest = await archiveDigest(pin.here, format);
    return { info: { path: out, format, ...parseToc(toc) }, digest };
  } finally {
    pin.close();
  }
}

/** SRC_DB_DUMP_PATH: not dumped again; the archive preflight validated is recorded with its digest. */
async function providedDump(ctx: PhaseCtx, dumpPath: string, existing?: ArchiveInfo): Promise<PhaseOutcome> {
  const info = existing ?? (await inspectArchive(dumpPath, { phase: 'dump', log: ctx.log }));
  const digest = await archiveDigest(info.path, info.format);
  recordDump(ctx.state, info, digest, true);
  return {
    reason: `existing dump (SRC_DB_DUMP_PATH), not dumped again: ${summary(info, digest)}`,
    details: { provided: true, toc: info.toc },
  };
}

/**
 * pg_dump into `partial` with progress lines; an unfinished dump is removed (a full disk said as such). Returns the
 * tool's exit code and `finish(tableData)`, which closes the progress once the archive's TOC is known.
 */
async function dumpWithProgress(ctx: PhaseCtx, cmd: Command, partial: string, out: string) {
  const { config } = ctx;
  const total = await tablesToDump(config);
  // Byte progress: the source tables' sizes are the total; a table counts as done when pg_dump moves to the next one;
  // the archive's growing size shows movement inside a big table.
  const sizes = await tableSizes(config);
  // Announced once the catalog reads are done: what follows is pg_dump itself.
  ctx.say(`pg_dump (${config.dumpFormat}${config.dumpJobs > 1 ? `, ${config.dumpJobs} jobs` : ''}) → ${out}`);
  const totalBytes = sizes ? [...sizes.values()].reduce((a, b) => a + b, 0) : undefined;
  const t0 = Date.now();
  let done = 0;
  let doneBytes = 0;
  let current: string | undefined;
  let written = 0;
  const value = () => ({ done, total, doneBytes, totalBytes, written, elapsedMs: Date.now() - t0 });
  const progress = new Progress<ReturnType<typeof value>>({
    format: (v) => dumpProgressLine(v),
    fraction: (v) => (v.totalBytes ? fractionOf(v.doneBytes, v.totalBytes) : fractionOf(v.done, v.total)),
    writer: phaseWriter(ctx.say, '[dump] '),
    tty: stdoutIsTty(),
  });
  progress.start(value());
  const stopPoll = pollEvery(() => {
    written = pathBytes(partial);
    progress.update(value());
  }, 1000);
  // Rows inside the table being copied, as the source's pg_stat_progress_copy reports them (lib/phases/server-progress.ts).
  const server = await watchPhaseProgress(ctx, 'dump');
  let r: Awaited<ReturnType<typeof pgDump>>;
  try {
    r = await pgDump(cmd, {
      phase: 'dump',
      log: ctx.log,
      progress: (line) => {
        const table = dumpedTable(line);
        if (table === undefined) return;
        if (current !== undefined) doneBytes += sizes?.get(current) ?? 0;
        current = table;
        done++;
        progress.update(value());
      },
    });
  } catch (e) {
    stopPoll();
    await server.stop();
    // An unfinished dump is never left looking usable (and removing it gives back the space a full disk needs).
    fs.rmSync(partial, { recursive: true, force: true });
    if (e instanceof PhaseError && /No space left on device/.test(e.message)) {
      throw new PhaseError(
        'dump',
        `no space left in WORK_DIR ${ctx.workDir} (No space left on device): the partial dump was removed; free space there or point WORK_DIR at a bigger disk, then rerun\n  ${e.message.replace(/^dump: /, '')}`,
      );
    }
    throw e;
  }
  stopPoll();
  await server.stop();
  written = pathBytes(partial);
  return {
    code: r.code,
    finish: (tableData: number | undefined) => {
      const data = tableData ?? done;
      progress.finish({ ...value(), done: data, total: data, doneBytes: totalBytes ?? 0 });
    },
  };
}
