/**
 * ASSETS_ENGINE=fpsync: the asset mirror by fpsync (fpart's parallel rsync, https://www.fpart.org/fpsync/) instead
 * of one rsync process. fpart walks SRC_ASSETS_DIR and cuts it into partitions (at most `filesPerJob` files each);
 * fpsync runs ASSETS_JOBS rsync jobs at once, one partition each, on this machine or on the ASSETS_WORKERS hosts over
 * ssh. rsync's single process and in-memory file list are the known limit for trees of tens of millions of files.
 *
 * The guarantees of today's mirror (lib/phases/mirror-assets.ts, lib/core/tools.ts rsyncCommand), and how each is kept:
 * - guards on the destination: DST_ASSETS_DIR must pass lib/core/config.ts refusedAssetsDir (never `/`, a system
 *   directory, a home); only its last component is ever created (its parent must exist); the source must be local
 *   (fpart crawls it here; a remote SRC_ASSETS_DIR is refused by the configuration, exit 2);
 * - --delete only when ASSETS_DELETE allows it: fpsync deletes only in its per-directory mode (`-E`, which runs
 *   `rsync -d --relative --delete --delete-after` per directory), so `-E` is used exactly when ASSETS_DELETE is on and
 *   never otherwise (the caller runs the deletion guards of lib/phases/guards.ts first, as for rsync);
 * - content-aware repeat: `--checksum` in every job when the content check is on (mirror-assets.ts mirrorChecksum);
 * - exit-code meanings: fpsync itself only says "some job wrote to stderr" (exit 1). Each job's rsync runs through a
 *   small wrapper (`-T`) that writes `fpsync-job: rsync exit code N` to the job's stderr log, so the run reports every
 *   job's rsync code with lib/core/tools.ts rsyncMeaning (23 partial, 24 vanished, 30 timeout, …);
 * - no secret in argv: nothing secret is needed (ssh workers authenticate with the operator's keys / agent);
 * - interruption: fpsync runs as the leader of its own session (./process-group.ts `startEngine`, as pgcopydb does):
 *   stopping the run signals every process of it, rsync jobs included.
 * What is NOT kept: hard links across partitions (rsync `--hard-links` sees one partition at a time, so a file linked
 * from two partitions is copied twice); rsync's `--stats` are per job and stay in the job logs
 * (WORK_DIR/fpsync/log/<run id>/<part>.stdout), not summed into one figure.
 * Remote workers (ASSETS_WORKERS): both trees and the fpsync folder (WORK_DIR/fpsync, `-d`) must exist at the same
 * paths on every worker (shared storage), and ssh to each must work without a prompt.
 */
import fs from 'node:fs';
import path from 'node:path';
import { refusedAssetsDir, type Config } from '../../core/config.ts';
import { EXIT, PhaseError } from '../../core/errors.ts';
import { resolveOnPath } from '../../core/tools.ts';
import { RSYNC_IO_TIMEOUT_S, RSYNC_PARTIAL_DIR, SAFE_LINKS_ARGS, rsyncMeaning } from '../commands.ts';
import { startEngine, type EngineExit, type EngineRun } from './process-group.ts';
import { mkdirPrivate } from '../../core/files.ts';

/** The subfolder of WORK_DIR that is fpsync's temp and shared dir. */
export const FPSYNC_DIR = 'fpsync';

/** Default files per partition (fpsync -f): big enough that fpsync's per-job overhead (~1 s) stays small. */
export const FPSYNC_FILES_PER_JOB = 20_000;

/** The marker our rsync wrapper writes to a job's stderr when rsync failed. */
export const JOB_EXIT_MARK = 'fpsync-job: rsync exit code ';

export interface FpsyncPlan {
  /** fpsync's arguments: never a secret. */
  args: string[];
  /** WORK_DIR/fpsync: fpsync's -t and -d. */
  dir: string;
  /** The rsync wrapper fpsync runs (-T), written by `writeWrapper`. */
  wrapper: string;
  /** The rsync the wrapper runs. */
  rsync: string;
  /** True when `-E` (per-directory mode with --delete) is on. */
  deletes: boolean;
  /** With ASSETS_WORKERS: the `ssh` fpsync finds first on PATH (`sshWrapperText`): never prompts, bounded connect. */
  ssh?: { dir: string; text: string };
}

