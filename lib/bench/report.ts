/**
 * The bench's results: figures (median, min, max of the repetitions, or "n/a" with the reason), the ratios against
 * the raw tools with the issue's targets, and the writers of bench.json and bench.md.
 */
import type { PeerRun } from './peer.ts';
import fs from 'node:fs';
import path from 'node:path';
import { FAMILIES, familyLabel, type Family } from './suite.ts';

export type Figure =
  | { kind: 'stat'; unit: 'ms' | 'MB' | 'n'; median: number; min: number; max: number; samples: number[] }
  | { kind: 'na'; reason: string };

export interface Target {
  op: '<=' | '<';
  value: number;
  /** What the value is compared with: a ratio, or an absolute figure (MB: the max; ms and count: the median). */
  of: 'ratio' | 'MB' | 'ms' | 'count';
}

export interface Row {
  /** Rows of the generated database this row was measured at ("all" for cross-scale rows). */
  scale: number | 'all';
  label: string;
  /** Figure keys (see METHOD) of the suite side and of the raw/floor side. */
  suite: string;
  base?: string;
  /** suite median / base median, when both are measured. */
  ratio: number | null;
  target?: Target;
  /** Whether the target is met; null when not judged (missing figure, partial measurement, no target). */
  met: boolean | null;
  note?: string;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  postgres: string;
  pgvector: string;
  pgDump: string;
  rsync: string;
}

export interface RedRun {
  run: 'copy' | 'verify' | 'overhead';
  rep: number;
  exitCode: number;
  /** Failed phase or checks, notes, and the log file. */
  detail: string;
}

export interface ScaleResult {
  /** BENCH_ROWS/BENCH_SCALES value asked for. */
  requestedRows: number;
  /** Rows actually generated, summed over the tables. */
  rows: number;
  rowsPerTable: Record<string, number>;
  /** Files in the asset tree (each referenced by rows). */
  files: number;
  generate: { databaseMs: number; assetsMs: number; databaseBytes: number };
  figures: Record<string, Figure>;
  /** Check families seen in the full verification run: checks and failures. */
  families: Partial<Record<Family, { checks: number; failed: number; files: string[] }>>;
  /** Suite runs that did not exit 0 (a benchmark of a red run is suspicious). */
  red: RedRun[];
  /** The node processes of the suite run with the largest memory peak at this scale. */
  memoryTop: Array<{ run: string; command: string; peakMb: number }>;
  /** What the "nothing to do" run still checked (families that ignore VALIDATE_TABLES / ASSET_COLUMNS show here). */
  overheadChecks?: string;
  /** seq_scan deltas per table and side: the row-count + checksum + path-prefix spec files, and discovery alone. */
  seqScans?: {
    fused: Record<'src' | 'dst', Record<string, number>>;
    discovery: Record<'src' | 'dst', Record<string, number>>;
  };
  /** pg_comparator against the suite's checksum + bisection, per table and repetition. */
  peer?: PeerRun[];
  warnings: string[];
}

export interface BenchResult {
  version: 1;
  date: string;
  machine: MachineInfo;
  config: {
    rows: number;
    files: number;
    reps: number;
    scales: number[];
    dims: number;
    /** BENCH_HNSW: whether the world had its HNSW index (absent in results written before the setting: true). */
    hnsw?: boolean;
    /** BENCH_SCHEMA_BEFORE, when set. */
    schemaBefore?: string;
  };
  /** How each figure is measured, by figure key. */
  method: Record<string, string>;
  scales: ScaleResult[];
  rows: Row[];
  durationMs: number;
}

