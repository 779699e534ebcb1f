/**
 * Raw floors of the scale engines (issue 28), as an operator would run them by hand, beside the pg_dump | pg_restore
 * and rsync floors of ./raw.ts:
 * - copy: `pgcopydb clone` with 1 job and with N jobs (`--table-jobs N --index-jobs N`), each into its own empty
 *   target database, and pg_dump → pg_restore (custom format, one transaction) into a third, all from the same source;
 * - mirror: `fpsync -n N` (rsync workers on this machine) of the source tree into an empty directory.
 * The script times each step with bash's $EPOCHREALTIME and prints one `BENCH` line (./raw.ts parseBenchLine), and a
 * `BENCH_STEP` line as each copy ends (read by no parser: a run stopped half-way still shows those steps in its log).
 * Passwords: a 0600 passfile (PGPASSFILE); the connection strings pgcopydb gets (PGCOPYDB_*_PGURI) carry none, so the
 * pg_dump / pg_restore it starts never show one on their command lines.
 * The harness runs it with BENCH_ENGINES=1 (lib/bench/harness.ts engineReps), beside a suite copy with
 * COPY_ENGINE=pgcopydb + ASSETS_ENGINE=fpsync; `engineFigures` makes their figures and lib/bench/report.ts their rows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { formatUrl, type Dsn } from '../core/dsn.ts';
import { logTail, measure } from './run.ts';
import { stat, type Figure } from './report.ts';
import type { SuiteRun } from './suite.ts';
import { parseBenchLine, RawToolError } from './raw.ts';

export const RAW_ENGINES_SCRIPT = `#!/usr/bin/env bash
# Raw floors of the scale engines: pg_dump|pg_restore, pgcopydb at 1 and N jobs, fpsync at N workers.
set -euo pipefail
now() { local t=\${EPOCHREALTIME/./}; echo \$((t / 1000)); }
export PGPASSFILE="$BENCH_PASSFILE"
clone() { # $1 = jobs, $2 = target URI, $3 = its --dir
  PGCOPYDB_SOURCE_PGURI="$BENCH_SRC_URI" PGCOPYDB_TARGET_PGURI="$2" \\
    pgcopydb clone --dir="$3" --table-jobs="$1" --index-jobs="$1" --no-owner --no-acl --restart
}
t0=$(now)
pg_dump --format=custom --no-owner --no-acl --file="$BENCH_DIR/raw.dump" --dbname="$BENCH_SRC_URI"
pg_restore --no-owner --no-acl --single-transaction --exit-on-error --dbname="$BENCH_DST_URI_DUMP" "$BENCH_DIR/raw.dump"
t1=$(now)
echo "BENCH_STEP dump_restore_ms=$((t1 - t0))"
rm -f "$BENCH_DIR/raw.dump"
clone 1 "$BENCH_DST_URI_1" "$BENCH_DIR/pgcopydb-1"
t2=$(now)
echo "BENCH_STEP pgcopydb_1_ms=$((t2 - t1))"
clone "$BENCH_JOBS" "$BENCH_DST_URI_N" "$BENCH_DIR/pgcopydb-n"
t3=$(now)
echo "BENCH_STEP pgcopydb_n_ms=$((t3 - t2))"
fp=0
if [ -n "\${BENCH_SRC_ASSETS:-}" ]; then
  fpsync -n "$BENCH_JOBS" -t "$BENCH_DIR/fpsync" -f "$BENCH_FILES_PER_JOB" "$BENCH_SRC_ASSETS/" "$BENCH_DST_ASSETS/"
  t4=$(now)
  fp=$((t4 - t3))
fi
echo "BENCH dump_restore_ms=$((t1 - t0)) pgcopydb_1_ms=$((t2 - t1)) pgcopydb_n_ms=$((t3 - t2)) fpsync_n_ms=$fp"
`;

/** Timings of one RAW_ENGINES_SCRIPT run, in ms. */
export interface RawEnginesResult {
  wallMs: number;
  /** pg_dump (custom) + pg_restore --single-transaction: today's default path without ANALYZE. */
  dumpRestoreMs: number;
  /** pgcopydb clone, 1 table job and 1 index job. */
  pgcopydb1Ms: number;
  /** pgcopydb clone, `jobs` table jobs and `jobs` index jobs. */
  pgcopydbNMs: number;
  /** fpsync -n `jobs`, or undefined when no tree was given. */
  fpsyncNMs?: number;
  jobs: number;
}

export interface RawEnginesInput {
  src: Dsn;
  /** Three empty target databases on the same server: for pg_restore, pgcopydb ×1 and pgcopydb ×N. */
  dst: { dump: Dsn; one: Dsn; n: Dsn };
  jobs: number;
  /**
   * Session settings of every target connection (`-c name=value` in the URIs' `options`), the same for pg_restore and
   * both pgcopydb runs (e.g. the restore's maintenance_work_mem, lib/phases/restore-tuning.ts); default none.
   */
  sessionSettings?: Array<[string, string]>;
  /** Source tree and an empty target directory for fpsync (optional). */
  assets?: { src: string; dst: string; filesPerJob?: number };
}

