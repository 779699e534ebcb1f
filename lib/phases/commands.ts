/**
 * The copy phases' tool command lines and their wrappers: pg_dump, pg_restore --list, psql and rsync (the asset
 * mirror and its probe), what each tool's exit code means, and pgDump/psql, which run a command through the generic
 * runner of lib/core/tools.ts and turn a failure into a PhaseError. The builders are shared by the phases and the
 * dry-run plan, so both print exactly the same commands. The restore's own commands are in ./restore-commands.ts.
 */
import path from 'node:path';
import type { Config } from '../core/config.ts';
import { dbnameArg, type Dsn } from '../core/dsn.ts';
import { isVerboseInfo } from '../core/progress.ts';
import type { PhaseName } from './phase-types.ts';
import {
  pgEnv,
  runCommand,
  toolFailure,
  type Command,
  type PhaseLog,
  type RunOptions,
  type ToolResult,
} from '../core/tools.ts';

// ---------------------------------------------------------------------------------------------------------------
// Command builders (shared by the phases and the dry-run plan)

export { dbnameArg };

/** Where the dump of this run goes inside WORK_DIR. */
export function dumpOutputPath(workDir: string, format: Config['dumpFormat']): string {
  return path.join(workDir, format === 'custom' ? 'source.dump' : 'source.dump.d');
}

/** pg_dump of SRC into `outPath` (DUMP_FORMAT, DUMP_JOBS for a directory dump, DUMP_SERIALIZABLE_DEFERRABLE). */
export function dumpCommand(config: Config, outPath: string): Command {
  const args = [`--format=${config.dumpFormat}`, '--no-owner', '--no-acl'];
  if (config.dumpFormat === 'directory' && config.dumpJobs > 1) args.push(`--jobs=${config.dumpJobs}`);
  if (config.dumpSerializableDeferrable) args.push('--serializable-deferrable');
  args.push(`--file=${outPath}`);
  return { tool: 'pg_dump', args, env: pgEnv(config.src!, config) };
}

/** `pg_restore --list <archive>`: the archive's table of contents (no database). */
export function listCommand(archive: string): Command {
  return { tool: 'pg_restore', args: ['--list', archive], env: {} };
}

/** psql running one SQL text (the schema drop before a parallel restore; ANALYZE). */
export function psqlCommand(config: Config, sql: string): Command {
  return {
    tool: 'psql',
    args: ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', `--command=${sql}`, dbnameArg(config.dst)],
    env: pgEnv(config.dst, config),
  };
}

/** Default seconds without I/O after which rsync gives up (RSYNC_TIMEOUT_S; a dead peer must not hang the rehearsal). */
export const RSYNC_IO_TIMEOUT_S = 300;

/** Where rsync keeps an interrupted file (inside the file's directory; rsync protects it from --delete). */
export const RSYNC_PARTIAL_DIR = '.rsync-partial';

/** `src` as rsync must see it so its CONTENTS land at the target root, whatever trailing slash the user gave. */
export function rsyncSource(src: string): string {
  if (src.endsWith('/')) return src;
  if (/:$/.test(src)) return `${src}./`; // `host:` is the remote home directory
  return `${src}/`;
}

/** rsync's options that skip (and name) source symlinks pointing outside the tree: `--safe-links` (rsync(1)). */
export const SAFE_LINKS_ARGS = ['--safe-links', '--info=name1'];

/** rsync's line for a skipped unsafe symlink (`--safe-links` + `--info=name1`). */
const UNSAFE_LINK = /^ignoring unsafe symlink "(.*)" -> "(.*)"$/;

/**
 * The skipped symlink an rsync stdout line names (`{ path, target }`, path relative to the source tree), or undefined
 * for any other line. Source: rsync 3.x's generator message under `--safe-links`.
 */
export function parseUnsafeLink(line: string): { path: string; target: string } | undefined {
  const m = UNSAFE_LINK.exec(line.trimEnd());
  return m ? { path: m[1]!, target: m[2]! } : undefined;
}

/**
 * The asset mirror's rsync. `checksum`: compare file content (rsync --checksum) instead of size + mtime, so a file
 * changed at the same size and mtime is copied too (lib/phases/mirror-assets.ts decides: ASSETS_MIRROR_CHECKSUM).
 */