/** How each figure is measured (also printed in bench.md). Keys are the figure keys of ScaleResult.figures. */
export const METHOD: Record<string, string> = {
  'copy.suite.phases':
    'sum of phases[].durationMs (preflight + dump + restore + mirror) in WORK_DIR/state.json of a full `npm run rehearse` run (node bin/run.mjs rehearse) into an empty target database and directory; that run checks only the tiny table bench_probe (the checks are measured separately)',
  'copy.suite.preflight': 'phases[preflight].durationMs of the same run',
  'copy.suite.dump': 'phases[dump].durationMs of the same run',
  'copy.suite.restore':
    'phases[restore].durationMs of the same run (pg_restore, then ANALYZE of the target on RESTORE_ANALYZE_JOBS=auto connections at once, largest table first)',
  'copy.suite.mirror':
    'phases[mirror].durationMs of the same run (rsync -a with --sparse --hard-links --partial --numeric-ids --itemize-changes --stats, output parsed)',
  'copy.suite.wall':
    'wall time of the whole `node bin/run.mjs rehearse` process (start, copy, vitest, the bench_probe checks, reports)',
  'copy.raw.steps':
    "the steps of a bash script running `pg_dump --format=custom --no-owner --no-acl`, `pg_restore --no-owner --no-acl --single-transaction --exit-on-error`, `psql -c ANALYZE` (the suite's restore phase analyzes too) and `rsync -a` into a fresh empty target database and directory, each step timed with $EPOCHREALTIME",
  'copy.raw.dump': 'the pg_dump step of the raw script',
  'copy.raw.restore': 'the pg_restore + ANALYZE steps of the raw script',
  'copy.raw.rsync': 'the rsync step of the raw script',
  'copy.raw.wall': 'wall time of the whole raw script (bash start included)',
  'verify.suite.wall':
    'wall time of `node bin/run.mjs rehearse --verify-only` with the default checks (CHECKSUM=full, HEALTH_CHECK=0) against the target of the last raw copy',
  'verify.suite.family':
    "sum of durationMs of the family's checks in REPORTS_DIR/runs/<id>/checks.json of that run (test bodies only; tests that run concurrently are each counted in full, so this is an upper bound of the family's share of the wall time)",
  'verify.suite.row-counts+orphans+path-prefix': 'row counts + orphans + path prefix family sums of the same run',
  'verify.floor.count':
    'floor (a): a bash script running psql -f with one `SELECT count(*)` per user table, on the source and the target at once (connection and psql start included)',
  'verify.floor.find': '`find DST_ASSETS_DIR -type f | wc -l` in the same script',
  'verify.floor.wall': 'wall time of that whole script',
  'verify.floor.hash':
    "floor (b): the suite's own checksum SQL (count + sum of the 64-bit row hashes, lib/checks/shared/table-scan.ts scanQuery) for every user table, one psql -f per side, source and target at once, in the same script",
  'verify.floor.census':
    'floor (c): `find DST -printf` of every file and directory and `psql COPY` of every stored path of the three asset columns, each piped into `LC_ALL=C sort`, at once, then `comm` both ways (dangling, unreferenced), in the same script',
  'verify.census.merge':
    "the census's duration inside the verification run, from its evidence in checks.json (\"walked in N ms\": from the cursor's DECLARE to the end of the merge of the byte-ordered tree walk with the grouped, sorted stored paths), without the sampled files' sha256 comparison the census family also runs; other checks run on the same cores and servers meanwhile",
  'verify.census.alone':
    "the census alone, floor (c)'s like-for-like partner: `runCensus` (lib/checks/families/asset-census/census.ts) of the same three asset columns against the same target, in the bench's process with nothing else running, right before or after the floor script (the order flips every repetition), timed from the call (connection included) to its result (dangling candidates looked up): tree walk, stored paths grouped and sorted by PostgreSQL, merge",
  'verify.fused.scans':
    'from the first start to the last end of the fused table scans (row count + checksum + path prefix, one per table and side; WORK_DIR/scans/<run id>/*.json, each recording its start and duration) of the same verification run: the time the three families take together, without double counting the tests that wait for a shared scan',
  'verify.seqScans.fused':
    'max over tables and sides of the pg_stat_user_tables.seq_scan delta of `vitest run --project checks specs/row-counts.spec.ts specs/checksums.spec.ts specs/path-prefix.spec.ts` (--verify-only environment), minus the delta of the same command with a test-name filter that matches nothing (global setup and discovery alone); both runs with max_parallel_workers_per_gather=0 set on the databases of the bench (seq_scan counts the part of each parallel worker of one scan as a scan of its own); statistics read once they stop changing. A table split into block ranges is read by TID Range Scans, which seq_scan does not count: it still reads each block once',
  'copy.raw.restoreTuned':
    "the raw script's second pg_restore --single-transaction of the same dump into another empty database with PGOPTIONS set to the session settings the suite's restore phase chooses for this target (lib/phases/restore-tuning.ts), + its own plain ANALYZE (psql -c ANALYZE of that database); the raw log's BENCH_TUNED_SESSION line shows the settings a session with that PGOPTIONS gets (pg_settings with source = client)",
  'verify.fused.alone':
    'first start to last end of the fused table scans of `vitest run` on specs/row-counts.spec.ts, specs/checksums.spec.ts and specs/path-prefix.spec.ts alone (--verify-only environment, server defaults), after the verification runs: the span of verify.fused.scans without the other families competing for the cores',
  'split.one':
    "the largest table's checksum (the fused scan without path prefixes, shapes compared first), source and target at once, one scan per side on one connection each; BENCH_REPS times, alternating with split.parts",
  'split.parts':
    'the same checksum split into 4 ctid block ranges per side (TID Range Scans, PostgreSQL 14+; one range scan per range otherwise), on 4 connections per side, the sums added up',
  'peer.suite.clean':
    "the suite's checksum of each of the 2 largest tables with a one-column primary key (shapes, the fused checksum scan of both sides at once, split into CHECK_CONCURRENCY=4 block ranges above 64 MB) and, when they differ, the key bisection to every differing key; summed over the tables, per repetition",
  'peer.suite.changed': 'the same after 3 rows per table were changed on the target',
  'peer.pgComparator.clean':
    "pg_comparator (Debian's postgresql-comparator, pgcmp checksum functions, --no-lock, password through --env-pass) on the same tables, same order, summed per repetition",
  'peer.pgComparator.changed': 'the same after 3 rows per table were changed on the target',
  'overhead.suite.wall':
    'wall time of `rehearse --verify-only` with nothing to do: VALIDATE_TABLES=public.bench_probe (1 row), CHECKSUM=off, ASSETS_SAMPLE_N=0, ASSET_COLUMNS=bench_probe.storage_path:file (all NULL), HEALTH_CHECK=0: start-up, discovery, vitest, report writing',
  'overhead.empty.wall':
    'wall time of the same `node bin/run.mjs rehearse --verify-only` with the same settings against a source and a target database that hold only the one-row bench_probe table and empty asset trees: start-up, preflight, vitest, global setup and discovery, every spec file, report writing, with no data to read',
  'verify.schema.dump':
    "the schema-parity family's `pg_dump --schema-only` of source and target (run at once, one client for both majors), from its evidence line in checks.json of the verification run: the slower side's ms; the rest of the family's time is its catalog queries and the diff",
  'verify.before.schema-parity':
    'the schema-parity family time (sum of its checks’ durationMs) of one `rehearse --verify-only` run of the BENCH_SCHEMA_BEFORE checkout against the same target, right after the verification runs',
  'memory.process':
    "largest VmHWM (peak RSS) of any node process in the tree of a suite run (rehearse, vitest, its workers), /proc polled every BENCH_SAMPLE_MS; samples: one per repetition, the max over that repetition's copy, verify and overhead runs",
  'memory.tree': 'largest sum of VmRSS over the node processes of that tree at one poll; same samples',
};