export interface FpsyncOptions {
  /** rsync --checksum in every job (mirror-assets.ts mirrorChecksum decides). */
  checksum?: boolean;
  /** Files per partition (fpsync -f); default FPSYNC_FILES_PER_JOB. */
  filesPerJob?: number;
  /** The rsync executable; default rsync on PATH. */
  rsync?: string;
  /** An ssh_config for the ASSETS_WORKERS connections (port, key, known hosts); default the user's own. */
  sshConfigFile?: string;
  /** Seconds ssh waits to connect to a worker (default 10). */
  sshConnectTimeoutS?: number;
}

/** The rsync options of every job (fpsync forbids -a, -r and --delete in them: it adds recursion / deletion itself). */
export function jobRsyncOptions(config: Pick<Config, 'rsyncTimeoutS'>, checksum: boolean): string {
  return [
    // -a without -r (fpsync lists the files): links, perms, times, group, owner, devices/specials.
    '-lptgoD',
    '--numeric-ids',
    '--sparse',
    '--hard-links',
    // Symlinks pointing outside the tree are not copied (as in the rsync engine); the job logs name them.
    ...SAFE_LINKS_ARGS,
    ...(checksum ? ['--checksum'] : []),
    `--partial-dir=${RSYNC_PARTIAL_DIR}`,
    `--timeout=${config.rsyncTimeoutS ?? RSYNC_IO_TIMEOUT_S}`,
    '--itemize-changes',
    '--stats',
  ].join(' ');
}

/**
 * The fpsync command for `config`'s trees (SRC_ASSETS_DIR local, DST_ASSETS_DIR), ASSETS_JOBS, ASSETS_WORKERS and
 * ASSETS_DELETE. Pure. Throws PhaseError (exit 2) for a remote source or a refused destination.
 */
