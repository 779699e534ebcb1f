/**
 * The raw-tool baselines the suite is compared with, as plain bash scripts an operator would write by hand:
 * - copy: pg_dump, pg_restore (+ ANALYZE, which the suite's restore phase also runs) and rsync with the suite's flags;
 * - floor: one `SELECT count(*)` per table on each side with psql, and `find DST -type f | wc -l`.
 * Each script times its own steps with bash's $EPOCHREALTIME (no extra process) and prints them on a `BENCH` line.
 * Connection parameters and passwords reach the tools as PG* variables, never as arguments.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Dsn } from '../core/dsn.ts';
import { logTail, measure } from './run.ts';
import { quoteLiteral } from '../core/ident.ts';

export const RAW_COPY_SCRIPT = `#!/usr/bin/env bash
# Raw baseline of the suite's copy phases: the same commands and flags, run by hand (ANALYZE after the restore, as the
# suite's restore phase does and as any restore needs before row estimates mean anything).
set -euo pipefail
now() { local t=\${EPOCHREALTIME/./}; echo \$((t / 1000)); }
src() { PGHOST="$BENCH_SRC_HOST" PGPORT="$BENCH_SRC_PORT" PGUSER="$BENCH_SRC_USER" PGPASSWORD="$BENCH_SRC_PASSWORD" PGDATABASE="$BENCH_SRC_DB" "$@"; }
dst() { PGHOST="$BENCH_DST_HOST" PGPORT="$BENCH_DST_PORT" PGUSER="$BENCH_DST_USER" PGPASSWORD="$BENCH_DST_PASSWORD" PGDATABASE="$BENCH_DST_DB" "$@"; }
t0=$(now)
src pg_dump --format=custom --no-owner --no-acl --file="$BENCH_DUMP"
t1=$(now)
dst pg_restore --no-owner --no-acl --single-transaction --exit-on-error --dbname="$BENCH_DST_DB" "$BENCH_DUMP"
t2=$(now)
dst psql -X -q -v ON_ERROR_STOP=1 -c ANALYZE
t3=$(now)
rsync -a "$BENCH_SRC_ASSETS/" "$BENCH_DST_ASSETS/"
t4=$(now)
echo "BENCH dump_ms=$((t1 - t0)) restore_ms=$((t2 - t1)) analyze_ms=$((t3 - t2)) rsync_ms=$((t4 - t3))"
`;

export const RAW_FLOOR_SCRIPT = `#!/usr/bin/env bash
# The physical floor of verification: one count(*) per table on each side, and a file count of the target tree.
set -euo pipefail
now() { local t=\${EPOCHREALTIME/./}; echo \$((t / 1000)); }
src() { PGHOST="$BENCH_SRC_HOST" PGPORT="$BENCH_SRC_PORT" PGUSER="$BENCH_SRC_USER" PGPASSWORD="$BENCH_SRC_PASSWORD" PGDATABASE="$BENCH_SRC_DB" "$@"; }
dst() { PGHOST="$BENCH_DST_HOST" PGPORT="$BENCH_DST_PORT" PGUSER="$BENCH_DST_USER" PGPASSWORD="$BENCH_DST_PASSWORD" PGDATABASE="$BENCH_DST_DB" "$@"; }
t0=$(now)
src psql -X -q -A -t -v ON_ERROR_STOP=1 -f "$BENCH_COUNT_SQL" > "$BENCH_OUT/src-counts.txt"
t1=$(now)
dst psql -X -q -A -t -v ON_ERROR_STOP=1 -f "$BENCH_COUNT_SQL" > "$BENCH_OUT/dst-counts.txt"
t2=$(now)
find "$BENCH_DST_ASSETS" -type f | wc -l > "$BENCH_OUT/find-count.txt"
t3=$(now)
echo "BENCH count_src_ms=$((t1 - t0)) count_dst_ms=$((t2 - t1)) find_ms=$((t3 - t2))"
`;

/** One count(*) per table; `tables` are already-quoted qualified names. */
export function countSql(tables: string[]): string {
  return tables.map((t) => `SELECT ${quoteLiteral(t)}, count(*) FROM ${t};`).join('\n') + '\n';
}

export function sideEnv(prefix: 'SRC' | 'DST', d: Dsn): Record<string, string> {
  return {
    [`BENCH_${prefix}_HOST`]: d.host ?? '',
    [`BENCH_${prefix}_PORT`]: String(d.port),
    [`BENCH_${prefix}_USER`]: d.user ?? '',
    [`BENCH_${prefix}_PASSWORD`]: d.password ?? '',
    [`BENCH_${prefix}_DB`]: d.database,
  };
}