/** Median, min and max of the samples; n/a (with `why`) when there are none. */
export function stat(samples: Array<number | undefined>, unit: 'ms' | 'MB' | 'n', why = 'not measured'): Figure {
  const xs = samples.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (xs.length === 0) return { kind: 'na', reason: why };
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { kind: 'stat', unit, median: r(median), min: r(s[0]), max: r(s[s.length - 1]), samples: xs.map(r) };
}

export function na(reason: string): Figure {
  return { kind: 'na', reason };
}

function ratioOf(a: Figure | undefined, b: Figure | undefined): number | null {
  if (a?.kind !== 'stat' || b?.kind !== 'stat' || b.median <= 0) return null;
  return Math.round((a.median / b.median) * 1000) / 1000;
}

function judge(value: number | null, t: Target | undefined): boolean | null {
  if (value === null || !t) return null;
  return t.op === '<=' ? value <= t.value : value < t.value;
}

const PARTIAL = /^partial:/;

/** Adds one row: label, the suite's figure, the baseline's figure (a ratio row), the target, a note. */
type AddRow = (label: string, suite: string, base: string | undefined, target?: Target, note?: string) => void;

/** A ratio target: suite / baseline at most `v`. */
const ratio = (v: number): Target => ({ op: '<=', value: v, of: 'ratio' });