export function fpsyncPlan(
  config: Pick<
    Config,
    | 'srcAssetsDir'
    | 'srcAssetsRemote'
    | 'dstAssetsDir'
    | 'assetsDelete'
    | 'assetsJobs'
    | 'assetsWorkers'
    | 'rsyncTimeoutS'
  >,
  workDir: string,
  opts: FpsyncOptions = {},
): FpsyncPlan {
  if (!config.srcAssetsDir || config.srcAssetsRemote)
    throw new PhaseError('mirror', 'ASSETS_ENGINE=fpsync needs a local SRC_ASSETS_DIR', EXIT.usage);
  const refused = refusedAssetsDir(config.dstAssetsDir, process.env);
  if (refused) throw new PhaseError('mirror', refused, EXIT.usage);
  const dir = path.join(workDir, FPSYNC_DIR);
  const wrapper = path.join(dir, 'rsync-job.sh');
  const args = ['-v', '-v', `-n`, String(config.assetsJobs ?? 2), '-t', dir, '-d', dir, '-T', wrapper];
  args.push('-f', String(opts.filesPerJob ?? FPSYNC_FILES_PER_JOB));
  if (config.assetsWorkers?.length) args.push('-w', config.assetsWorkers.join(' '));
  if (config.assetsDelete) args.push('-E');
  args.push('-o', jobRsyncOptions(config, !!opts.checksum));
  args.push(config.srcAssetsDir.replace(/\/*$/, '/'), config.dstAssetsDir.replace(/\/*$/, '/'));
  const ssh = config.assetsWorkers?.length
    ? { dir: path.join(dir, 'bin'), text: sshWrapperText(opts.sshConnectTimeoutS ?? 10, opts.sshConfigFile) }
    : undefined;
  return { args, dir, wrapper, rsync: opts.rsync ?? 'rsync', deletes: !!config.assetsDelete, ssh };
}

/**
 * The `ssh` fpsync runs for a worker (it calls plain `ssh host '/bin/sh -s'`, no options of its own): BatchMode (a
 * prompt would hang an unattended run, as for the rsync mirror's --rsh), a bounded connect, the optional ssh_config.
 */
export function sshWrapperText(connectTimeoutS: number, configFile?: string): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cfg = configFile ? ` -F ${q(configFile)}` : '';
  // Its own folder is the first PATH entry (runGroup): drop it, so `ssh` is the real one.
  return [
    '#!/bin/sh',
    'PATH="${PATH#*:}"',
    `exec ssh${cfg} -o BatchMode=yes -o ConnectTimeout=${connectTimeoutS} "$@"`,
    '',
  ].join('\n');
}

/** The wrapper's text: run rsync, and on failure leave the exit code in the job's stderr log. */
export function wrapperText(rsync: string): string {
  const q = `'${rsync.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh\n${q} "$@"\nrc=$?\n[ "$rc" -eq 0 ] || echo "${JOB_EXIT_MARK}$rc" >&2\nexit "$rc"\n`;
}

/** The command as the log shows it. */
export function displayFpsync(plan: FpsyncPlan): string {
  return ['fpsync', ...plan.args.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a}'`))].join(' ');
}

// ---------------------------------------------------------------------------------------------------------------
// Progress and results

export interface FpsyncProgress {
  /** Partitions fpart has written so far. */
  partitions: number;
  /** True once fpart finished crawling (then `partitions` is the total). */
  crawled: boolean;
  jobsStarted: number;
  jobsDone: number;
}

export function emptyFpsyncProgress(): FpsyncProgress {
  return { partitions: 0, crawled: false, jobsStarted: 0, jobsDone: 0 };
}

/** Fold one fpsync -vv line (`<epoch> ==> [FPART] Partition 3 written`, …) into `p`; `changed` when it counted. */
export function parseFpsyncLine(line: string, p: FpsyncProgress): { progress: FpsyncProgress; changed: boolean } {
  const msg = line.replace(/^\d+\s+/, '');
  if (/^==> \[FPART\] Partition \d+ written/.test(msg)) p.partitions++;
  else if (/^<=== Fpart crawling finished/.test(msg)) p.crawled = true;
  else if (/^=> \[QMGR\] Starting job /.test(msg)) p.jobsStarted++;
  else if (/^<= \[QMGR\] Job \S+ finished/.test(msg)) p.jobsDone++;
  else return { progress: p, changed: false };
  return { progress: p, changed: true };
}

/** `jobs 3/10 done (2 running)`; the total gets a `+` while fpart is still crawling. */
export function fpsyncProgressLine(p: FpsyncProgress): string {
  return `jobs ${p.jobsDone}/${p.partitions}${p.crawled ? '' : '+'} done (${p.jobsStarted - p.jobsDone} running)`;
}

/** One failed job: its partition number, rsync's exit code (when the wrapper recorded it) and stderr lines. */
export interface FailedJob {
  part: string;
  rsyncCode?: number;
  meaning: string;
  stderr: string[];
}

/**
 * The failed jobs of run `runDir` (fpsync's `<dir>/log/<run id>/`): every `<part>.stderr` that is not empty, with the
 * rsync exit code our wrapper wrote and its meaning (lib/core/tools.ts rsyncMeaning).
 */
export function failedJobs(logDir: string): FailedJob[] {
  if (!fs.existsSync(logDir)) return [];
  const out: FailedJob[] = [];
  for (const f of fs.readdirSync(logDir).filter((n) => n.endsWith('.stderr'))) {
    const lines = fs.readFileSync(path.join(logDir, f), 'utf8').split('\n').filter(Boolean);
    if (!lines.length) continue;
    const mark = lines.map((l) => l.startsWith(JOB_EXIT_MARK) && Number(l.slice(JOB_EXIT_MARK.length))).find(Boolean);
    const rsyncCode = typeof mark === 'number' ? mark : undefined;
    const stderr = lines.filter((l) => !l.startsWith(JOB_EXIT_MARK)).slice(-5);
    const meaning = rsyncCode !== undefined ? rsyncMeaning(rsyncCode) : 'the job wrote to stderr (see its log)';
    out.push({ part: f.replace(/\.stderr$/, ''), rsyncCode, meaning, stderr });
  }
  return out.sort((a, b) => Number(a.part) - Number(b.part));
}

/** The fpsync run's id from its `Info: Run ID: <id>` line. */
export function runIdOf(line: string): string | undefined {
  return /Info: Run ID: (\S+)/.exec(line)?.[1];
}

// ---------------------------------------------------------------------------------------------------------------
// Running

/** A finished (or stopped) fpsync run: what every engine records (./process-group.ts), its progress, failed jobs. */
export interface FpsyncResult extends EngineExit {
  progress: FpsyncProgress;
  runId?: string;
  failed: FailedJob[];
}

/** A running mirror: `result` settles when fpsync and every process of its group have ended. */
export type FpsyncRun = EngineRun<FpsyncResult>;

/**
 * Start fpsync as planned: the fpsync folder (0700) and the wrapper are written first, DST_ASSETS_DIR is created when
 * only its last component is missing. `result` settles when no process of the run is left. Throws PhaseError (exit 2)
 * when fpsync or rsync is not installed or DST_ASSETS_DIR's parent is missing.
 */
export function startFpsync(
  plan: FpsyncPlan,
  dstRoot: string,
  opts: { bin?: string; onLine?: (l: string) => void; onProgress?: (p: FpsyncProgress) => void } = {},
): FpsyncRun {
  const bin = opts.bin ?? resolveOnPath('fpsync');
  const rsync = path.isAbsolute(plan.rsync) ? plan.rsync : resolveOnPath(plan.rsync);
  if (!bin || !rsync)
    throw new PhaseError(
      'mirror',
      `ASSETS_ENGINE=fpsync but ${bin ? 'rsync' : 'fpsync'} is not installed (apt-get install fpart rsync; scripts/bootstrap.sh installs them)`,
      EXIT.usage,
    );
  if (!fs.existsSync(dstRoot)) {
    if (!fs.existsSync(path.dirname(dstRoot)))
      throw new PhaseError('mirror', `DST_ASSETS_DIR's parent ${path.dirname(dstRoot)} does not exist`, EXIT.usage);
    fs.mkdirSync(dstRoot);
  }
  mkdirPrivate(plan.dir);
  fs.writeFileSync(plan.wrapper, wrapperText(rsync), { mode: 0o700 });
  if (plan.ssh) {
    mkdirPrivate(plan.ssh.dir);
    fs.writeFileSync(path.join(plan.ssh.dir, 'ssh'), plan.ssh.text, { mode: 0o700 });
  }
  return runGroup(bin, plan, opts);
}

function runGroup(
  bin: string,
  plan: FpsyncPlan,
  opts: { onLine?: (l: string) => void; onProgress?: (p: FpsyncProgress) => void },
): FpsyncRun {
  const progress = emptyFpsyncProgress();
  let runId: string | undefined;
  // With workers, our ssh wrapper comes first on PATH (fpsync looks ssh up with `command -v`).
  const env: Record<string, string> = plan.ssh
    ? { PATH: `${plan.ssh.dir}:${process.env.PATH ?? '/usr/bin:/bin'}` }
    : {};
  return startEngine(bin, plan.args, {
    env,
    cwd: plan.dir,
    onLine(line) {
      opts.onLine?.(line);
      if (/job control turned off/.test(line)) return undefined; // fpsync's `set -m` without a terminal: harmless
      runId ??= runIdOf(line);
      if (parseFpsyncLine(line, progress).changed) opts.onProgress?.(progress);
      return line;
    },
    finish: (exit) => ({
      ...exit,
      progress,
      runId,
      failed: runId ? failedJobs(path.join(plan.dir, 'log', runId)) : [],
    }),
  });
}

/**
 * Run the mirror to its end, progress through `say`. Returns the result when fpsync exited 0 and no job failed;
 * throws PhaseError (exit 3) listing each failed job with its rsync exit code and meaning.
 */
export async function runFpsync(
  plan: FpsyncPlan,
  dstRoot: string,
  io: {
    say(line: string): void;
    log?: (line: string) => void;
    bin?: string;
  },
): Promise<FpsyncResult> {
  io.say(displayFpsync(plan));
  let lastAt = 0;
  const run = startFpsync(plan, dstRoot, {
    bin: io.bin,
    onLine: io.log,
    onProgress(p) {
      if (Date.now() - lastAt < 2000) return;
      lastAt = Date.now();
      io.say(`progress: ${fpsyncProgressLine(p)}`);
    },
  });
  const r = await run.result;
  if (r.code === 0 && !r.failed.length) {
    io.say(`done: ${fpsyncProgressLine(r.progress)} in ${r.durationMs} ms`);
    return r;
  }
  const jobs = r.failed
    .map(
      (j) =>
        `job ${j.part}: rsync ${j.rsyncCode ?? '?'}: ${j.meaning}${j.stderr.length ? `\n      ${j.stderr.join('\n      ')}` : ''}`,
    )
    .join('\n    ');
  const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
  throw new PhaseError(
    'mirror',
    `fpsync ${how} after ${fpsyncProgressLine(r.progress)}; ${r.failed.length} job(s) failed, the target assets are incomplete${jobs ? `:\n    ${jobs}` : `\n  output (last lines):\n    ${r.tail.join('\n    ')}`}`,
    EXIT.phaseFailed,
    { toolExitCode: r.failed.find((j) => j.rsyncCode !== undefined)?.rsyncCode ?? r.code ?? undefined },
  );
}
