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
tuned=0
tuned_analyze=0
if [ -n "\${BENCH_DST_DB_TUNED:-}" ]; then
  # The same restore with the session settings the suite's restore phase would choose (PGOPTIONS), into a second
  # empty database: what pg_restore itself can do when told to.
  dst env PGOPTIONS="$BENCH_TUNED_PGOPTIONS" PGDATABASE="$BENCH_DST_DB_TUNED" pg_restore --no-owner --no-acl --single-transaction --exit-on-error --dbname="$BENCH_DST_DB_TUNED" "$BENCH_DUMP"
  t5=$(now)
  # Its own ANALYZE (not the default run's): both floors are restore + ANALYZE of what they restored.
  dst env PGDATABASE="$BENCH_DST_DB_TUNED" psql -X -q -v ON_ERROR_STOP=1 -c ANALYZE
  t6=$(now)
  tuned=$((t5 - t4))
  tuned_analyze=$((t6 - t5))
  # Proof that PGOPTIONS reached the restore's session: what a session of this environment is given.
  echo "BENCH_TUNED_SESSION $(dst env PGOPTIONS="$BENCH_TUNED_PGOPTIONS" PGDATABASE="$BENCH_DST_DB_TUNED" psql -X -A -t -v ON_ERROR_STOP=1 -c "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ' ' ORDER BY name) FROM pg_settings WHERE source = 'client'")"
fi
echo "BENCH dump_ms=$((t1 - t0)) restore_ms=$((t2 - t1)) analyze_ms=$((t3 - t2)) rsync_ms=$((t4 - t3)) restore_tuned_ms=$tuned analyze_tuned_ms=\${tuned_analyze:-0}"
`;

export const RAW_FLOOR_SCRIPT = `#!/usr/bin/env bash
# The floors of verification, each step both sides at once:
# (a) one count(*) per table (psql -f), source and target at once;
# (b) the cheapest full-content hash: the suite's own checksum SQL for every table (psql -f), source and target at once;
# (c) a shell census: every file and directory of the target tree (find) and every stored path (COPY), both sorted in
#     byte order, compared with comm (dangling references, unreferenced entries);
# and a plain file count of the target tree (find | wc -l, the old floor of the census).
set -euo pipefail
now() { local t=\${EPOCHREALTIME/./}; echo \$((t / 1000)); }
src() { PGHOST="$BENCH_SRC_HOST" PGPORT="$BENCH_SRC_PORT" PGUSER="$BENCH_SRC_USER" PGPASSWORD="$BENCH_SRC_PASSWORD" PGDATABASE="$BENCH_SRC_DB" "$@"; }
dst() { PGHOST="$BENCH_DST_HOST" PGPORT="$BENCH_DST_PORT" PGUSER="$BENCH_DST_USER" PGPASSWORD="$BENCH_DST_PASSWORD" PGDATABASE="$BENCH_DST_DB" "$@"; }
t0=$(now)
src psql -X -q -A -t -v ON_ERROR_STOP=1 -f "$BENCH_COUNT_SQL" > "$BENCH_OUT/src-counts.txt" & a=$!
dst psql -X -q -A -t -v ON_ERROR_STOP=1 -f "$BENCH_COUNT_SQL" > "$BENCH_OUT/dst-counts.txt" & b=$!
wait $a; wait $b
t1=$(now)
find "$BENCH_DST_ASSETS" -type f | wc -l > "$BENCH_OUT/find-count.txt"
t2=$(now)
src psql -X -q -A -t -v ON_ERROR_STOP=1 -f "$BENCH_HASH_SQL" > "$BENCH_OUT/src-hashes.txt" & a=$!
dst psql -X -q -A -t -v ON_ERROR_STOP=1 -f "$BENCH_HASH_SQL" > "$BENCH_OUT/dst-hashes.txt" & b=$!
wait $a; wait $b
t3=$(now)
( cd "$BENCH_DST_ASSETS" && find . -mindepth 1 \\( -type f -printf 'f %P\\n' \\) -o \\( -type d -printf 'd %P\\n' \\) | LC_ALL=C sort > "$BENCH_OUT/tree.txt" ) & a=$!
dst psql -X -q -v ON_ERROR_STOP=1 -f "$BENCH_CENSUS_SQL" | LC_ALL=C sort -u > "$BENCH_OUT/db.txt" & b=$!
wait $a; wait $b
LC_ALL=C comm -13 "$BENCH_OUT/tree.txt" "$BENCH_OUT/db.txt" | wc -l > "$BENCH_OUT/dangling.txt"
LC_ALL=C comm -23 "$BENCH_OUT/tree.txt" "$BENCH_OUT/db.txt" | { grep -c '^f ' || true; } > "$BENCH_OUT/unreferenced.txt"
t4=$(now)
echo "BENCH count_ms=$((t1 - t0)) find_ms=$((t2 - t1)) hash_ms=$((t3 - t2)) census_ms=$((t4 - t3))"
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
  /** The same pg_restore with the tuned session settings (PGOPTIONS), when asked for. */
  restoreTunedMs?: number;
  /** The ANALYZE of that second database (plain, one connection), when asked for. */
  analyzeTunedMs?: number;
  /** `name=value` of every setting a session with the tuned PGOPTIONS gets from the client, when asked for. */
  tunedSession?: string;
}