/** The table rows of one scale. */
export function scaleRows(s: ScaleResult): Row[] {
  const f = s.figures;
  const rows: Row[] = [];
  const add = (label: string, suite: string, base: string | undefined, target?: Target, note?: string) => {
    const fig = f[suite];
    const value = base
      ? ratioOf(f[suite], f[base])
      : target?.of === 'MB' && fig?.kind === 'stat'
        ? fig.max
        : (target?.of === 'ms' || target?.of === 'count') && fig?.kind === 'stat'
          ? fig.median
          : null;
    const partial = note !== undefined && PARTIAL.test(note);
    const na = [f[suite], base ? f[base] : undefined].find((x) => x?.kind === 'na') as { reason: string } | undefined;
    rows.push({
      scale: s.rows,
      label,
      suite,
      base,
      ratio: base ? value : null,
      target,
      met: partial ? null : judge(value, target),
      note: note ?? (na ? `n/a: ${na.reason}` : undefined),
    });
  };
  copyRows(add);
  verifyRows(add, f);
  peerRows(add);
  familyRows(add, f);
  overheadRows(add, s);
  if (f['copy.engines.raw.pgcopydbN']) engineRows(add);
  markRedRuns(rows, s);
  return rows;
}

/** BENCH_ENGINES=1: the scale engines, the suite against each engine's raw run, and the engines against each other. */
function engineRows(add: AddRow): void {
  add(
    'copy engine: suite phase restore (COPY_ENGINE=pgcopydb, N jobs, + marker) vs raw pgcopydb clone ×N',
    'copy.engines.suite.restore',
    'copy.engines.raw.pgcopydbN',
    ratio(1.2),
  );
  add(
    'copy engine: raw pgcopydb ×1 vs raw pg_dump | pg_restore',
    'copy.engines.raw.pgcopydb1',
    'copy.engines.raw.dumpRestore',
  );
  add(
    'copy engine: raw pgcopydb ×N vs raw pg_dump | pg_restore',
    'copy.engines.raw.pgcopydbN',
    'copy.engines.raw.dumpRestore',
  );
  add('copy engine: raw pgcopydb ×N vs ×1 (parallel gain)', 'copy.engines.raw.pgcopydbN', 'copy.engines.raw.pgcopydb1');
  add(
    'mirror engine: suite phase mirror (ASSETS_ENGINE=fpsync, N workers) vs raw fpsync ×N',
    'mirror.engines.suite.mirror',
    'mirror.engines.raw.fpsyncN',
    ratio(1.2),
  );
  add('mirror engine: raw fpsync ×N vs raw rsync', 'mirror.engines.raw.fpsyncN', 'copy.raw.rsync');
}

/** Copy: the suite's phases against the raw script's steps. */
function copyRows(add: AddRow): void {
  add(
    'copy: all phases (suite: preflight + dump + restore + mirror) vs raw script steps',
    'copy.suite.phases',
    'copy.raw.steps',
    ratio(1.05),
  );
  add('copy: dump', 'copy.suite.dump', 'copy.raw.dump');
  add(
    'copy: restore + ANALYZE vs raw pg_restore --single-transaction with default settings (+ ANALYZE)',
    'copy.suite.restore',
    'copy.raw.restore',
    ratio(0.6),
  );
  add(
    'copy: restore + ANALYZE vs raw pg_restore with the tuned session settings (PGOPTIONS) (+ ANALYZE)',
    'copy.suite.restore',
    'copy.raw.restoreTuned',
    ratio(1),
  );
  add(
    'copy: raw pg_restore tuned vs default (what the session settings alone give)',
    'copy.raw.restoreTuned',
    'copy.raw.restore',
  );
  add('copy: asset mirror', 'copy.suite.mirror', 'copy.raw.rsync');
  add('copy: whole command, wall', 'copy.suite.wall', 'copy.raw.wall');
}

