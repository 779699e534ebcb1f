/**
 * The restore's commands and tool wrappers: how the restore runs (RestoreMode), pg_restore's command line, the
 * single-transaction pipeline `pg_restore --file=- | psql` with its schema drop, reading and listing an archive, and
 * what pg_restore's failures mean. Moved here from lib/core/tools.ts, which keeps only the generic process runner.
 */
import { Transform } from 'node:stream';
import type { Config } from '../core/config.ts';
import { isVerboseInfo } from '../core/progress.ts';
import { redact } from '../core/redact.ts';
import {
  displayCommand,
  eachLine,
  loadZx,
  notInstalled,
  notInstalledError,
  pgEnv,
  runCommand,
  startTool,
  TAIL_LINES,
  toolFailure,
  type Command,
  type ToolResult,
} from '../core/tools.ts';
import { dbnameArg, listCommand, progressOptions, psqlMeaning, type ToolCtx, verboseFor } from './commands.ts';

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

/** `pg_restore --list`: the archive's table of contents; a failure means the archive is missing or damaged. */
export async function pgRestoreList(
  archive: string,
  ctx: ToolCtx & { exitCode?: number; fds?: number[]; shownAs?: string },
): Promise<{ toc: string; result: ToolResult }> {
  // `fds`: the archive opened once and named `/proc/self/fd/3` (lib/phases/pinned.ts); `shownAs`: its path, for people.
  const cmd: Command = ctx.fds ? { ...listCommand(archive), fds: ctx.fds } : listCommand(archive);
  const r = await runCommand(cmd, { phase: ctx.phase, captureStdout: true });
  ctx.log?.line(`$ ${displayCommand(cmd)}  (exit ${r.code}, ${r.stdoutLines} lines)`);
  if (r.code !== 0) {
    throw toolFailure(
      ctx.phase,
      cmd,
      r,
      `${ctx.shownAs ?? archive} is not a readable pg_dump archive (custom-format file or directory-format directory); it may be truncated or corrupt; make a new dump`,
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
  const stderr = stderrCollector(ctx);
  await loadZx();
  const run = startPipeline(render, apply, preludeSql, marker, stderr.collect, ctx);
  const [renderOut, psqlOutcome] = await Promise.all([run.renderDone, run.psqlDone]);
  await Promise.all(run.readers);
  const durationMs = Date.now() - started;
  ctx.log?.line(
    `pg_restore exit ${renderOut.exitCode ?? renderOut.signal}, psql exit ${psqlOutcome.exitCode ?? psqlOutcome.signal}${run.state.committed ? ', COMMIT sent after psql consumed the script' : ', no COMMIT sent'} in ${durationMs} ms`,
  );
  return judgePipeline({ render, apply, mode, ctx, durationMs, renderOut, psqlOutcome, ...stderr, state: run.state });
}

/** The pipeline's stderr lines: logged (redacted), handed to `ctx.progress`, the last TAIL_LINES kept for the error. */
function stderrCollector(ctx: ToolCtx) {
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
  return { tail, early, collect };
}

/** What the pipeline saw: psql echoed the marker (`consumed`), psql exited, COMMIT was sent. */
interface PipelineState {
  consumed: boolean;
  psqlExited: boolean;
  committed: boolean;
}

/**
 * Start psql and pg_restore, pipe the script (BEGIN and the prelude first) and watch psql's stdout for the marker:
 * COMMIT is written only when psql echoed it. Returns both tools' outcome promises, the line readers to await, and
 * the shared state.
 */
function startPipeline(
  render: Command,
  apply: Command,
  preludeSql: string[],
  marker: string,
  collect: (prefix: string) => (raw: string) => void,
  ctx: ToolCtx,
) {
  const state: PipelineState = { consumed: false, psqlExited: false, committed: false };
  const psqlP = startTool(apply, { stdin: true });
  const renderP = startTool(render);
  const psqlChild = psqlP.child!;
  const renderChild = renderP.child!;
  const stdin = psqlChild.stdin!;
  stdin.on('error', () => {
    /* EPIPE when psql stopped at an error: its exit code tells */
  });
  const psqlOut = eachLine(psqlChild.stdout, (raw) => {
    if (raw.trim() === marker) {
      state.consumed = true;
      // The whole script ran inside the transaction; only now, and only if psql is still there, commit.
      if (!state.psqlExited && !stdin.destroyed) {
        state.committed = true;
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
    if (o.exitCode === 0 && !state.psqlExited) {
      // Ask psql to prove it reached the end of the script before anything commits; only after the last byte.
      if ((await scriptEnded) && !state.psqlExited && !stdin.destroyed) stdin.write(`\n\\echo ${marker}\n`);
    } else if (!state.psqlExited) psqlChild.kill('SIGKILL');
    return o;
  });
  const psqlDone = psqlP.then((o) => {
    state.psqlExited = true;
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
  return { renderDone, psqlDone, readers: [psqlOut, psqlErr, renderErr], state };
}

/**
 * The pipeline's result: success only when both tools exited 0, psql echoed the marker and COMMIT was sent; else the
 * tool failure naming the cause (psql's error first: pg_restore dies of EPIPE when psql stopped).
 */
function judgePipeline(r: {
  render: Command;
  apply: Command;
  mode: RestoreMode;
  ctx: ToolCtx;
  durationMs: number;
  renderOut: { exitCode: number | null; signal?: NodeJS.Signals | string | null };
  psqlOutcome: { exitCode: number | null; signal?: NodeJS.Signals | string | null };
  tail: string[];
  early: string[];
  state: PipelineState;
}): ToolResult {
  const { ctx, psqlOutcome } = r;
  const rc = r.renderOut.exitCode ?? 128;
  const pc = psqlOutcome.exitCode ?? 128;
  if (notInstalled(rc, r.early)) throw notInstalledError(ctx.phase, 'pg_restore');
  if (notInstalled(pc, r.early)) throw notInstalledError(ctx.phase, 'psql');
  const result: ToolResult = { code: pc !== 0 ? pc : rc, durationMs: r.durationMs, stderrTail: r.tail, stdoutLines: 0 };
  if (rc === 0 && pc === 0 && r.state.consumed && r.state.committed) return result;
  const cause =
    pc !== 0 && psqlOutcome.signal !== 'SIGKILL'
      ? { cmd: r.apply, code: pc, meaning: psqlMeaning(pc) }
      : rc !== 0
        ? { cmd: r.render, code: rc, meaning: 'pg_restore could not read the archive to the end' }
        : { cmd: r.apply, code: pc, meaning: 'psql ended before confirming it had executed the whole script' };
  throw toolFailure(
    ctx.phase,
    cause.cmd,
    { ...result, code: cause.code, signal: undefined },
    `${cause.meaning}; ${pgRestoreMeaning({ ...result, stderrTail: [] }, r.mode).replace(/^the restore failed; /, '')}`,
    { log: ctx.log },
  );
}