/** Parse the `BENCH k=v ...` line a script prints. */
export function parseBenchLine(text: string): Record<string, number> {
  const line = text
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('BENCH '));
  if (!line) return {};
  const out: Record<string, number> = {};
  for (const m of line.matchAll(/(\w+)=(\d+)/g)) out[m[1]] = Number(m[2]);
  return out;
}

export interface RawCopyResult {
  wallMs: number;
  dumpMs: number;
  restoreMs: number;
  analyzeMs: number;
  rsyncMs: number;
  /** dump + restore + analyze + rsync, without bash's own start. */
  stepsMs: number;
}

export interface RawFloorResult {
  wallMs: number;
  countSrcMs: number;
  countDstMs: number;
  /** count(*) of every table on both sides. */
  countMs: number;
  findMs: number;
  /** Tables whose source and target counts differ (a sanity check of the copy). */
  countMismatches: string[];
  filesFound: number;
}

export class RawToolError extends Error {
  override name = 'RawToolError';
}

function writeScript(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, body, { mode: 0o700 });
  return file;
}

export interface RawSides {
  src: Dsn;
  dst: Dsn;
  srcAssets: string;
  dstAssets: string;
}

function baseEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    HOME: process.env.HOME ?? '/tmp',
  };
}

/** Run the raw copy once (into an empty target database and directory). */
export async function rawCopy(sides: RawSides, workDir: string, logFile: string): Promise<RawCopyResult> {
  fs.mkdirSync(workDir, { recursive: true });
  const script = writeScript(workDir, 'raw-copy.sh', RAW_COPY_SCRIPT);
  const dump = path.join(workDir, 'raw.dump');
  const env = {
    ...baseEnv(),
    ...sideEnv('SRC', sides.src),
    ...sideEnv('DST', sides.dst),
    BENCH_DUMP: dump,
    BENCH_SRC_ASSETS: sides.srcAssets,
    BENCH_DST_ASSETS: sides.dstAssets,
  };
  try {
    const r = await measure('bash', [script], { cwd: workDir, env, logFile });
    if (r.code !== 0)
      throw new RawToolError(`the raw copy script failed (exit ${r.code}); its output:\n${logTail(logFile)}`);
    const t = parseBenchLine(fs.readFileSync(logFile, 'utf8'));
    if (t.dump_ms === undefined) throw new RawToolError(`the raw copy script printed no timings; see ${logFile}`);
    return {
      wallMs: r.wallMs,
      dumpMs: t.dump_ms,
      restoreMs: t.restore_ms,
      analyzeMs: t.analyze_ms,
      rsyncMs: t.rsync_ms,
      stepsMs: t.dump_ms + t.restore_ms + t.analyze_ms + t.rsync_ms,
    };
  } finally {
    fs.rmSync(dump, { force: true });
  }
}

/** Run the floor once against a copied target. */
export async function rawFloor(
  sides: RawSides,
  tables: string[],
  workDir: string,
  logFile: string,
): Promise<RawFloorResult> {
  fs.mkdirSync(workDir, { recursive: true });
  const script = writeScript(workDir, 'raw-floor.sh', RAW_FLOOR_SCRIPT);
  const sql = path.join(workDir, 'counts.sql');
  fs.writeFileSync(sql, countSql(tables));
  const env = {
    ...baseEnv(),
    ...sideEnv('SRC', sides.src),
    ...sideEnv('DST', sides.dst),
    BENCH_COUNT_SQL: sql,
    BENCH_OUT: workDir,
    BENCH_DST_ASSETS: sides.dstAssets,
  };
  const r = await measure('bash', [script], { cwd: workDir, env, logFile });
  if (r.code !== 0)
    throw new RawToolError(`the raw floor script failed (exit ${r.code}); its output:\n${logTail(logFile)}`);
  const t = parseBenchLine(fs.readFileSync(logFile, 'utf8'));
  const read = (f: string) => fs.readFileSync(path.join(workDir, f), 'utf8');
  const parse = (text: string) =>
    new Map(
      text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const i = l.lastIndexOf('|');
          return [l.slice(0, i), l.slice(i + 1)] as const;
        }),
    );
  const srcCounts = parse(read('src-counts.txt'));
  const dstCounts = parse(read('dst-counts.txt'));
  const countMismatches = [...srcCounts]
    .filter(([table, n]) => dstCounts.get(table) !== n)
    .map(([table, n]) => `${table}: source ${n}, target ${dstCounts.get(table) ?? 'missing'}`);
  return {
    wallMs: r.wallMs,
    countSrcMs: t.count_src_ms,
    countDstMs: t.count_dst_ms,
    countMs: t.count_src_ms + t.count_dst_ms,
    findMs: t.find_ms,
    countMismatches,
    filesFound: Number(read('find-count.txt').trim()),
  };
}