/** Verification: the fused scans and the census against their floors, and the seq-scan count. */
function verifyRows(add: AddRow, f: ScaleResult['figures']): void {
  const rop = f['verify.suite.row-counts+orphans+path-prefix'];
  const missing = (['row-counts', 'orphans', 'path-prefix'] as Family[]).filter(
    (k) => f[`verify.suite.${k}`]?.kind !== 'stat',
  );
  add(
    'verify: row counts + orphans + prefix vs count(*) floor',
    'verify.suite.row-counts+orphans+path-prefix',
    'verify.floor.count',
    ratio(1.2),
    rop?.kind === 'stat' && missing.length ? `partial: without ${missing.join(', ')} (absent)` : undefined,
  );
  add(
    'verify: row counts + path prefix + checksum together (the fused scans, first start to last end) vs floor (b): the suite’s checksum SQL by psql, both sides at once',
    'verify.fused.scans',
    'verify.floor.hash',
    ratio(1.3),
  );
  add(
    'verify: the same fused scans with only their three spec files running (nothing else on the cores) vs floor (b)',
    'verify.fused.alone',
    'verify.floor.hash',
  );
  add(
    'verify: asset census family time (+ sampled files sha256) vs floor (c)',
    'verify.suite.asset-census',
    'verify.floor.census',
  );
  add(
    'verify: asset census alone (connect, tree walk + stored paths, merge) vs floor (c): find + COPY + sort + comm',
    'verify.census.alone',
    'verify.floor.census',
    ratio(2),
  );
  add(
    'verify: asset census inside the verification run (its merge, other checks running meanwhile) vs floor (c)',
    'verify.census.merge',
    'verify.floor.census',
  );
  add(
    'verify: seq scans per table per side of the fused families (row count, checksum, path prefix; max over tables; pg_stat_user_tables deltas)',
    'verify.seqScans.fused',
    undefined,
    { op: '<=', value: 1, of: 'count' },
  );
}

/** The peer (pg_comparator), the checksum split and the old floors. */
function peerRows(add: AddRow): void {
  add(
    'peer: checksum + bisection vs pg_comparator, clean (2 largest tables)',
    'peer.suite.clean',
    'peer.pgComparator.clean',
    ratio(0.7),
  );
  add(
    'peer: checksum + bisection vs pg_comparator, 3 changed rows per table',
    'peer.suite.changed',
    'peer.pgComparator.changed',
    ratio(0.7),
  );
  add(
    'checksum of the largest table, both sides: split into 4 block ranges per side vs one scan per side (server cores at work)',
    'split.parts',
    'split.one',
  );
  add(
    'verify (old floor): full content checksums vs count(*) floor',
    'verify.suite.checksums',
    'verify.floor.count',
    ratio(2),
  );
  add('verify (old floor): asset census vs find floor', 'verify.suite.asset-census', 'verify.floor.find', ratio(1.5));
}

/** One row per check family's time (the families of FAMILIES, then any other the runs showed), and the whole wall. */
function familyRows(add: AddRow, f: ScaleResult['figures']): void {
  const known = FAMILIES.map((x) => x.family);
  const extra = Object.keys(f)
    .filter((k) => /^verify\.suite\.[\w-]+$/.test(k))
    .map((k) => k.slice('verify.suite.'.length))
    .filter((k) => k !== 'wall' && !known.includes(k))
    .sort();
  for (const fam of [...known.filter((k) => !['checksums', 'asset-census'].includes(k)), ...extra]) {
    add(`verify: ${familyLabel(fam)} (family time)`, `verify.suite.${fam}`, undefined);
  }
  add('verify: whole command, wall (vs whole floor script)', 'verify.suite.wall', 'verify.floor.wall');
  add(
    'verify: schema parity, its pg_dump --schema-only of both sides (at once; the slower side, from the evidence)',
    'verify.schema.dump',
    undefined,
  );
  if (f['verify.before.schema-parity']?.kind === 'stat')
    add(
      'verify: schema parity family, today (pg_dump --schema-only of both sides + catalog queries) vs before (catalog queries only, BENCH_SCHEMA_BEFORE)',
      'verify.suite.schema-parity',
      'verify.before.schema-parity',
    );
}

/** The fixed overhead (bench world and empty world) and the memory peaks. */
function overheadRows(add: AddRow, s: ScaleResult): void {
  add(
    'suite overhead with nothing to do, wall (the bench world: the orphan anti-joins of every declared foreign key and both asset trees still run)',
    'overhead.suite.wall',
    undefined,
    undefined,
    s.overheadChecks,
  );
  add(
    'fixed overhead: the same command against an empty world (probe table only, empty asset trees), wall',
    'overhead.empty.wall',
    undefined,
    { op: '<=', value: 1500, of: 'ms' },
  );
  add('peak memory, largest node process', 'memory.process', undefined, { op: '<', value: 300, of: 'MB' });
  add('peak memory, sum of the node process tree', 'memory.tree', undefined);
}

