/**
 * One wrapper per external tool (pg_dump, pg_restore, psql, rsync): each runs the tool once through zx, with
 * connection parameters and the password in the environment (never in argv), streams its output line by line
 * (redacted) into the phase's log, and turns a non-zero exit into a PhaseError that says which phase, what the exit
 * code means and the redacted stderr tail.
 *
 * How zx is used (see docs/architecture.md, "External tools"):
 * - quiet, never verbose, nothrow: zx prints nothing (no command line, no stderr) and never throws on exit != 0; the
 *   exit code is interpreted here.
 * - a store that keeps nothing: zx would otherwise keep every output chunk for ProcessOutput.stdout, and rsync's
 *   itemized list can be millions of lines. Lines of stdout and stderr are consumed as they come (node's line
 *   reader: it decodes UTF-8 across chunk boundaries and splits on \r too) and only a bounded stderr tail is kept.
 * - `bash --norc --noprofile -c 'umask 077; exec setpriv --pdeathsig KILL -- tool args…'`: no rc file runs (Debian's
 *   bash sources ~/.bashrc when its stdin is a socket, which node's pipes are), files the tool creates are private
 *   (0600/0700), the shell is replaced by the tool (a signal reaches the tool itself), and the kernel kills the tool
 *   when this process dies, even by `kill -9` (util-linux's setpriv sets the parent-death signal).
 *
 * The command builders live here too, so the copy phases and the dry-run plan print exactly the same commands.
 */
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { Transform } from 'node:stream';
import type { ProcessPromise } from 'zx';
import type { Config } from './config.ts';
import { libpqEnv, type Dsn } from './dsn.ts';
import { PhaseError, EXIT } from './errors.ts';
import { isVerboseInfo } from './progress.ts';
import { redact } from './redact.ts';
import { withParentDeathSignal } from './signals.ts';
import type { PhaseName } from './state.ts';

/** A command as it will run: tool name, arguments (never a secret), extra environment (may hold PGPASSWORD). */
export interface Command {
  tool: 'pg_dump' | 'pg_restore' | 'psql' | 'rsync';
  args: string[];
  env: Record<string, string>;
  /** The executable to run; default the one preflight chose for `tool` (setToolBinary), else `tool` on PATH. */
  bin?: string;
}

/** Which executable runs for each tool (full paths chosen by preflight from PG_BIN_DIR & co.); unset: PATH. */
const toolBinaries: Partial<Record<Command['tool'], string>> = {};

/** Choose the executable for `tool` in this process (undefined: back to the name on PATH). */
export function setToolBinary(tool: Command['tool'], file: string | undefined): void {
  if (file) toolBinaries[tool] = file;
  else delete toolBinaries[tool];
}

/**
 * Adopt the executables a preflight resolved (its `tools` record: `"<tool> path": "/abs/file"`), in a process that did
 * not run that preflight itself (global setup after the `rehearse` gate). Every later command of `tool` runs that file.
 */
export function applyToolPaths(tools: Record<string, string>): void {
  for (const t of ['pg_dump', 'pg_restore', 'psql', 'rsync'] as const) {
    const file = tools[`${t} path`];
    if (file) setToolBinary(t, file);
  }
}

/**
 * The absolute path of the executable `name` as a shell would find it on `pathEnv` (default PATH), or undefined.
 * A preflight reports and pins this file, so the phases never depend on PATH lookups of their own.
 */
export function resolveOnPath(name: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathEnv.split(':')) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The executable that runs for `cmd`. */
export function toolBinary(cmd: Pick<Command, 'tool' | 'bin'>): string {
  return cmd.bin ?? toolBinaries[cmd.tool] ?? cmd.tool;
}

// ---------------------------------------------------------------------------------------------------------------
// Display

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const ENV_ORDER = ['PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGPASSWORD'];
const envRank = (k: string) => (ENV_ORDER.includes(k) ? ENV_ORDER.indexOf(k) : ENV_ORDER.length);