export function rsyncCommand(config: Config, opts: { checksum?: boolean } = {}): Command {
  const args = [
    '-a',
    // Holes stay holes and hard links stay links: a sparse 200 MiB file or a file linked twice must not multiply the
    // target's disk use.
    '--sparse',
    '--hard-links',
    // A source symlink pointing outside the source tree (absolute, or `..` climbing out) is not copied (issue 26: a
    // link to /etc carried the host's files into staging); `--info=name1` makes rsync print each one it skips as
    // `ignoring unsafe symlink "p" -> "t"`, which the mirror phase collects and names in its summary.
    ...SAFE_LINKS_ARGS,
    ...(opts.checksum ? ['--checksum'] : []),
    // An interrupted file waits in a hidden partial dir, never under its final name as a truncated file.
    `--partial-dir=${RSYNC_PARTIAL_DIR}`,
    '--numeric-ids',
    '--itemize-changes',
    '--stats',
    `--timeout=${config.rsyncTimeoutS ?? RSYNC_IO_TIMEOUT_S}`,
  ];
  const env: Record<string, string> = {};
  const src = config.srcAssetsDir!;
  if (config.srcAssetsRemote) {
    const seconds = Math.max(2, Math.ceil(config.connectTimeoutMs / 1000));
    if (/^rsync:\/\//.test(src) || /^[^/]*::/.test(src)) args.push(`--contimeout=${seconds}`);
    // ssh transport: never prompt (a prompt would hang an unattended run), bounded connect.
    else args.push(`--rsh=ssh -o BatchMode=yes -o ConnectTimeout=${seconds}`);
  }
  if (config.assetsDelete) args.push('--delete');
  args.push(rsyncSource(src), config.dstAssetsDir.replace(/\/*$/, '/'));
  return { tool: 'rsync', args, env };
}

/**
 * The read-only probe of a remote SRC_ASSETS_DIR that preflight runs before any copy: `rsync --list-only` of the
 * source root (not recursive), with the mirror's own transport options (ssh BatchMode/ConnectTimeout, --contimeout)
 * and a short I/O timeout, so an unreachable or refusing remote is known before the dump starts.
 */
export function rsyncProbeCommand(config: Config): Command {
  const full = rsyncCommand(config);
  const transport = full.args.filter((a) => a.startsWith('--rsh=') || a.startsWith('--contimeout='));
  const seconds = Math.max(2, Math.ceil(config.connectTimeoutMs / 1000));
  return {
    tool: 'rsync',
    args: ['--list-only', `--timeout=${seconds * 3}`, ...transport, rsyncSource(config.srcAssetsDir!)],
    env: {},
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Exit-code meanings

const RSYNC_CODES: Record<number, string> = {
  1: 'syntax or usage error (an option this rsync does not know?)',
  2: 'protocol incompatibility between the two rsync versions',
  3: 'errors selecting input/output files or directories (does SRC_ASSETS_DIR exist? is DST_ASSETS_DIR writable?)',
  4: 'requested action not supported by this rsync',
  5: 'error starting the client-server protocol (remote login or rsync daemon refused)',
  10: 'error in socket I/O (network)',
  11: 'error in file I/O (disk full? permissions on the target?)',
  12: 'error in the rsync protocol data stream (the connection broke, or the remote shell printed text)',
  14: 'error in IPC code',
  20: 'rsync was interrupted (SIGUSR1 or SIGINT)',
  22: 'out of memory',
  23: 'PARTIAL transfer due to error: some files or attributes were not copied (see the stderr lines above; e.g. a file the source cannot read, or a target directory in the way of a file); the target assets are incomplete',
  24: 'PARTIAL transfer because source files vanished while copying: the source changed during the mirror (is the application still writing?); rerun when the source is quiet',
  25: 'the --max-delete limit stopped deletions',
  30: 'timeout in data send/receive: nothing moved for RSYNC_TIMEOUT_S seconds (a remote that accepts the connection but does not answer, or a stalled network)',
  35: 'timeout waiting for the rsync daemon connection',
  255: 'the remote shell (ssh) failed: host unreachable, authentication refused, or host key unknown (BatchMode never prompts)',
};

/** What rsync's exit `code` means (rsync(1), EXIT VALUES), with what to check. */
export function rsyncMeaning(code: number): string {
  return RSYNC_CODES[code] ?? 'rsync failed (see its stderr below)';
}

/** What a failed pg_dump means (it exits 1 for every problem; its stderr tail says which). */
export function pgDumpMeaning(): string {
  return 'the dump failed (source unreachable, permission denied on a table, or WORK_DIR not writable); nothing was written to the target';
}

/** What psql's exit `code` means (psql(1), EXIT STATUS, with ON_ERROR_STOP set). */
export function psqlMeaning(code: number): string {
  if (code === 1) return 'psql failed (could not read its input, or out of memory)';
  if (code === 2) return 'the connection to the target was lost or refused';
  if (code === 3) return 'an SQL statement failed (ON_ERROR_STOP)';
  return 'psql failed';
}

// ---------------------------------------------------------------------------------------------------------------
// Tool wrappers

/** Where a tool wrapper runs: its phase, the phase's log, and whether progress lines are wanted. */
export interface ToolCtx {
  phase: PhaseName;
  log?: PhaseLog;
  /**
   * Progress wanted: pg_dump/pg_restore run with --verbose and every stderr line comes here (its informational lines
   * still go to the phase log, but not into the stderr tail of an error).
   */
  progress?: (line: string) => void;
}

/** The command with `--verbose` first when progress is wanted (the dry-run plan shows the command without it). */
export function verboseFor(cmd: Command, ctx: ToolCtx): Command {
  return ctx.progress ? { ...cmd, args: ['--verbose', ...cmd.args] } : cmd;
}

/** The runner options that route a --verbose tool's stderr to `ctx.progress` and keep its info lines out of the tail. */
export function progressOptions(ctx: ToolCtx): Pick<RunOptions, 'onStderr' | 'notInTail'> {
  return ctx.progress ? { onStderr: ctx.progress, notInTail: isVerboseInfo } : {};
}

/** Run a pg_dump command (`--verbose` with progress); a non-zero exit throws the phase's PhaseError. */
export async function pgDump(cmd: Command, ctx: ToolCtx): Promise<ToolResult> {
  cmd = verboseFor(cmd, ctx);
  const r = await runCommand(cmd, { phase: ctx.phase, log: ctx.log, ...progressOptions(ctx) });
  if (r.code !== 0) throw toolFailure(ctx.phase, cmd, r, pgDumpMeaning(), { log: ctx.log });
  return r;
}

/** Run a psql command; a non-zero exit throws the phase's PhaseError with what the exit code means. */
export async function psql(cmd: Command, ctx: ToolCtx): Promise<ToolResult> {
  const r = await runCommand(cmd, { phase: ctx.phase, log: ctx.log });
  if (r.code !== 0) throw toolFailure(ctx.phase, cmd, r, psqlMeaning(r.code), { log: ctx.log });
  return r;
}