/** A row whose kind of run went red says so in its note. */
function markRedRuns(rows: Row[], s: ScaleResult): void {
  for (const r of rows) {
    const kind = r.suite.split('.')[0];
    const red = s.red.filter((x) => x.run === kind || kind === 'memory');
    if (red.length)
      r.note = [r.note, `RED RUN: ${red.map((x) => `${x.run} rep ${x.rep} exit ${x.exitCode}`).join(', ')} (see below)`]
        .filter(Boolean)
        .join(' · ');
  }
}

/** Rows comparing the largest scale with the smallest (memory must stay flat). */
export function crossScaleRows(scales: ScaleResult[]): Row[] {
  const target: Target = { op: '<=', value: 1.1, of: 'ratio' };
  if (scales.length < 2) {
    return [
      {
        scale: 'all',
        label: 'peak memory flat with scale (largest process, max scale / min scale)',
        suite: 'memory.process',
        ratio: null,
        target,
        met: null,
        note: 'n/a: needs two scales (BENCH_SCALES)',
      },
    ];
  }
  const lo = scales[0];
  const hi = scales[scales.length - 1];
  const out: Row[] = [];
  for (const [key, label, t] of [
    ['memory.process', 'largest process', target],
    ['memory.tree', 'process tree', undefined],
  ] as const) {
    const a = hi.figures[key];
    const b = lo.figures[key];
    const value =
      a?.kind === 'stat' && b?.kind === 'stat' && b.max > 0 ? Math.round((a.max / b.max) * 1000) / 1000 : null;
    out.push({
      scale: 'all',
      label: `peak memory flat with scale (${label}, ${hi.rows} / ${lo.rows} rows)`,
      suite: key,
      ratio: value,
      target: t,
      met: judge(value, t),
      note: value === null ? 'n/a: peak memory not measured at both scales' : undefined,
    });
  }
  const va = hi.figures['verify.suite.wall'];
  const vb = lo.figures['verify.suite.wall'];
  const growth =
    va?.kind === 'stat' && vb?.kind === 'stat' && vb.median > 0
      ? Math.round((va.median / vb.median) * 1000) / 1000
      : null;
  const linear: Target = { op: '<=', value: Math.round((hi.rows / lo.rows) * 1.1 * 10) / 10, of: 'ratio' };
  out.push({
    scale: 'all',
    label: `verification time grows at most linearly (verify wall, ${hi.rows} / ${lo.rows} rows; target ${linear.value} = 1.1 × the row ratio)`,
    suite: 'verify.suite.wall',
    ratio: growth,
    target: linear,
    met: judge(growth, linear),
    note: growth === null ? 'n/a: verification not measured at both scales' : undefined,
  });
  return out;
}

export function formatFigure(fig: Figure | undefined): string {
  if (!fig) return '—';
  if (fig.kind === 'na') return 'n/a';
  const one = (x: number) =>
    fig.unit === 'MB'
      ? `${x.toFixed(1)} MB`
      : fig.unit === 'n'
        ? String(x)
        : x >= 10_000
          ? `${(x / 1000).toFixed(1)} s`
          : x >= 1000
            ? `${(x / 1000).toFixed(2)} s`
            : `${Math.round(x)} ms`;
  return fig.samples.length > 1 ? `${one(fig.median)} (${one(fig.min)}–${one(fig.max)})` : one(fig.median);
}

function formatTarget(t: Target | undefined): string {
  if (!t) return '—';
  return t.of === 'MB' ? `${t.op} ${t.value} MB` : t.of === 'ms' ? `${t.op} ${t.value} ms` : `${t.op} ${t.value}`;
}