/** The command as a shell line, connection settings as PG* variables, the password shown as ***. */
export function displayCommand(c: Command): string {
  // The executable that really runs (a preflight-resolved absolute path once chosen), so the log shows it.
  const env = Object.entries(c.env)
    .filter(([k]) => k.startsWith('PG'))
    .sort(([a], [b]) => envRank(a) - envRank(b) || a.localeCompare(b))
    .map(([k, v]) => `${k}=${k === 'PGPASSWORD' ? '***' : shellQuote(v)}`);
  return redact([...env, shellQuote(toolBinary(c)), ...c.args.map(shellQuote)].join(' '));
}

// ---------------------------------------------------------------------------------------------------------------
// Phase logs

/** The redacted log of one phase in WORK_DIR/logs/<phase>.log; without a file (dry run) it keeps nothing. */
export class PhaseLog {
  private fd: number | undefined;
  constructor(readonly file?: string) {
    if (file) {
      // Private: a log may quote table contents in an error message.
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      this.fd = fs.openSync(file, 'a', 0o600);
    }
  }
  static forPhase(workDir: string | undefined, phase: PhaseName): PhaseLog {
    return new PhaseLog(workDir ? path.join(workDir, 'logs', `${phase}.log`) : undefined);
  }
  line(text: string): void {
    if (this.fd !== undefined) fs.writeSync(this.fd, redact(text) + '\n');
  }
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Running

export interface ToolResult {
  code: number;
  signal?: string;
  durationMs: number;
  /** Last lines of stderr, redacted. */
  stderrTail: string[];
  /** Whole stdout, redacted, only when asked for (small outputs such as pg_restore --list). */
  stdout?: string;
  /** Count of stdout lines (itemized changes, TOC entries). */
  stdoutLines: number;
}

export interface RunOptions {
  phase: PhaseName;
  log?: PhaseLog;
  /** Keep stdout in memory (for small outputs that we parse). */
  captureStdout?: boolean;
  /** Called with every stdout line (redacted). */
  onStdout?: (line: string) => void;
  /** Called with every stderr line (redacted): progress output of a --verbose tool. */
  onStderr?: (line: string) => void;
  /** stdout lines that do not go to the log (rsync's progress updates: one per file would double the log). */
  notInLog?: (line: string) => boolean;
  /** stderr lines that stay out of the tail an error quotes (a --verbose tool's informational lines); still logged. */
  notInTail?: (line: string) => boolean;
  timeoutMs?: number;
  /** Feed the child's stdin from this function (it receives the child). */
  stdin?: (child: ChildProcess) => void;
}

const TAIL_LINES = 15;

/** Children running right now, so an interrupted rehearsal can stop them instead of leaving them orphaned. */
const active = new Set<ChildProcess>();

function track(child: ChildProcess | undefined): void {
  if (!child) return;
  active.add(child);
  child.on('close', () => active.delete(child));
}

/** Stop every running tool (on SIGINT/SIGTERM): an orphaned pg_restore would keep writing to the target. */
export function stopActiveTools(signal: NodeJS.Signals = 'SIGTERM'): number {
  const n = active.size;
  for (const c of active) c.kill(signal);
  return n;
}

/**
 * Variables no tool inherits: every libpq setting (PG*: a PGSERVICE or PGSYSCONFDIR would make libpq connect somewhere
 * else than the checks do) and every variable holding a whole DSN or a secret of the rehearsal (a tool needs only its
 * own server's parameters, which the command's env carries).
 */
export function isWithheldFromTools(name: string): boolean {
  return (
    name.startsWith('PG') ||
    /_DATABASE_URL$/.test(name) ||
    /PASSWORD|SECRET|TOKEN/i.test(name) ||
    name === 'LANGUAGE' ||
    name.startsWith('REHEARSAL_')
  );
}

/** Environment of a tool: ours minus libpq settings and secrets (isWithheldFromTools), plus the command's. */
export function toolEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!isWithheldFromTools(k)) env[k] = v;
  // C.UTF-8: untranslated messages (we match "errors ignored on restore") while UTF-8 file names stay readable.
  env.LC_ALL = 'C.UTF-8';
  return { ...env, ...extra };
}