export interface RawFloorResult {
  wallMs: number;
  /** (a) count(*) of every table, both sides at once. */
  countMs: number;
  /** (b) the suite's checksum SQL for every table, both sides at once. */
  hashMs: number;
  /** `find DST -type f | wc -l`. */
  findMs: number;
  /** (c) find + COPY of every stored path + sort + comm. */
  censusMs: number;
  /** Tables whose source and target counts differ (a sanity check of the copy). */
  countMismatches: string[];
  /** Tables whose source and target checksums differ (the same sanity check, by content). */
  hashMismatches: string[];
  filesFound: number;
  /** What the shell census found: stored paths with no entry, files no stored path names (dir coverage ignored). */
  census: { dangling: number; unreferenced: number };
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

/** Run the raw copy once (into an empty target database and directory; `tuned`: a second restore with PGOPTIONS). */
export async function rawCopy(
  sides: RawSides,
  workDir: string,
  logFile: string,
  tuned?: { db: string; pgOptions: string },
): Promise<RawCopyResult> {
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
    ...(tuned ? { BENCH_DST_DB_TUNED: tuned.db, BENCH_TUNED_PGOPTIONS: tuned.pgOptions } : {}),
  };
  try {
    const r = await measure('bash', [script], { cwd: workDir, env, logFile });
    if (r.code !== 0)
      throw new RawToolError(`the raw copy script failed (exit ${r.code}); its output:\n${logTail(logFile)}`);
    const text = fs.readFileSync(logFile, 'utf8');
    const t = parseBenchLine(text);
    if (t.dump_ms === undefined) throw new RawToolError(`the raw copy script printed no timings; see ${logFile}`);
    return {
      wallMs: r.wallMs,
      dumpMs: t.dump_ms,
      restoreMs: t.restore_ms,
      analyzeMs: t.analyze_ms,
      rsyncMs: t.rsync_ms,
      stepsMs: t.dump_ms + t.restore_ms + t.analyze_ms + t.rsync_ms,
      restoreTunedMs: tuned ? t.restore_tuned_ms : undefined,
      analyzeTunedMs: tuned ? t.analyze_tuned_ms : undefined,
      tunedSession: tuned ? /^BENCH_TUNED_SESSION (.*)$/m.exec(text)?.[1]?.trim() : undefined,
    };
  } finally {
    fs.rmSync(dump, { force: true });
  }
}

/** The SQL files of the floor: counts, the suite's checksum per table, the stored paths for the shell census. */
export interface FloorSql {
  count: string;
  hash: string;
  census: string;
}

/** Run the floor once against a copied target. */
export async function rawFloor(
  sides: RawSides,
  sql: FloorSql,
  workDir: string,
  logFile: string,
): Promise<RawFloorResult> {
  fs.mkdirSync(workDir, { recursive: true });
  const script = writeScript(workDir, 'raw-floor.sh', RAW_FLOOR_SCRIPT);
  const files = { count: 'counts.sql', hash: 'hashes.sql', census: 'census.sql' };
  for (const [k, f] of Object.entries(files)) fs.writeFileSync(path.join(workDir, f), sql[k as keyof FloorSql]);
  const env = {
    ...baseEnv(),
    ...sideEnv('SRC', sides.src),
    ...sideEnv('DST', sides.dst),
    BENCH_COUNT_SQL: path.join(workDir, files.count),
    BENCH_HASH_SQL: path.join(workDir, files.hash),
    BENCH_CENSUS_SQL: path.join(workDir, files.census),
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
          const i = l.indexOf('|');
          return [l.slice(0, i), l.slice(i + 1)] as const;
        }),
    );
  const differ = (a: Map<string, string>, b: Map<string, string>) =>
    [...a]
      .filter(([table, n]) => b.get(table) !== n)
      .map(([table, n]) => `${table}: source ${n}, target ${b.get(table) ?? 'missing'}`);
  return {
    wallMs: r.wallMs,
    countMs: t.count_ms,
    hashMs: t.hash_ms,
    findMs: t.find_ms,
    censusMs: t.census_ms,
    countMismatches: differ(parse(read('src-counts.txt')), parse(read('dst-counts.txt'))),
    hashMismatches: differ(parse(read('src-hashes.txt')), parse(read('dst-hashes.txt'))),
    filesFound: Number(read('find-count.txt').trim()),
    census: {
      dangling: Number(read('dangling.txt').trim()),
      unreferenced: Number(read('unreferenced.txt').trim() || 0),
    },
  };
}

/** The census floor's COPY of every stored path, as `f <relative path>` / `d <relative path>` lines. */
export function censusFloorSql(
  columns: Array<{ table: string; column: string; kind: 'file' | 'dir' }>,
  prefix: string,
): string {
  const pfx = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const parts = columns.map(
    (c) =>
      `SELECT '${c.kind === 'file' ? 'f' : 'd'} ' || rtrim(substr(${c.column}, ${pfx.length + 1}), '/') FROM ${c.table} WHERE ${c.column} IS NOT NULL`,
  );
  return `COPY (${parts.join(' UNION ALL ')}) TO STDOUT;\n`;
}