function formatMet(r: Row): string {
  if (r.met === null) return r.target ? 'n/a' : '—';
  if (r.met) return 'yes';
  const v = r.ratio ?? undefined;
  if (r.target && v !== undefined && r.target.of === 'ratio')
    return `NO (+${Math.round((v / r.target.value - 1) * 100)}%)`;
  return 'NO';
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The Markdown table of every row. */
export function markdownTable(result: Pick<BenchResult, 'rows' | 'scales'>): string {
  const figOf = (scale: Row['scale'], key: string | undefined) => {
    if (!key) return undefined;
    if (scale === 'all') return undefined;
    return result.scales.find((s) => s.rows === scale)?.figures[key];
  };
  const lines = [
    '| scale (rows) | figure | suite | raw / floor | ratio | target | met? | note |',
    '| ---: | --- | ---: | ---: | ---: | :---: | :---: | --- |',
  ];
  for (const r of result.rows) {
    const suite =
      r.scale === 'all' ? (r.ratio === null ? 'n/a' : `× ${r.ratio}`) : formatFigure(figOf(r.scale, r.suite));
    const base = r.base ? formatFigure(figOf(r.scale, r.base)) : '—';
    lines.push(
      `| ${r.scale === 'all' ? 'all' : r.scale.toLocaleString('en-US')} | ${cell(r.label)} | ${cell(suite)} | ${cell(base)} | ${r.ratio === null ? (r.base ? 'n/a' : '—') : r.ratio.toFixed(2)} | ${formatTarget(r.target)} | ${formatMet(r)} | ${cell(r.note ?? '')} |`,
    );
  }
  return lines.join('\n');
}

export function markdownReport(result: BenchResult): string {
  const m = result.machine;
  const out: string[] = [
    '# Benchmark: the rehearsal vs the raw tools',
    '',
    `Run ${result.date} in ${(result.durationMs / 1000).toFixed(0)} s on ${m.cpuModel} (${m.cores} cores), ${m.memoryGiB} GiB, ${m.os}; ` +
      `node ${m.node}; ${m.postgres}; pgvector ${m.pgvector}; ${m.pgDump}; ${m.rsync}.`,
    `Settings: BENCH_ROWS=${result.config.rows} BENCH_FILES=${result.config.files} BENCH_REPS=${result.config.reps} ` +
      `BENCH_SCALES=${result.config.scales.join(',')} BENCH_DIMS=${result.config.dims}` +
      (result.config.hnsw === false ? ' BENCH_HNSW=0 (no HNSW index: no copy builds one)' : '') +
      (result.config.schemaBefore ? ` BENCH_SCHEMA_BEFORE=${result.config.schemaBefore}` : '') +
      '. ' +
      'Suite and raw runs alternate within each repetition; figures are median (min–max) of the repetitions; ratios compare medians.',
    '',
    markdownTable(result),
    '',
  ];
  for (const s of result.scales) {
    out.push(
      `Scale ${s.rows.toLocaleString('en-US')} rows (${Object.entries(s.rowsPerTable)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')}), ${s.files} files; ` +
        `generated in ${(s.generate.databaseMs / 1000).toFixed(1)} s (database, ${(s.generate.databaseBytes / 2 ** 20).toFixed(0)} MiB) + ${(s.generate.assetsMs / 1000).toFixed(1)} s (files).`,
    );
    const fams = Object.entries(s.families).map(
      ([k, v]) => `${k} ${v!.checks} checks${v!.failed ? ` (${v!.failed} failed)` : ''}`,
    );
    out.push(`Check families in the verification run: ${fams.length ? fams.join(', ') : 'none'}.`);
    for (const w of s.warnings) out.push(`- warning: ${w}`);
    for (const r of s.red)
      out.push(
        `- RED RUN (timings of a failing run are suspicious): ${r.run} rep ${r.rep}, exit ${r.exitCode}: ${r.detail}`,
      );
    if (s.memoryTop.length)
      out.push(
        `Node processes of the suite run with the highest memory peak: ${s.memoryTop.map((p) => `${p.command} ${p.peakMb} MB`).join('; ')} (${s.memoryTop[0].run}).`,
      );
    out.push('');
  }
  out.push('## How each figure is measured', '');
  for (const [k, v] of Object.entries(result.method)) out.push(`- \`${k}\`: ${v}`);
  out.push('');
  return out.join('\n');
}

export function writeReports(result: BenchResult, outDir: string): { json: string; md: string } {
  fs.mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, 'bench.json');
  const md = path.join(outDir, 'bench.md');
  fs.writeFileSync(json, JSON.stringify(result, null, 2) + '\n');
  fs.writeFileSync(md, markdownReport(result));
  return { json, md };
}