/** zx keeps every output chunk for ProcessOutput unless given a store; this one keeps nothing (bounded memory). */
const discard = {
  length: 0,
  push: () => 0,
  join: () => '',
  reduce: <T>(_f: unknown, init: T) => init,
  *[Symbol.iterator]() {},
};
const keepNothing = { stdout: discard, stderr: discard, stdall: discard } as unknown as NonNullable<
  Parameters<typeof import('zx').$>[0]['store']
>;

let zx: typeof import('zx') | undefined;
/**
 * zx, loaded before the first tool run (`await loadZx()`, then startTool): it is the largest module the CLI imports
 * (a fifth of a "nothing to do" run's start-up went to loading it), and most processes of most runs (the checks,
 * --verify-only, the reports) never start a tool.
 */
export async function loadZx(): Promise<void> {
  zx ??= await import('zx');
}

/** The shell zx starts: no rc/profile file, the command string as its only script. */
const noRcShell = ((cmd: string, _args: readonly string[], opts: object) =>
  nodeSpawn('/bin/bash', ['--norc', '--noprofile', '-c', cmd], {
    ...opts,
    shell: false,
  })) as unknown as typeof nodeSpawn;

/**
 * Start `cmd` through zx (loaded by `loadZx()`): private umask, the shell replaced by the tool, the tool killed with this process
 * (parent-death signal), nothing printed and nothing kept by zx. The caller reads `p.stdout` / `p.stderr`.
 */
export function startTool(cmd: Command, opts: { stdin?: boolean } = {}): ProcessPromise {
  if (!zx) throw new Error('startTool: zx is not loaded (await loadZx() first)');
  const p = zx.$({
    quiet: true,
    verbose: false,
    nothrow: true,
    // Explicit: zx picks its shell and quoting by looking bash up on PATH, and a PATH without bash (the client tools
    // resolved elsewhere) would leave it with no quote function, every tool failing before it starts.
    shell: '/bin/bash',
    quote: zx.quote,
    prefix: 'umask 077; exec ',
    postfix: '',
    spawn: noRcShell,
    store: keepNothing,
    env: toolEnv(cmd.env),
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  })`${withParentDeathSignal(toolBinary(cmd), cmd.args).flat()}`;
  track(p.child);
  return p;
}

/** Exit 127 with the shell's / setpriv's "not found": the tool is not installed. */
function notInstalled(code: number, stderrTail: string[]): boolean {
  return code === 127 && stderrTail.some((l) => /not found|failed to execute|No such file or directory/.test(l));
}

function notInstalledError(phase: PhaseName, tool: string): PhaseError {
  return new PhaseError(
    phase,
    `${tool} is not installed (not found on PATH); install the PostgreSQL client tools / rsync and rerun`,
    EXIT.usage,
  );
}

/** Read `stream` line by line (any line length, constant memory beyond the longest line). */
function eachLine(stream: NodeJS.ReadableStream | null | undefined, fn: (line: string) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', fn);
  return new Promise((resolve) => rl.once('close', () => resolve()));
}

/**
 * Run once; stream stdout/stderr (redacted) into the log; resolve with the exit code (never rejects on exit != 0).
 * Rejects with a PhaseError (exit 2) when the tool is not installed.
 */
