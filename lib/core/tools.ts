/**
 * The generic runner of external tools (pg_dump, pg_restore, psql, rsync): it runs a Command once through zx, with
 * connection parameters and the password in the environment (never in argv), streams its output line by line
 * (redacted) into the phase's log, and turns a non-zero exit into a PhaseError that says which phase, what the exit
 * code means (told by the caller) and the redacted stderr tail. It builds no command line: the tools' command lines,
 * their exit-code meanings and their wrappers are in lib/phases/commands.ts and lib/phases/restore-commands.ts.
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
 */
import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { ProcessPromise } from 'zx/core';
import type { Config } from './config.ts';
import { libpqEnv, type Dsn } from './dsn.ts';
import { PhaseError, EXIT } from './errors.ts';
import { fsProblem } from './fs-problem.ts';
import { redact } from './redact.ts';
import { shellWord } from './shell.ts';
import { withParentDeathSignal } from './signals.ts';
import { mkdirPrivate } from './files.ts';

/** A command as it will run: tool name, arguments (never a secret), extra environment (may hold PGPASSWORD). */
export interface Command {
  tool: 'pg_dump' | 'pg_restore' | 'psql' | 'rsync';
  args: string[];
  env: Record<string, string>;
  /** The executable to run; default the one preflight chose for `tool` (setToolBinary), else `tool` on PATH. */
  bin?: string;
  /**
   * Open file descriptors of this process handed to the tool as its fds 3, 4, … (in order), so an argument can name an
   * object opened and checked once as `/proc/self/fd/3` (lib/phases/pinned.ts: the archive the restore hashed, the
   * directory the mirror writes into) instead of a path another user could swap.
   */
  fds?: number[];
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

const ENV_ORDER = ['PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGPASSWORD'];
const envRank = (k: string) => (ENV_ORDER.includes(k) ? ENV_ORDER.indexOf(k) : ENV_ORDER.length);

/** The command as a shell line, connection settings as PG* variables, the password shown as ***. */
export function displayCommand(c: Command): string {
  // The executable that really runs (a preflight-resolved absolute path once chosen), so the log shows it.
  const env = Object.entries(c.env)
    .filter(([k]) => k.startsWith('PG'))
    .sort(([a], [b]) => envRank(a) - envRank(b) || a.localeCompare(b))
    .map(([k, v]) => `${k}=${k === 'PGPASSWORD' ? '***' : shellWord(v)}`);
  return redact([...env, shellWord(toolBinary(c)), ...c.args.map(shellWord)].join(' '));
}

// ---------------------------------------------------------------------------------------------------------------
// Phase logs

/** The redacted log of one phase in WORK_DIR/logs/<phase>.log; without a file (dry run) it keeps nothing. */
export class PhaseLog {
  private fd: number | undefined;
  constructor(readonly file?: string) {
    if (file) {
      // Private: a log may quote table contents in an error message.
      mkdirPrivate(path.dirname(file));
      this.fd = fs.openSync(file, 'a', 0o600);
    }
  }
  static forPhase(workDir: string | undefined, phase: string): PhaseLog {
    return new PhaseLog(workDir ? path.join(workDir, 'logs', `${phase}.log`) : undefined);
  }
  line(text: string): void {
    if (this.fd === undefined) return;
    try {
      fs.writeSync(this.fd, redact(text) + '\n');
    } catch (e) {
      // A full WORK_DIR (ENOSPC) must not crash the phase from inside a tool's output handler: the log stops, once,
      // saying where and how much is free (lib/core/fs-problem.ts); the phase's own outcome decides the run.
      fs.closeSync(this.fd);
      this.fd = undefined;
      process.stderr.write(`warning: the phase log stops here: ${fsProblem(e, this.file) ?? (e as Error).message}\n`);
    }
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
  /** The step the run belongs to (a copy phase's name): the log file and the error name it. */
  phase: string;
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

export const TAIL_LINES = 15;

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
  Parameters<typeof import('zx/core').$>[0]['store']
>;

let zx: typeof import('zx/core') | undefined;
/**
 * zx's core (`$`, `quote`, ProcessPromise), loaded before the first tool run (`await loadZx()`, then startTool). Only
 * `zx/core`: the package's main entry also loads its scripting goods (fetch, YAML, globbing, fs-extra, minimist), none of
 * which this runner uses: measured on this machine, importing `zx` costs 280 ms of CPU, `zx/core` 89 ms, and three
 * processes of every rehearsal (the CLI, vitest's global setup, the check worker) load it.
 */
export async function loadZx(): Promise<void> {
  zx ??= await import('zx/core');
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
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', ...(cmd.fds ?? [])],
  })`${withParentDeathSignal(toolBinary(cmd), cmd.args).flat()}`;
  track(p.child);
  return p;
}

/** Exit 127 with the shell's / setpriv's "not found": the tool is not installed. */
export function notInstalled(code: number, stderrTail: string[]): boolean {
  return code === 127 && stderrTail.some((l) => /not found|failed to execute|No such file or directory/.test(l));
}

export function notInstalledError(phase: string, tool: string): PhaseError {
  return new PhaseError(
    phase,
    `${tool} is not installed (not found on PATH); install the PostgreSQL client tools / rsync and rerun`,
    EXIT.usage,
  );
}

/** Read `stream` line by line (any line length, constant memory beyond the longest line). */
export function eachLine(stream: NodeJS.ReadableStream | null | undefined, fn: (line: string) => void): Promise<void> {
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
  phase: string,
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
      { phase: `${tool} --version`, captureStdout: true, timeoutMs: 10_000 },
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

/**
 * Timeouts a role or a database on either side may set (`ALTER ROLE … SET statement_timeout = '1ms'`) that would end
 * a libpq tool's session. pg_dump and pg_restore turn each off themselves, but only after their first query
 * (`set_config('search_path', …)`), which such a setting already cancels (issue 26: a 1 ms role statement_timeout
 * failed the dump, and every schema-parity pg_dump). Passed as startup options they apply before any query; each tool
 * still sets its own values afterwards (pg_dump's --lock-wait-timeout, the archive's `SET lock_timeout = 0`). Every
 * supported major (13+) knows these names (an unknown one in the startup packet is a FATAL error).
 */
export const TOOL_SESSION_PINS: ReadonlyArray<readonly [string, string]> = [
  ['statement_timeout', '0'],
  ['lock_timeout', '0'],
  ['idle_in_transaction_session_timeout', '0'],
];

/**
 * PG* variables for `d`; the connect timeout from CONNECT_TIMEOUT_MS unless the DSN sets connect_timeout; PGOPTIONS
 * is the DSN's own `options` followed by TOOL_SESSION_PINS (later `-c` options win).
 */
export function pgEnv(d: Dsn, config: Pick<Config, 'connectTimeoutMs'>): Record<string, string> {
  const env = libpqEnv(d);
  const pins = TOOL_SESSION_PINS.map(([k, v]) => `-c ${k}=${v}`).join(' ');
  env.PGOPTIONS = env.PGOPTIONS ? `${env.PGOPTIONS} ${pins}` : pins;
  if (d.params.connect_timeout === undefined)
    env.PGCONNECT_TIMEOUT = String(Math.max(2, Math.ceil(config.connectTimeoutMs / 1000)));
  return env;
}