/** The passfile lines for every side (`:` and `\` escaped as libpq wants). */
export function enginesPassfile(dsns: readonly Dsn[]): string {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  return dsns
    .filter((d) => d.password !== undefined)
    .map((d) => [d.host ?? 'localhost', String(d.port), d.database, d.user ?? '*', d.password!].map(esc).join(':'))
    .join('\n')
    .concat('\n');
}

/** The script's environment: URIs without password, the passfile, the jobs. Nothing secret but the file's path. */
export function enginesEnv(input: RawEnginesInput, dir: string, passfile: string): NodeJS.ProcessEnv {
  const uri = (d: Dsn) => formatUrl({ ...d, password: undefined });
  const options = (input.sessionSettings ?? []).map(([k, v]) => `-c ${k}=${v}`).join(' ');
  const target = (d: Dsn) => uri(options ? { ...d, params: { ...d.params, options } } : d);
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    HOME: process.env.HOME ?? '/tmp',
    BENCH_DIR: dir,
    BENCH_PASSFILE: passfile,
    BENCH_SRC_URI: uri(input.src),
    BENCH_DST_URI_DUMP: target(input.dst.dump),
    BENCH_DST_URI_1: target(input.dst.one),
    BENCH_DST_URI_N: target(input.dst.n),
    BENCH_JOBS: String(input.jobs),
    ...(input.assets
      ? {
          BENCH_SRC_ASSETS: input.assets.src,
          BENCH_DST_ASSETS: input.assets.dst,
          BENCH_FILES_PER_JOB: String(input.assets.filesPerJob ?? 20_000),
        }
      : {}),
  };
}

/**
 * Run the engines' raw floors once (see the module comment). The targets must be empty databases; the work folder
 * holds the script, the passfile (removed afterwards) and the tools' folders. Throws RawToolError with the log tail
 * when a step fails.
 */
export async function rawEngines(input: RawEnginesInput, workDir: string, logFile: string): Promise<RawEnginesResult> {
  fs.mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const script = path.join(workDir, 'raw-engines.sh');
  fs.writeFileSync(script, RAW_ENGINES_SCRIPT, { mode: 0o700 });
  const passfile = path.join(workDir, 'engines.pgpass');
  fs.writeFileSync(passfile, enginesPassfile([input.src, input.dst.dump, input.dst.one, input.dst.n]), {
    mode: 0o600,
  });
  try {
    const r = await measure('bash', [script], { cwd: workDir, env: enginesEnv(input, workDir, passfile), logFile });
    if (r.code !== 0)
      throw new RawToolError(`the raw engines script failed (exit ${r.code}); its output:\n${logTail(logFile)}`);
    const t = parseBenchLine(fs.readFileSync(logFile, 'utf8'));
    if (t.pgcopydb_1_ms === undefined)
      throw new RawToolError(`the raw engines script printed no timings; see ${logFile}`);
    return {
      wallMs: r.wallMs,
      dumpRestoreMs: t.dump_restore_ms,
      pgcopydb1Ms: t.pgcopydb_1_ms,
      pgcopydbNMs: t.pgcopydb_n_ms,
      fpsyncNMs: input.assets ? t.fpsync_n_ms : undefined,
      jobs: input.jobs,
    };
  } finally {
    fs.rmSync(passfile, { force: true });
  }
}

/** The ratios the benchmark table shows: each engine against pg_dump | pg_restore (below 1 = faster). */
export function engineRatios(r: RawEnginesResult): { pgcopydb1: number; pgcopydbN: number; nOver1: number } {
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    pgcopydb1: round(r.pgcopydb1Ms / r.dumpRestoreMs),
    pgcopydbN: round(r.pgcopydbNMs / r.dumpRestoreMs),
    nOver1: round(r.pgcopydbNMs / r.pgcopydb1Ms),
  };
}

/**
 * The engines' figures of a scale (ms, medians over the repetitions): the suite's `phase restore` (= the pgcopydb
 * copy) and `phase mirror` (= fpsync) under BENCH_ENGINES, and each raw floor. Keys `copy.engines.*`, `mirror.engines.*`.
 */
export function engineFigures(suite: SuiteRun[], raw: RawEnginesResult[]): Record<string, Figure> {
  const phase = (r: SuiteRun, name: string) =>
    r.code === 0 ? r.phases?.find((p) => p.name === name)?.durationMs : undefined;
  return {
    'copy.engines.suite.restore': stat(
      suite.map((r) => phase(r, 'restore')),
      'ms',
      'the engine suite run failed',
    ),
    'mirror.engines.suite.mirror': stat(
      suite.map((r) => phase(r, 'mirror')),
      'ms',
      'the engine suite run failed',
    ),
    'copy.engines.raw.dumpRestore': stat(
      raw.map((r) => r.dumpRestoreMs),
      'ms',
    ),
    'copy.engines.raw.pgcopydb1': stat(
      raw.map((r) => r.pgcopydb1Ms),
      'ms',
    ),
    'copy.engines.raw.pgcopydbN': stat(
      raw.map((r) => r.pgcopydbNMs),
      'ms',
    ),
    'mirror.engines.raw.fpsyncN': stat(
      raw.map((r) => r.fpsyncNMs),
      'ms',
      'no asset tree',
    ),
  };
}