export async function runCommand(cmd: Command, opts: RunOptions): Promise<ToolResult> {
  const started = Date.now();
  opts.log?.line(`$ ${displayCommand(cmd)}`);
  await loadZx();
  const p = startTool(cmd, { stdin: !!opts.stdin });
  const child = p.child;
  if (opts.stdin && child) opts.stdin(child);
  const tail: string[] = [];
  const early: string[] = [];
  let stdout = '';
  let stdoutLines = 0;
  let timedOut = false;
  const timer = opts.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        child?.kill('SIGTERM');
      }, opts.timeoutMs)
    : undefined;
  const errDone = eachLine(p.stderr, (raw) => {
    const line = redact(raw);
    opts.log?.line(`stderr: ${line}`);
    opts.onStderr?.(line);
    if (early.length < 3) early.push(line);
    if (opts.notInTail?.(line)) return;
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  });
  // readline rather than zx's `for await (const line of p)`: zx decodes each chunk on its own (a UTF-8 file name
  // split across two chunks would come out as U+FFFD) and splits on \n only (rsync's progress2 updates end in \r).
  const outDone = eachLine(p.stdout, (raw) => {
    const line = redact(raw);
    stdoutLines++;
    if (!opts.notInLog?.(line)) opts.log?.line(line);
    if (opts.captureStdout) stdout += line + '\n';
    opts.onStdout?.(line);
  });
  const out = await p;
  await Promise.all([outDone, errDone]);
  if (timer) clearTimeout(timer);
  const code = out.exitCode ?? 128;
  const durationMs = Date.now() - started;
  opts.log?.line(`exit ${out.exitCode ?? out.signal} in ${durationMs} ms`);
  if (notInstalled(code, early)) throw notInstalledError(opts.phase, cmd.tool);
  if (timedOut) tail.push(`(stopped after ${opts.timeoutMs} ms)`);
  return {
    code,
    signal: out.signal ?? undefined,
    durationMs,
    stderrTail: tail,
    stdoutLines,
    stdout: opts.captureStdout ? stdout : undefined,
  };
}

/** The PhaseError for a failed tool run: phase, tool, exit code, what the code means, next step, stderr tail, log. */
export function toolFailure(
  phase: PhaseName,
  cmd: Command,
  r: ToolResult,
  meaning: string,
  opts: { log?: PhaseLog; exitCode?: number } = {},
): PhaseError {
  const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
  const tail = r.stderrTail.length ? `\n  stderr (last lines):\n    ${r.stderrTail.join('\n    ')}` : '';
  const log = opts.log?.file ? `\n  full log: ${opts.log.file}` : '';
  return new PhaseError(phase, `${cmd.tool} ${how}: ${meaning}${tail}${log}`, opts.exitCode ?? EXIT.phaseFailed, {
    toolExitCode: r.code,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Versions

export interface ToolVersion {
  /** e.g. "15.20" or "3.2.7". */
  version: string;
  major: number;
  /** The first line of `--version`. */
  line: string;
}

/** `tool --version` (of `bin` when given), or undefined when the tool is missing. */
export async function toolVersion(tool: Command['tool'], bin?: string): Promise<ToolVersion | undefined> {
  try {
    const r = await runCommand(
      { tool, args: ['--version'], env: {}, bin },
      { phase: 'preflight', captureStdout: true, timeoutMs: 10_000 },
    );
    if (r.code !== 0) return undefined;
    const line = (r.stdout ?? '').split('\n')[0].trim();
    const m = /(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(line.replace(/^\S+\s+/, '').replace(/protocol version \d+/, ''));
    if (!m) return { version: '?', major: 0, line };
    return { version: m[0], major: Number(m[1]), line };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Connection environment

/** PG* variables for `d`; the connect timeout from CONNECT_TIMEOUT_MS unless the DSN sets connect_timeout. */
export function pgEnv(d: Dsn, config: Pick<Config, 'connectTimeoutMs'>): Record<string, string> {
  const env = libpqEnv(d);
  if (d.params.connect_timeout === undefined)
    env.PGCONNECT_TIMEOUT = String(Math.max(2, Math.ceil(config.connectTimeoutMs / 1000)));
  return env;
}

/**
 * `--dbname` for pg_restore/psql: the database NAME only (host, user and password come from the environment). A name
 * containing "=" or a URI prefix would be read by libpq as a connection string, so it is wrapped as `dbname='...'`.
 */
export function dbnameArg(d: Dsn): string {
  const name = d.database;
  if (/=|^postgres(ql)?:\/\//.test(name))
    return `--dbname=dbname='${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `--dbname=${name}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Command builders (shared by the phases and the dry-run plan)

/** Where the dump of this run goes inside WORK_DIR. */
export function dumpOutputPath(workDir: string, format: Config['dumpFormat']): string {
  return path.join(workDir, format === 'custom' ? 'source.dump' : 'source.dump.d');
}

export function dumpCommand(config: Config, outPath: string): Command {
  const args = [`--format=${config.dumpFormat}`, '--no-owner', '--no-acl'];
  if (config.dumpFormat === 'directory' && config.dumpJobs > 1) args.push(`--jobs=${config.dumpJobs}`);
  if (config.dumpSerializableDeferrable) args.push('--serializable-deferrable');
  args.push(`--file=${outPath}`);
  return { tool: 'pg_dump', args, env: pgEnv(config.src!, config) };
}

export function listCommand(archive: string): Command {
  return { tool: 'pg_restore', args: ['--list', archive], env: {} };
}

/** How the restore runs: all-or-nothing (default), all-or-nothing including the schema drop, or parallel. */
export type RestoreMode = 'single-transaction' | 'single-transaction-with-drop' | 'parallel' | 'plain';

export function restoreMode(config: Config): RestoreMode {
  if (config.restoreJobs > 1) return 'parallel';
  if (!config.restoreSingleTransaction) return 'plain';
  return config.dstDropSchema ? 'single-transaction-with-drop' : 'single-transaction';
}

/**
 * pg_restore straight into the target (every mode except single-transaction-with-drop).
 * @param useList a `--use-list` file (lib/phases/toc-filter.ts) when some TOC entries are left out.
 */
export function restoreCommand(config: Config, archive: string, useList?: string): Command {
  const args = ['--no-owner', '--no-acl'];
  if (config.restoreNoTablespaces) args.push('--no-tablespaces');
  if (useList) args.push(`--use-list=${useList}`);
  const mode = restoreMode(config);
  if (mode === 'single-transaction') args.push('--single-transaction', '--exit-on-error');
  else if (mode === 'parallel') args.push(`--jobs=${config.restoreJobs}`, '--exit-on-error');
  else args.push('--exit-on-error');
  args.push(dbnameArg(config.dst), archive);
  return { tool: 'pg_restore', args, env: pgEnv(config.dst, config) };
}

/** The SQL that empties `public` (PostgreSQL 15 defaults: usable, not creatable, by everyone). */
export const DROP_PUBLIC_SQL = [
  'DROP SCHEMA IF EXISTS public CASCADE;',
  'CREATE SCHEMA public;',
  'GRANT USAGE ON SCHEMA public TO PUBLIC;',
  // Large objects belong to the database, not to a schema: the archive restores them with their OIDs, so the previous
  // copy's would collide ("duplicate key … pg_largeobject_metadata_oid_index") on every repeat rehearsal.
  'SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata;',
];

/**
 * For DST_DROP_SCHEMA=1 under single-transaction: pg_restore renders the archive as SQL, psql runs the drop and the
 * whole script in ONE transaction that we commit only when pg_restore finished cleanly, so a failure anywhere leaves
 * the target exactly as it was, including the old `public`.
 */
export function restorePipeline(
  config: Config,
  archive: string,
  useList?: string,
): { render: Command; apply: Command } {
  return {
    render: {
      tool: 'pg_restore',
      args: [
        '--no-owner',
        '--no-acl',
        ...(config.restoreNoTablespaces ? ['--no-tablespaces'] : []),
        ...(useList ? [`--use-list=${useList}`] : []),
        '--file=-',
        archive,
      ],
      env: {},
    },
    apply: {
      tool: 'psql',
      args: ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', dbnameArg(config.dst)],
      env: pgEnv(config.dst, config),
    },
  };
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

export function rsyncMeaning(code: number): string {
  return RSYNC_CODES[code] ?? 'rsync failed (see its stderr below)';
}

/** pg_restore exits 1 for every problem; its last line tells a real error from "errors ignored". */
export function pgRestoreMeaning(r: ToolResult, mode: RestoreMode): string {
  const ignored = r.stderrTail.map((l) => /errors ignored on restore: (\d+)/.exec(l)).find(Boolean);
  const atomic = mode === 'single-transaction' || mode === 'single-transaction-with-drop';
  const state = atomic
    ? 'the restore ran in one transaction and was ROLLED BACK: the target is exactly as it was before'
    : 'the restore was NOT atomic (RESTORE_JOBS>1 or RESTORE_SINGLE_TRANSACTION=0): the target is PARTIALLY restored; rerun with DST_DROP_SCHEMA=1 after fixing the cause';
  if (ignored)
    return `${ignored[1]} error(s) during the restore ("errors ignored on restore" is a failed restore, never a warning); ${state}`;
  return `the restore failed; ${state}`;
}

export function pgDumpMeaning(): string {
  return 'the dump failed (source unreachable, permission denied on a table, or WORK_DIR not writable); nothing was written to the target';
}

export function psqlMeaning(code: number): string {
  if (code === 1) return 'psql failed (could not read its input, or out of memory)';
  if (code === 2) return 'the connection to the target was lost or refused';
  if (code === 3) return 'an SQL statement failed (ON_ERROR_STOP)';
  return 'psql failed';
}

// ---------------------------------------------------------------------------------------------------------------
// Tool wrappers

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
function verboseFor(cmd: Command, ctx: ToolCtx): Command {
  return ctx.progress ? { ...cmd, args: ['--verbose', ...cmd.args] } : cmd;
}

function progressOptions(ctx: ToolCtx): Pick<RunOptions, 'onStderr' | 'notInTail'> {
  return ctx.progress ? { onStderr: ctx.progress, notInTail: isVerboseInfo } : {};
}

export async function pgDump(cmd: Command, ctx: ToolCtx): Promise<ToolResult> {
  cmd = verboseFor(cmd, ctx);
  const r = await runCommand(cmd, { phase: ctx.phase, log: ctx.log, ...progressOptions(ctx) });
  if (r.code !== 0) throw toolFailure(ctx.phase, cmd, r, pgDumpMeaning(), { log: ctx.log });
  return r;
}

/** `pg_restore --list`: the archive's table of contents; a failure means the archive is missing or damaged. */
export async function pgRestoreList(
  archive: string,
  ctx: ToolCtx & { exitCode?: number },
): Promise<{ toc: string; result: ToolResult }> {
  const cmd = listCommand(archive);
  const r = await runCommand(cmd, { phase: ctx.phase, captureStdout: true });
  ctx.log?.line(`$ ${displayCommand(cmd)}  (exit ${r.code}, ${r.stdoutLines} lines)`);
  if (r.code !== 0) {
    throw toolFailure(
      ctx.phase,
      cmd,
      r,
      `${archive} is not a readable pg_dump archive (custom-format file or directory-format directory); it may be truncated or corrupt; make a new dump`,
      {
        log: ctx.log,
        exitCode: ctx.exitCode,
      },
    );
  }
  return { toc: r.stdout ?? '', result: r };
}

/** `pg_restore --file=/dev/null`: read and decode the whole archive without a database (catches truncated data). */
export async function pgRestoreReadAll(archive: string, ctx: ToolCtx & { exitCode?: number }): Promise<ToolResult> {
  const cmd: Command = { tool: 'pg_restore', args: ['--file=/dev/null', archive], env: {} };
  const r = await runCommand(cmd, { phase: ctx.phase, log: ctx.log });
  if (r.code !== 0) {
    throw toolFailure(
      ctx.phase,
      cmd,
      r,
      `${archive} cannot be read to the end (truncated or corrupt data); make a new dump`,
      { log: ctx.log, exitCode: ctx.exitCode },
    );
  }
  return r;
}

export async function pgRestore(cmd: Command, mode: RestoreMode, ctx: ToolCtx): Promise<ToolResult> {
  cmd = verboseFor(cmd, ctx);
  const r = await runCommand(cmd, { phase: ctx.phase, log: ctx.log, ...progressOptions(ctx) });
  // Exit 0 with "errors ignored" cannot happen, but a warning count on exit 0 would still be read as a failure.
  if (r.code !== 0 || r.stderrTail.some((l) => /errors ignored on restore/.test(l))) {
    throw toolFailure(ctx.phase, cmd, r, pgRestoreMeaning(r, mode), { log: ctx.log });
  }
  return r;
}

export async function psql(cmd: Command, ctx: ToolCtx): Promise<ToolResult> {
  const r = await runCommand(cmd, { phase: ctx.phase, log: ctx.log });
  if (r.code !== 0) throw toolFailure(ctx.phase, cmd, r, psqlMeaning(r.code), { log: ctx.log });
  return r;
}

/**
 * The rendered script's `SET client_min_messages = warning;` (pg_restore writes it first, whatever the archive) made
 * `notice`, so the server's NOTICEs of the restore (e.g. pgvector's "hnsw graph no longer fits into
 * maintenance_work_mem" with its HINT) reach psql's stderr and the phase log. Only the script's first 64 kB are looked at.
 */
function showNotices(): Transform {
  let head = '';
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (done) return cb(null, chunk);
      head += chunk.toString('latin1');
      const i = head.indexOf('\nSET client_min_messages = warning;');
      if (i < 0 && head.length < 65_536) return cb();
      done = true;
      const out =
        i < 0 ? head : head.replace('\nSET client_min_messages = warning;', '\nSET client_min_messages = notice;');
      head = '';
      cb(null, Buffer.from(out, 'latin1'));
    },
    flush(cb) {
      cb(null, head ? Buffer.from(head, 'latin1') : undefined);
    },
  });
}

/**
 * `pg_restore --file=- | psql`, wrapped in BEGIN ... COMMIT with `preludeSql` first. COMMIT is sent only when
 * pg_restore exited 0, psql is still running cleanly AND psql confirmed it executed the whole script (it echoes a
 * random marker written after the script; ON_ERROR_STOP makes it stop before the marker at the first error).
 * Otherwise psql is killed mid-transaction and the server rolls everything back (an open transaction never commits on
 * disconnect). Both tools die with this process (parent-death signal), so nothing can commit after we gave up.
 */
export async function pgRestoreViaPsql(
  render: Command,
  apply: Command,
  preludeSql: string[],
  mode: RestoreMode,
  ctx: ToolCtx,
): Promise<ToolResult> {
  const started = Date.now();
  render = verboseFor(render, ctx);
  const marker = `rehearsal-script-consumed-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  ctx.log?.line(`$ ${displayCommand(render)} | ${displayCommand(apply)}`);
  ctx.log?.line(
    `  (one transaction: BEGIN; ${preludeSql.join(' ')} <the archive>; \\echo <marker>; COMMIT only once psql echoed the marker)`,
  );
  const tail: string[] = [];
  const early: string[] = [];
  const collect = (prefix: string) => (raw: string) => {
    const line = redact(raw);
    ctx.log?.line(`${prefix}${line}`);
    if (early.length < 4) early.push(line);
    // psql's stderr carries the server's NOTICE/WARNING lines: the caller collects them too.
    if (prefix === 'psql stderr: ') ctx.progress?.(line);
    if (prefix === 'pg_restore stderr: ' && ctx.progress) {
      ctx.progress(line);
      if (isVerboseInfo(line)) return;
    }
    tail.push(`${prefix.replace(/ stderr: $/, '')}: ${line}`);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  await loadZx();
  const psqlP = startTool(apply, { stdin: true });
  const renderP = startTool(render);
  const psqlChild = psqlP.child!;
  const renderChild = renderP.child!;
  const stdin = psqlChild.stdin!;
  stdin.on('error', () => {
    /* EPIPE when psql stopped at an error: its exit code tells */
  });
  let consumed = false;
  let psqlExited = false;
  let committed = false;
  const psqlOut = eachLine(psqlChild.stdout, (raw) => {
    if (raw.trim() === marker) {
      consumed = true;
      // The whole script ran inside the transaction; only now, and only if psql is still there, commit.
      if (!psqlExited && !stdin.destroyed) {
        committed = true;
        stdin.end('COMMIT;\n');
      }
      return;
    }
    ctx.log?.line(`psql: ${redact(raw)}`);
  });
  const psqlErr = eachLine(psqlChild.stderr, collect('psql stderr: '));
  const renderErr = eachLine(renderChild.stderr, collect('pg_restore stderr: '));
  stdin.write(['BEGIN;', ...preludeSql, ''].join('\n'));
  const script = showNotices();
  // The script's last byte has been handed to psql's stdin (in order) only once `script` ended: pg_restore EXITING says
  // nothing about that (its last output may still wait in the pipe and in `script`'s buffers). The marker written any
  // earlier lands inside the script, e.g. in the middle of a COPY row (issue 24: "COPY track, line 3219").
  let psqlGone: () => void = () => {};
  const scriptEnded = new Promise<boolean>((resolve) => {
    script.once('end', () => resolve(true));
    psqlGone = () => resolve(false);
  });
  renderChild.stdout!.pipe(script).pipe(stdin, { end: false });

  const renderDone = renderP.then(async (o) => {
    if (o.exitCode === 0 && !psqlExited) {
      // Ask psql to prove it reached the end of the script before anything commits; only after the last byte.
      if ((await scriptEnded) && !psqlExited && !stdin.destroyed) stdin.write(`\n\\echo ${marker}\n`);
    } else if (!psqlExited) psqlChild.kill('SIGKILL');
    return o;
  });
  const psqlDone = psqlP.then((o) => {
    psqlExited = true;
    psqlGone();
    if (renderChild.exitCode === null && renderChild.signalCode === null) renderChild.kill('SIGTERM');
    // Nobody reads the rest of the script now: drain it, or pg_restore's stdout never ends and neither does its
    // process promise (a restore refused at its first statement while a big table streams would wait forever, and
    // vitest would exit with the global setup unfinished).
    renderChild.stdout!.unpipe(script);
    script.unpipe(stdin);
    renderChild.stdout!.resume();
    return o;
  });
  const [renderOut, psqlOutcome] = await Promise.all([renderDone, psqlDone]);
  await Promise.all([psqlOut, psqlErr, renderErr]);
  const durationMs = Date.now() - started;
  ctx.log?.line(
    `pg_restore exit ${renderOut.exitCode ?? renderOut.signal}, psql exit ${psqlOutcome.exitCode ?? psqlOutcome.signal}${committed ? ', COMMIT sent after psql consumed the script' : ', no COMMIT sent'} in ${durationMs} ms`,
  );
  const rc = renderOut.exitCode ?? 128;
  const pc = psqlOutcome.exitCode ?? 128;
  if (notInstalled(rc, early)) throw notInstalledError(ctx.phase, 'pg_restore');
  if (notInstalled(pc, early)) throw notInstalledError(ctx.phase, 'psql');
  const result: ToolResult = { code: pc !== 0 ? pc : rc, durationMs, stderrTail: tail, stdoutLines: 0 };
  if (rc === 0 && pc === 0 && consumed && committed) return result;
  // psql stopping first makes pg_restore die of EPIPE: then psql's error is the cause.
  const cause =
    pc !== 0 && psqlOutcome.signal !== 'SIGKILL'
      ? { cmd: apply, code: pc, meaning: psqlMeaning(pc) }
      : rc !== 0
        ? { cmd: render, code: rc, meaning: 'pg_restore could not read the archive to the end' }
        : { cmd: apply, code: pc, meaning: 'psql ended before confirming it had executed the whole script' };
  throw toolFailure(
    ctx.phase,
    cause.cmd,
    { ...result, code: cause.code, signal: undefined },
    `${cause.meaning}; ${pgRestoreMeaning({ ...result, stderrTail: [] }, mode).replace(/^the restore failed; /, '')}`,
    { log: ctx.log },
  );
}
