/**
 * The bench run: for each scale, generate the source (database + asset tree) in a throw-away sandbox, then measure the
 * suite and the raw tools in the same run, alternating, BENCH_REPS times: copy, verification, overhead with nothing to
 * do, and the suite's peak memory. Results become a BenchResult (lib/bench/report.ts).
 */
import { onStopSignal } from '../core/signals.ts';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { userTablesQuery } from '../core/catalog.ts';
import { parseDsn } from '../core/dsn.ts';
import { quoteIdent, quoteTable } from '../core/ident.ts';
import {
  clusterUrl,
  createDatabase,
  dropDatabase,
  startSandbox,
  stopSandbox,
  withClient,
  type ClusterInfo,
  type SandboxState,
} from '../sandbox/clusters.ts';
import type { BenchConfig } from './config.ts';
import { benchShape, loadBenchDatabase, PROBE_TABLE, totalFiles, writeBenchAssets } from './generate.ts';
import { killActive } from './run.ts';
import { engineFigures, rawEngines, type RawEnginesResult } from './engines.ts';
import {
  censusFloorSql,
  countSql,
  rawCopy,
  rawFloor,
  type FloorSql,
  type RawCopyResult,
  type RawFloorResult,
  type RawSides,
} from './raw.ts';
import {
  FUSED_SPECS,
  hashFloorSql,
  runFusedSpecs,
  runPeer,
  scanDelta,
  seqScans,
  suiteChecksum,
  type PeerRun,
  type SeqScans,
} from './peer.ts';
import { readScans } from '../checks/shared/shared-scan.ts';
import { runCensus } from '../checks/families/asset-census/census.ts';
import { parseConfig } from '../core/config.ts';
import { chooseRestoreSettings, memAvailable, pgOptions, TARGET_FACTS_SQL } from '../phases/restore-tuning.ts';
import { closePools, getPool } from '../core/db.ts';
import {
  crossScaleRows,
  METHOD,
  scaleRows,
  stat,
  type BenchResult,
  na,
  type Figure,
  type MachineInfo,
  type RedRun,
  type ScaleResult,
  writeReports,
} from './report.ts';
import type { MemoryPeak } from './rss.ts';
import { FAMILIES, familyLabel, familyOf, familyTimes, runSuite, type Family, type SuiteRun } from './suite.ts';

export type Log = (line: string) => void;

/** Checks reduced to one tiny table: what a suite run costs with nothing to do. */
export const NOTHING_TO_DO: Record<string, string> = {
  VALIDATE_TABLES: `public.${PROBE_TABLE}`,
  CHECKSUM: 'off',
  CHECKSUM_TABLES: `public.${PROBE_TABLE}`,
  ASSETS_SAMPLE_N: '0',
  ASSET_COLUMNS: `${PROBE_TABLE}.storage_path:file`,
};

const COPY_PHASES = ['preflight', 'dump', 'restore', 'mirror'] as const;

/** The suite runs' CONNECT_TIMEOUT_MS (the suite's default is 10 s; see contractEnv). */
export const BENCH_CONNECT_TIMEOUT_MS = 60_000;

/** A suite run that takes longer than this is killed (and reported red): a hung run must not hang the bench. */
const SUITE_TIMEOUT_MS = 3 * 3600_000;

function tool(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')[0]
      .trim();
  } catch {
    return `${cmd}: not found`;
  }
}

export async function machineInfo(c: ClusterInfo): Promise<MachineInfo> {
  const cpus = os.cpus();
  const db = await withClient(c, c.database, async (cl) => {
    const v = await cl.query<{ version: string }>('SELECT version()');
    const ext = await cl.query<{ default_version: string }>(
      "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'",
    );
    return { postgres: v.rows[0].version.split(' on ')[0], pgvector: ext.rows[0]?.default_version ?? 'not installed' };
  });
  return {
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    ...db,
    pgDump: tool('pg_dump', ['--version']),
    rsync: tool('rsync', ['--version']),
  };
}

interface ScaleRuns {
  suiteCopy: SuiteRun[];
  rawCopy: RawCopyResult[];
  suiteVerify: SuiteRun[];
  /** Per verification run: the span (ms) from the first fused table scan's start to the last one's end. */
  fusedScanMs: Array<number | undefined>;
  /** The same span when only the three fused spec files run (nothing else shares the cores), per repetition. */
  fusedAloneMs: Array<number | undefined>;
  floor: RawFloorResult[];
  /** The census alone (runCensus in this process against the verification target, nothing else running), ms. */
  censusAlone: number[];
  overhead: SuiteRun[];
  /** The same command against an empty world (only the one-row probe table, empty asset trees): the fixed cost. */
  overheadEmpty: SuiteRun[];
  /** seq_scan deltas per table and side of the row-count + checksum + path-prefix spec files (discovery subtracted). */
  seqScans?: { fused: Record<'src' | 'dst', SeqScans>; discovery: Record<'src' | 'dst', SeqScans> } | { error: string };
  peer: PeerRun[];
  peerError?: string;
  /** The largest table's checksum (both sides) as one scan per side, then split into block ranges: ms per repetition. */
  split?: { table: string; parts: number; oneMs: number[]; splitMs: number[] } | { error: string };
  /** BENCH_ENGINES=1: the suite with both scale engines, and the engines' raw floors (lib/bench/engines.ts). */
  suiteEngines?: SuiteRun[];
  /** BENCH_SCHEMA_BEFORE: the older checkout's `--verify-only` on the same target (its schema-parity family time). */
  schemaBefore?: SuiteRun[];
  rawEngines?: RawEnginesResult[];
}

/** From the first start to the last end of a run's fused scans (WORK_DIR/scans/<run id>/). */
function fusedSpan(workDir: string): number | undefined {
  const root = path.join(workDir, 'scans');
  if (!fs.existsSync(root)) return undefined;
  const scans = fs.readdirSync(root).flatMap((d) => readScans(path.join(root, d)));
  const xs = scans.map((x) => x.value).filter((v): v is NonNullable<typeof v> => !!v && !v.missing);
  if (!xs.length) return undefined;
  const start = Math.min(...xs.map((v) => v.startedAt));
  const end = Math.max(...xs.map((v) => v.startedAt + v.ms));
  return end - start;
}

function emptyDir(d: string): string {
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d, { recursive: true });
  return d;
}

function redRun(run: RedRun['run'], rep: number, r: SuiteRun): RedRun {
  const failed = (r.checks ?? []).filter((c) => c.state === 'failed');
  const failedPhase = (r.phases ?? []).find((p) => p.status === 'failed');
  const detail = [
    failedPhase ? `phase ${failedPhase.name} failed: ${(failedPhase.reason ?? '').slice(0, 160)}` : '',
    failed.length
      ? `${failed.length} failed check(s): ${failed
          .slice(0, 3)
          .map((c) => c.name)
          .join(', ')}${failed.length > 3 ? ', …' : ''}`
      : '',
    ...r.notes,
    `log ${r.logFile}`,
  ]
    .filter(Boolean)
    .join('; ');
  return { run, rep, exitCode: r.code, detail };
}

/** The processes of the suite run with the largest single-process peak. */
function memoryTop(runs: ScaleRuns): ScaleResult['memoryTop'] {
  const all = [
    ...runs.suiteCopy.map((r, i) => ({ run: `copy rep ${i + 1}`, m: r.memory })),
    ...runs.suiteVerify.map((r, i) => ({ run: `verify rep ${i + 1}`, m: r.memory })),
    ...runs.overhead.map((r, i) => ({ run: `overhead rep ${i + 1}`, m: r.memory })),
  ].filter((x): x is { run: string; m: MemoryPeak } => !!x.m);
  if (!all.length) return [];
  const top = all.reduce((a, b) => (b.m.maxProcessMb > a.m.maxProcessMb ? b : a));
  return [...top.m.processes]
    .sort((a, b) => b.peakMb - a.peakMb)
    .slice(0, 6)
    .map((p) => ({ run: top.run, command: p.command, peakMb: p.peakMb }));
}

/** Figures of one scale from its runs. */
export function scaleFigures(runs: ScaleRuns): { figures: Record<string, Figure>; families: ScaleResult['families'] } {
  const f: Record<string, Figure> = {};
  copyFigures(runs, f);
  const families = familyFigures(runs, f);
  scanFigures(runs, f);
  peerFigures(runs, f);
  memoryFigures(runs, f);
  return { figures: f, families };
}

/** Copy: the suite's phases from state.json, and the figures that are one timing per run, as measured. */
function copyFigures(runs: ScaleRuns, f: Record<string, Figure>): void {
  // Copy: suite phases from state.json.
  const phaseMs = (r: SuiteRun, name: string) => r.phases?.find((p) => p.name === name)?.durationMs;
  const noPhases = runs.suiteCopy.every((r) => !r.phases?.some((p) => p.durationMs !== undefined));
  const phasesWhy = noPhases
    ? 'state.json records no copy phase timings (the copy phases are not implemented yet, or did not run)'
    : 'phase not run or not timed';
  for (const p of COPY_PHASES)
    f[`copy.suite.${p}`] = stat(
      runs.suiteCopy.map((r) => phaseMs(r, p)),
      'ms',
      phasesWhy,
    );
  f['copy.suite.phases'] = stat(
    runs.suiteCopy.map((r) => {
      const xs = COPY_PHASES.map((p) => phaseMs(r, p)).filter((x): x is number => x !== undefined);
      return xs.length ? xs.reduce((a, b) => a + b, 0) : undefined;
    }),
    'ms',
    phasesWhy,
  );
  // The figures that are one timing per run, as measured.
  const timings: Array<[string, Array<number | undefined>]> = [
    ['copy.suite.wall', runs.suiteCopy.map((r) => r.wallMs)],
    ['copy.raw.steps', runs.rawCopy.map((r) => r.stepsMs)],
    ['copy.raw.dump', runs.rawCopy.map((r) => r.dumpMs)],
    ['copy.raw.rsync', runs.rawCopy.map((r) => r.rsyncMs)],
    ['copy.raw.wall', runs.rawCopy.map((r) => r.wallMs)],
    ['verify.suite.wall', runs.suiteVerify.map((r) => r.wallMs)],
    ['verify.floor.count', runs.floor.map((r) => r.countMs)],
    ['verify.floor.hash', runs.floor.map((r) => r.hashMs)],
    ['verify.floor.census', runs.floor.map((r) => r.censusMs)],
    ['verify.floor.find', runs.floor.map((r) => r.findMs)],
    ['verify.floor.wall', runs.floor.map((r) => r.wallMs)],
    ['overhead.suite.wall', runs.overhead.map((r) => r.wallMs)],
  ];
  for (const [key, xs] of timings) f[key] = stat(xs, 'ms');
  f['copy.raw.restore'] = stat(
    runs.rawCopy.map((r) => r.restoreMs + r.analyzeMs),
    'ms',
  );
  f['copy.raw.restoreTuned'] = stat(
    runs.rawCopy.map((r) =>
      r.restoreTunedMs === undefined ? undefined : r.restoreTunedMs + (r.analyzeTunedMs ?? r.analyzeMs),
    ),
    'ms',
    'the tuned raw restore did not run',
  );
}

/** Verification: per family from checks.json (the families' figures, and their last counts). */
function familyFigures(runs: ScaleRuns, f: Record<string, Figure>): ScaleResult['families'] {
  // Verification: per family from checks.json.
  const perRun = runs.suiteVerify.map((r) => (r.checks ? familyTimes(r.checks) : undefined));
  const families: ScaleResult['families'] = {};
  const extra = [...new Set(perRun.flatMap((t) => Object.keys(t ?? {})))]
    .filter((k) => !FAMILIES.some((x) => x.family === k))
    .sort();
  for (const { family, spec } of [
    ...FAMILIES,
    ...extra.map((family) => ({ family, spec: `specs/${family}.spec.ts` })),
  ]) {
    const seen = perRun.map((t) => t?.[family]);
    const why = perRun.every((t) => t === undefined)
      ? 'no checks.json was written by the verification runs'
      : `no check of this family ran (expected in ${spec})`;
    f[`verify.suite.${family}`] = stat(
      seen.map((t) => t?.ms),
      'ms',
      why,
    );
    const last = seen.filter(Boolean).pop();
    if (last) families[family] = { checks: last.checks, failed: last.failed, files: last.files };
  }
  schemaFigures(runs, f);
  const trio: Family[] = ['row-counts', 'orphans', 'path-prefix'];
  f['verify.suite.row-counts+orphans+path-prefix'] = stat(
    perRun.map((t) => {
      const xs = trio.map((k) => t?.[k]?.ms).filter((x): x is number => x !== undefined);
      return xs.length ? xs.reduce((a, b) => a + b, 0) : undefined;
    }),
    'ms',
    'none of row counts, orphans, path prefix ran',
  );
  return families;
}

/** The evidence line of the dump-based schema parity (lib/checks/families/schema-parity/dump-schema.ts). */
const SCHEMA_DUMP_EVIDENCE =
  /--schema-only of both sides: source \d+ entries \(\d+ bytes, (\d+) ms\), target \d+ entries \(\d+ bytes, (\d+) ms\)/;

/** The pg_dump --schema-only time of a run's schema parity (both sides at once: the slower side), from its evidence. */
export function schemaDumpMs(checks: SuiteRun['checks']): number | undefined {
  for (const c of checks ?? [])
    for (const a of c.annotations ?? []) {
      const m = SCHEMA_DUMP_EVIDENCE.exec(a.message);
      if (m) return Math.max(Number(m[1]), Number(m[2]));
    }
  return undefined;
}

/** Issue 25: the schema-parity family's dump part, and the older checkout's family time (BENCH_SCHEMA_BEFORE). */
function schemaFigures(runs: ScaleRuns, f: Record<string, Figure>): void {
  f['verify.schema.dump'] = stat(
    runs.suiteVerify.map((r) => schemaDumpMs(r.checks)),
    'ms',
    'no schema dump evidence ("--schema-only of both sides") in checks.json',
  );
  f['verify.before.schema-parity'] = stat(
    (runs.schemaBefore ?? []).map((r) => (r.checks ? familyTimes(r.checks)['schema-parity']?.ms : undefined)),
    'ms',
    runs.schemaBefore ? 'the older checkout ran no schema-parity check' : 'BENCH_SCHEMA_BEFORE not set',
  );
}

/** The census's own time, the fused scans' spans (in the run and alone) and their seq-scan count. */
function scanFigures(runs: ScaleRuns, f: Record<string, Figure>): void {
  // The census's own time (its evidence: "walked in N ms", the tree walk merged with the stored paths' stream), without
  // the sampled files' sha256 that the census family also holds.
  f['verify.census.merge'] = stat(
    runs.suiteVerify.map((r) => {
      for (const c of r.checks ?? [])
        for (const a of c.annotations ?? []) {
          const m = /walked in (\d+) ms/.exec(a.message);
          if (c.name.startsWith('asset census ') && m) return Number(m[1]);
        }
      return undefined;
    }),
    'ms',
    'no census evidence ("walked in N ms") in checks.json',
  );
  f['verify.census.alone'] = stat(runs.censusAlone, 'ms', 'the census did not run alone');
  f['verify.fused.scans'] = stat(runs.fusedScanMs, 'ms', 'the verification runs left no scan files in WORK_DIR/scans');
  f['verify.fused.alone'] = stat(runs.fusedAloneMs, 'ms', 'the fused spec files alone left no scan files');
  if (runs.seqScans && !('error' in runs.seqScans)) {
    const all = (['src', 'dst'] as const).flatMap((side) =>
      Object.values(runs.seqScans && !('error' in runs.seqScans) ? runs.seqScans.fused[side] : {}),
    );
    f['verify.seqScans.fused'] = all.length ? stat([Math.max(...all)], 'n') : na('no user table was scanned');
  } else {
    f['verify.seqScans.fused'] = na(runs.seqScans && 'error' in runs.seqScans ? runs.seqScans.error : 'not measured');
  }
}

/** The peer (pg_comparator) beside the suite on the same tables, clean and changed; the checksum split; the empty world. */
function peerFigures(runs: ScaleRuns, f: Record<string, Figure>): void {
  for (const kind of ['clean', 'changed'] as const) {
    const peer = runs.peer.filter((p) => (kind === 'clean' ? p.changed === 0 : p.changed > 0));
    const why = runs.peerError ?? 'pg_comparator did not run';
    // Per repetition: the sum over the compared tables.
    const reps = [...new Set(peer.map((p) => (p as PeerRun & { rep?: number }).rep ?? 1))];
    const sum = (pick: (p: PeerRun) => number) =>
      reps.map((rep) =>
        peer.filter((p) => ((p as PeerRun & { rep?: number }).rep ?? 1) === rep).reduce((a, p) => a + pick(p), 0),
      );
    f[`peer.suite.${kind}`] = peer.length
      ? stat(
          sum((p) => p.suiteMs),
          'ms',
        )
      : na(why);
    f[`peer.pgComparator.${kind}`] = peer.length
      ? stat(
          sum((p) => p.peerMs),
          'ms',
        )
      : na(why);
  }
  const split = runs.split && !('error' in runs.split) ? runs.split : undefined;
  const splitWhy = runs.split && 'error' in runs.split ? runs.split.error : 'not measured';
  f['split.one'] = split ? stat(split.oneMs, 'ms') : na(splitWhy);
  f['split.parts'] = split ? stat(split.splitMs, 'ms') : na(splitWhy);

  f['overhead.empty.wall'] = stat(
    runs.overheadEmpty.map((r) => r.wallMs),
    'ms',
    'the empty-world run did not happen',
  );
}

/** Memory: per repetition, the max over that repetition's suite runs. */
function memoryFigures(runs: ScaleRuns, f: Record<string, Figure>): void {
  // Memory: per repetition, the max over that repetition's suite runs.
  const reps = Math.max(runs.suiteCopy.length, runs.suiteVerify.length, runs.overhead.length);
  const perRep = (pick: (m: MemoryPeak) => number) =>
    Array.from({ length: reps }, (_, i) => {
      const ms = [runs.suiteCopy[i], runs.suiteVerify[i], runs.overhead[i]]
        .map((r) => r?.memory)
        .filter((m): m is MemoryPeak => !!m && m.processes.length > 0);
      return ms.length ? Math.max(...ms.map(pick)) : undefined;
    });
  f['memory.process'] = stat(
    perRep((m) => m.maxProcessMb),
    'MB',
    'no node process was sampled',
  );
  f['memory.tree'] = stat(
    perRep((m) => m.maxTreeMb),
    'MB',
    'no node process was sampled',
  );
}

export interface BenchContext {
  config: BenchConfig;
  sandbox: SandboxState;
  workRoot: string;
  log: Log;
  /** Called after every step of a scale with that scale's partial result. */
  progress?: (partial: ScaleResult) => void;
}

function srcCluster(s: SandboxState) {
  return s.clusters.source!;
}
function dstCluster(s: SandboxState) {
  return s.clusters.target!;
}

/** The user tables of `db` (lib/core/catalog.ts userTablesQuery), quoted for SQL. */
async function userTables(c: ClusterInfo, db: string): Promise<string[]> {
  return withClient(c, db, async (cl) => {
    const q = userTablesQuery();
    const r = await cl.query<{ schema: string; name: string }>(q.text, q.values);
    return r.rows.map((x) => quoteTable(x));
  });
}

/** What the steps of one scale share: where it runs, the generated world, and what the runs collected so far. */
interface ScaleJob {
  ctx: BenchContext;
  requestedRows: number;
  src: ClusterInfo;
  dst: ClusterInfo;
  /** The scale's working directory (runs, asset trees). */
  dir: string;
  /** The scale's log directory, beside the reports. */
  logs: string;
  world: GeneratedWorld;
  runs: ScaleRuns;
  warnings: string[];
  red: RedRun[];
  /** The raw copy the verification runs read (the last raw copy; the earlier ones are dropped). */
  verifyTarget?: { db: string; assets: string };
  /** The session settings the suite's restore phase would choose for the target, for the tuned raw restore. */
  tuned: ReturnType<typeof chooseRestoreSettings>;
  floorSql: FloorSql;
  overheadChecks?: string;
}

/** The source world of one scale, generated and measured. */
interface GeneratedWorld {
  shape: ReturnType<typeof benchShape>;
  srcDb: string;
  srcAssets: string;
  files: number;
  rowsPerTable: Record<string, number>;
  bytes: number;
  databaseMs: number;
  assetsMs: number;
  /** The user tables, quoted for SQL. */
  tables: string[];
}

/** Measure one scale: generate its world, then copy, verify, overhead, fused scans, split and peer runs. */
export async function benchScale(ctx: BenchContext, requestedRows: number): Promise<ScaleResult> {
  const job = await prepareScale(ctx, requestedRows);
  // The steps the issues ask for first (copy, verify, the engines), then the finer ones; after each step the partial
  // result is handed to ctx.progress (runBench writes it), so a run stopped at a deadline keeps what it measured.
  const steps: Array<[string, (j: ScaleJob) => Promise<void>]> = [
    ['copy', copyReps],
    ['verify', verifyReps],
    ['schema before', schemaBeforeRun],
    ['engines', (j) => (ctx.config.engines ? engineReps(j) : Promise.resolve())],
    ['overhead', overheadReps],
    ['empty world', emptyWorldReps],
    ['fused scans', fusedScanRuns],
    ['split and peer', splitAndPeerRuns],
  ];
  try {
    for (const [name, step] of steps) {
      const t = performance.now();
      await step(job);
      say(job, `step ${name} done in ${Math.round((performance.now() - t) / 1000)} s`);
      ctx.progress?.(scaleResult(job));
    }
  } finally {
    if (!ctx.config.keep) {
      if (job.verifyTarget) await dropDatabase(job.dst, job.verifyTarget.db).catch(() => {});
      await dropDatabase(job.src, job.world.srcDb).catch(() => {});
    }
  }
  return scaleResult(job);
}

/** The scale's directories, its generated world, the floors' SQL and the tuned restore's settings. */
async function prepareScale(ctx: BenchContext, requestedRows: number): Promise<ScaleJob> {
  const src = srcCluster(ctx.sandbox);
  const dst = dstCluster(ctx.sandbox);
  const dir = emptyDir(path.join(ctx.workRoot, `scale-${requestedRows}`));
  // Logs go with the reports (the suite redacts its own output; the raw scripts print no secret), so a red run can be read.
  const logs = emptyDir(path.join(ctx.config.outDir, 'logs', `scale-${requestedRows}`));
  const world = await generateWorld(ctx, src, dir, requestedRows);
  const tableRefs = world.tables.map((q) => {
    const [schema, name] = q.split('.').map((x) => x.replace(/^"|"$/g, ''));
    return { schema, name };
  });
  const floorSql: FloorSql = {
    count: countSql(world.tables),
    hash: await withClient(src, world.srcDb, (c) => hashFloorSql(c, tableRefs)),
    census: censusFloorSql(BENCH_ASSET_COLUMNS, world.shape.prefix),
  };
  return {
    ctx,
    requestedRows,
    src,
    dst,
    dir,
    logs,
    world,
    runs: emptyScaleRuns(),
    warnings: [],
    red: [],
    tuned: await tunedRestoreSettings(dst),
    floorSql,
  };
}

/** No run yet. */
export function emptyScaleRuns(): ScaleRuns {
  return {
    suiteCopy: [],
    rawCopy: [],
    suiteVerify: [],
    fusedScanMs: [],
    fusedAloneMs: [],
    floor: [],
    censusAlone: [],
    overhead: [],
    overheadEmpty: [],
    peer: [],
  };
}

/** Generate the source database and asset tree of a scale, and measure what was generated. */
async function generateWorld(
  ctx: BenchContext,
  src: ClusterInfo,
  dir: string,
  requestedRows: number,
): Promise<GeneratedWorld> {
  const shape = benchShape(requestedRows, ctx.config.files, { dims: ctx.config.dims, hnsw: ctx.config.hnsw !== false });
  const srcDb = `bench_src_${requestedRows}`;
  const srcAssets = path.join(dir, 'src-data');
  ctx.log(
    `scale ${requestedRows}: generating ${shape.users} users (${Object.values(shape.rows).reduce((a, b) => a + b, 0)} rows) and ${totalFiles(shape)} files`,
  );
  await createDatabase(src, srcDb);
  let t = performance.now();
  await withClient(src, srcDb, (c) => loadBenchDatabase(c, shape));
  const databaseMs = performance.now() - t;
  t = performance.now();
  const files = await withClient(src, srcDb, (c) => writeBenchAssets(c, emptyDir(srcAssets), shape));
  const assetsMs = performance.now() - t;
  const { rowsPerTable, bytes } = await withClient(src, srcDb, async (c) => {
    const r: Record<string, number> = {};
    for (const table of Object.keys(shape.rows))
      r[table] = Number((await c.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
    const size = await c.query<{ b: string }>('SELECT pg_database_size(current_database()) AS b');
    return { rowsPerTable: r, bytes: Number(size.rows[0].b) };
  });
  const tables = await userTables(src, srcDb);
  ctx.log(
    `scale ${requestedRows}: generated in ${(databaseMs / 1000).toFixed(1)} s + ${(assetsMs / 1000).toFixed(1)} s (files)`,
  );
  return { shape, srcDb, srcAssets, files, rowsPerTable, bytes, databaseMs, assetsMs, tables };
}

/** The session settings the suite's restore phase chooses for this target (lib/phases/restore-tuning.ts). */
async function tunedRestoreSettings(dst: ClusterInfo): Promise<ReturnType<typeof chooseRestoreSettings>> {
  const facts = await withClient(dst, dst.database, async (c) => (await c.query(TARGET_FACTS_SQL)).rows[0]);
  return chooseRestoreSettings(
    {
      maintenanceWorkMem: Number(facts.mwm),
      effectiveCacheSize: Number(facts.ecs),
      maxParallelMaintenanceWorkers: facts.mpmw,
      maxParallelWorkers: facts.mpw,
      local: true,
      memAvailable: memAvailable(),
      cores: os.cpus().length,
    },
    { restoreMaintenanceWorkMem: 'auto', restoreMaintenanceWorkers: 'auto' },
  );
}

/** The raw scripts' two sides: the scale's source and `dstDb` / `dstAssets` on the target cluster. */
function sidesFor(job: ScaleJob, dstDb: string, dstAssets: string): RawSides {
  return {
    src: parseDsn(clusterUrl(job.src, job.world.srcDb)),
    dst: parseDsn(clusterUrl(job.dst, dstDb)),
    srcAssets: job.world.srcAssets,
    dstAssets,
  };
}

/** The env contract of a suite run from the scale's source into `dstDb` / `dstAssets`, its files under `runDir`. */
function contractEnv(job: ScaleJob, dstDb: string, dstAssets: string, runDir: string) {
  return {
    SRC_DATABASE_URL: clusterUrl(job.src, job.world.srcDb),
    DST_DATABASE_URL: clusterUrl(job.dst, dstDb),
    SRC_ASSETS_DIR: job.world.srcAssets,
    DST_ASSETS_DIR: dstAssets,
    WORK_DIR: path.join(runDir, 'work'),
    REPORTS_DIR: path.join(runDir, 'reports'),
    HEALTH_CHECK: '0',
    // On a machine at load 20-30 (other sessions' tests), a connection took over the default 10 s: the checks'
    // liveness probe then declared the source dead and failed every check. A timeout changes no work measured.
    CONNECT_TIMEOUT_MS: String(BENCH_CONNECT_TIMEOUT_MS),
  };
}

/** A suite run of the scale with its log file in the scale's log directory. */
function suiteRun(
  job: ScaleJob,
  args: string[],
  env: Parameters<typeof runSuite>[1],
  logName: string,
  root?: string,
): Promise<SuiteRun> {
  return runSuite(args, env, {
    logFile: path.join(job.logs, logName),
    sampleMs: job.ctx.config.sampleMs,
    timeoutMs: SUITE_TIMEOUT_MS,
    root,
  });
}

/**
 * BENCH_SCHEMA_BEFORE: one `rehearse --verify-only` of the older checkout against the verification target, right
 * after today's verification runs (issue 25: its schema-parity family time is the "before" of the dump-based parity).
 */
async function schemaBeforeRun(job: ScaleJob): Promise<void> {
  const root = job.ctx.config.schemaBefore;
  if (!root || !job.verifyTarget) return;
  const runDir = emptyDir(path.join(job.dir, 'verify-before'));
  const env = contractEnv(job, job.verifyTarget.db, job.verifyTarget.assets, runDir);
  const r = await suiteRun(job, ['--verify-only'], env, 'verify-before.log', root);
  (job.runs.schemaBefore ??= []).push(r);
  const fam = r.checks ? familyTimes(r.checks)['schema-parity'] : undefined;
  say(job, `verify (before: ${root}) ${Math.round(r.wallMs)} ms (exit ${r.code}); schema parity ${fam?.ms ?? '?'} ms`);
  if (!job.ctx.config.keep) fs.rmSync(runDir, { recursive: true, force: true });
}

/** One line of the bench's log, prefixed with the scale. */
function say(job: ScaleJob, line: string): void {
  job.ctx.log(`scale ${job.requestedRows}: ${line}`);
}

/** Copy: each repetition into a fresh empty database and directory; the order flips every repetition. */
async function copyReps(job: ScaleJob): Promise<void> {
  for (let rep = 1; rep <= job.ctx.config.reps; rep++) {
    const order = rep % 2 === 1 ? (['suite', 'raw'] as const) : (['raw', 'suite'] as const);
    for (const who of order) {
      const db = `bench_dst_${who}_${rep}`;
      const runDir = emptyDir(path.join(job.dir, `copy-${who}-${rep}`));
      const assets = emptyDir(path.join(runDir, 'dst-data'));
      await createDatabase(job.dst, db);
      if (who === 'suite') await suiteCopy(job, rep, db, assets, runDir);
      else await rawCopyRep(job, rep, db, assets, runDir);
    }
  }
}

/** One copy by the suite (its checks turned off), then its target dropped. */
async function suiteCopy(job: ScaleJob, rep: number, db: string, assets: string, runDir: string): Promise<void> {
  const r = await suiteRun(
    job,
    [],
    { ...contractEnv(job, db, assets, runDir), ...NOTHING_TO_DO },
    `copy-suite-${rep}.log`,
  );
  job.runs.suiteCopy.push(r);
  if (r.code !== 0) job.red.push(redRun('copy', rep, r));
  say(job, `copy rep ${rep} suite ${Math.round(r.wallMs)} ms (exit ${r.code})`);
  await dropDatabase(job.dst, db);
  if (!job.ctx.config.keep) fs.rmSync(runDir, { recursive: true, force: true });
}

/** One raw copy (plus its tuned restore); it becomes the verification target, the previous one goes. */
async function rawCopyRep(job: ScaleJob, rep: number, db: string, assets: string, runDir: string): Promise<void> {
  const tunedDb = `bench_dst_rawtuned_${rep}`;
  await createDatabase(job.dst, tunedDb);
  const r = await rawCopy(sidesFor(job, db, assets), runDir, path.join(job.logs, `copy-raw-${rep}.log`), {
    db: tunedDb,
    pgOptions: pgOptions(job.tuned.settings) ?? '',
  }).finally(() => dropDatabase(job.dst, tunedDb).catch(() => {}));
  job.runs.rawCopy.push(r);
  // The tuned floor is only a floor if its settings reached the server session.
  const missing = job.tuned.settings.filter(([k]) => !new RegExp(`(^| )${k}=`).test(r.tunedSession ?? ''));
  if (missing.length)
    job.warnings.push(
      `the tuned raw restore's session did not get ${missing.map(([k]) => k).join(', ')} (client settings seen: ${r.tunedSession || 'none'})`,
    );
  say(job, `copy rep ${rep} raw ${Math.round(r.wallMs)} ms`);
  if (job.verifyTarget) {
    await dropDatabase(job.dst, job.verifyTarget.db);
    fs.rmSync(path.dirname(job.verifyTarget.assets), { recursive: true, force: true });
  }
  job.verifyTarget = { db, assets };
}

/** Verification against the (ANALYZEd) raw copy: the suite and the raw floor, the order flipping every repetition. */
async function verifyReps(job: ScaleJob): Promise<void> {
  const target = job.verifyTarget!;
  for (let rep = 1; rep <= job.ctx.config.reps; rep++) {
    const order = rep % 2 === 1 ? (['suite', 'floor'] as const) : (['floor', 'suite'] as const);
    for (const who of order) {
      const runDir = emptyDir(path.join(job.dir, `verify-${who}-${rep}`));
      if (who === 'suite') {
        const r = await suiteRun(
          job,
          ['--verify-only'],
          contractEnv(job, target.db, target.assets, runDir),
          `verify-suite-${rep}.log`,
        );
        job.runs.suiteVerify.push(r);
        job.runs.fusedScanMs.push(fusedSpan(path.join(runDir, 'work')));
        if (r.code !== 0) job.red.push(redRun('verify', rep, r));
        say(job, `verify rep ${rep} suite ${Math.round(r.wallMs)} ms (exit ${r.code})`);
        if (!job.ctx.config.keep) fs.rmSync(path.join(runDir, 'work'), { recursive: true, force: true });
      } else await floorRep(job, rep, runDir);
    }
  }
}

/** The raw floor of one repetition, with floor (c)'s like-for-like partner: the census alone, before or after it. */
async function floorRep(job: ScaleJob, rep: number, runDir: string): Promise<void> {
  const target = job.verifyTarget!;
  const census = () =>
    censusAlone(contractEnv(job, target.db, target.assets, runDir), job.world.shape.prefix).then((ms) => {
      job.runs.censusAlone.push(ms);
      say(job, `verify rep ${rep} census alone ${ms} ms`);
    });
  if (rep % 2 === 0) await census();
  const r = await rawFloor(
    sidesFor(job, target.db, target.assets),
    job.floorSql,
    runDir,
    path.join(job.logs, `verify-floor-${rep}.log`),
  );
  job.runs.floor.push(r);
  if (rep % 2 === 1) await census();
  if (r.countMismatches.length)
    job.warnings.push(`the raw copy differs from the source: ${r.countMismatches.join('; ')}`);
  if (r.hashMismatches.length)
    job.warnings.push(`the raw copy's checksums differ from the source's: ${r.hashMismatches.join('; ')}`);
  if (r.filesFound !== job.world.files)
    job.warnings.push(`find counted ${r.filesFound} files in the target, ${job.world.files} were generated`);
  say(job, `verify rep ${rep} floor ${Math.round(r.wallMs)} ms`);
}

/** Overhead: the same target, nothing to check. */
async function overheadReps(job: ScaleJob): Promise<void> {
  const target = job.verifyTarget!;
  for (let rep = 1; rep <= job.ctx.config.reps; rep++) {
    const runDir = emptyDir(path.join(job.dir, `overhead-${rep}`));
    const r = await suiteRun(
      job,
      ['--verify-only'],
      { ...contractEnv(job, target.db, target.assets, runDir), ...NOTHING_TO_DO },
      `overhead-${rep}.log`,
    );
    job.runs.overhead.push(r);
    if (r.code !== 0) job.red.push(redRun('overhead', rep, r));
    if (r.checks) {
      const ran = r.checks.filter((c) => c.state === 'passed' || c.state === 'failed');
      const fams = [...new Set(ran.map((c) => familyOf(c)))].sort();
      job.overheadChecks = `${ran.length} checks ran (${fams.join(', ') || 'none'})`;
    }
    say(job, `overhead rep ${rep} ${Math.round(r.wallMs)} ms (exit ${r.code})`);
  }
}

/**
 * The fixed cost itself: the same command against an empty world — a source and a target database holding only the
 * one-row probe table, empty asset trees — so no check has rows or files to read. (Against the bench's world, "nothing
 * to do" still runs the orphan anti-joins of every declared foreign key and walks both trees.)
 */
async function emptyWorldReps(job: ScaleJob): Promise<void> {
  const { src, dst } = job;
  const empty = { src: 'bench_empty_src', dst: 'bench_empty_dst' };
  try {
    await createDatabase(src, empty.src);
    await createDatabase(dst, empty.dst);
    for (const [cluster, db] of [
      [src, empty.src],
      [dst, empty.dst],
    ] as const)
      await withClient(cluster, db, (c) =>
        c.query(`CREATE TABLE ${PROBE_TABLE} (id int PRIMARY KEY, storage_path text);
                 INSERT INTO ${PROBE_TABLE} VALUES (1, NULL)`),
      );
    const emptySrcAssets = emptyDir(path.join(job.dir, 'empty-src-data'));
    for (let rep = 1; rep <= job.ctx.config.reps; rep++) {
      const runDir = emptyDir(path.join(job.dir, `overhead-empty-${rep}`));
      const env = {
        ...contractEnv(job, empty.dst, emptyDir(path.join(runDir, 'dst-data')), runDir),
        SRC_DATABASE_URL: clusterUrl(src, empty.src),
        SRC_ASSETS_DIR: emptySrcAssets,
        ...NOTHING_TO_DO,
      };
      const r = await suiteRun(job, ['--verify-only'], env, `overhead-empty-${rep}.log`);
      job.runs.overheadEmpty.push(r);
      if (r.code !== 0) job.red.push(redRun('overhead', rep, r));
      say(job, `overhead (empty world) rep ${rep} ${Math.round(r.wallMs)} ms (exit ${r.code})`);
    }
  } finally {
    await dropDatabase(src, empty.src).catch(() => {});
    await dropDatabase(dst, empty.dst).catch(() => {});
  }
}

/**
 * Seq scans of the fused families (the three spec files, minus global setup + collection alone), then the fused scans
 * with nothing else running (server defaults), so the in-run span can be told apart from the time other families take
 * from the same cores.
 */
async function fusedScanRuns(job: ScaleJob): Promise<void> {
  const target = job.verifyTarget!;
  job.runs.seqScans = await probeSeqScans(
    contractEnv(job, target.db, target.assets, emptyDir(path.join(job.dir, 'seqscans'))),
    sidesFor(job, target.db, target.assets),
    path.join(job.dir, 'seqscans'),
    job.logs,
  );
  if ('error' in job.runs.seqScans) job.warnings.push(`seq-scan counts not measured: ${job.runs.seqScans.error}`);
  else say(job, `seq scans of ${FUSED_SPECS.length} fused spec files measured`);
  for (let rep = 1; rep <= job.ctx.config.reps; rep++) {
    const work = emptyDir(path.join(job.dir, `fused-alone-${rep}`));
    const r = await runFusedSpecs(
      contractEnv(job, target.db, target.assets, work),
      path.join(work, 'work'),
      path.join(job.logs, `fused-alone-${rep}.log`),
      false,
    );
    const span = r.code === 0 ? fusedSpan(path.join(work, 'work')) : undefined;
    job.runs.fusedAloneMs.push(span);
    say(job, `fused spec files alone rep ${rep}: scans ${span ?? '?'} ms (exit ${r.code})`);
  }
}

/**
 * How a big table's checksum scales with the server's cores (the largest table, one scan vs CHECK_CONCURRENCY block
 * ranges per side), then the peer, last: it changes rows of the target.
 */
async function splitAndPeerRuns(job: ScaleJob): Promise<void> {
  const { config, log } = job.ctx;
  const sides = sidesFor(job, job.verifyTarget!.db, job.verifyTarget!.assets);
  job.runs.split = await splitRuns(sides, job.world.rowsPerTable, config, log);
  try {
    job.runs.peer = await peerRuns(sides, job.world.rowsPerTable, config, path.join(job.logs, 'peer.log'), log);
  } catch (e) {
    // Reported as n/a with the reason in the peer figures (test:self machines need not have the peer installed).
    job.runs.peerError = (e as Error).message;
    say(job, `pg_comparator not measured: ${job.runs.peerError}`);
  }
}

/**
 * BENCH_ENGINES=1: per repetition, the suite copy with COPY_ENGINE=pgcopydb + ASSETS_ENGINE=fpsync (checks off, N
 * jobs) and the engines' raw floors (pg_dump | pg_restore, pgcopydb ×1, pgcopydb ×N, fpsync ×N), each into fresh
 * empty databases and directories. N = the cores of this machine, at least 2.
 */
async function engineReps(job: ScaleJob): Promise<void> {
  const jobs = Math.max(2, os.cpus().length);
  job.runs.suiteEngines = [];
  job.runs.rawEngines = [];
  for (let rep = 1; rep <= job.ctx.config.reps; rep++) {
    const runDir = emptyDir(path.join(job.dir, `engines-${rep}`));
    const dbs = ['suite', 'dump', 'one', 'n'].map((k) => `bench_dst_engines_${k}_${rep}`);
    for (const db of dbs) await createDatabase(job.dst, db);
    try {
      const engines = {
        COPY_ENGINE: 'pgcopydb',
        COPY_JOBS: String(jobs),
        ASSETS_ENGINE: 'fpsync',
        ASSETS_JOBS: String(jobs),
      };
      const env = { ...contractEnv(job, dbs[0], emptyDir(path.join(runDir, 'dst-suite')), runDir), ...NOTHING_TO_DO };
      const r = await suiteRun(job, [], { ...env, ...engines }, `engines-suite-${rep}.log`);
      job.runs.suiteEngines.push(r);
      if (r.code !== 0) job.red.push(redRun('copy', rep, r));
      const dsn = (db: string) => parseDsn(clusterUrl(job.dst, db));
      const raw = await rawEngines(
        {
          src: parseDsn(clusterUrl(job.src, job.world.srcDb)),
          dst: { dump: dsn(dbs[1]), one: dsn(dbs[2]), n: dsn(dbs[3]) },
          jobs,
          sessionSettings: job.tuned.settings,
          assets: { src: job.world.srcAssets, dst: emptyDir(path.join(runDir, 'dst-raw')) },
        },
        path.join(runDir, 'raw'),
        path.join(job.logs, `engines-raw-${rep}.log`),
      );
      job.runs.rawEngines.push(raw);
      say(job, `engines rep ${rep}: suite ${Math.round(r.wallMs)} ms (exit ${r.code}); raw ${JSON.stringify(raw)}`);
    } finally {
      for (const db of dbs) await dropDatabase(job.dst, db).catch(() => {});
      if (!job.ctx.config.keep) fs.rmSync(runDir, { recursive: true, force: true });
    }
  }
}

/** The scale's result: what was generated, the figures of its runs, what went red and the warnings. */
function scaleResult(job: ScaleJob): ScaleResult {
  const { runs, world } = job;
  const { figures, families } = scaleFigures(runs);
  if (runs.rawEngines) Object.assign(figures, engineFigures(runs.suiteEngines ?? [], runs.rawEngines));
  const seq = runs.seqScans && !('error' in runs.seqScans) ? runs.seqScans : undefined;
  return {
    requestedRows: job.requestedRows,
    rows: Object.values(world.rowsPerTable).reduce((a, b) => a + b, 0),
    rowsPerTable: world.rowsPerTable,
    files: world.files,
    generate: {
      databaseMs: Math.round(world.databaseMs),
      assetsMs: Math.round(world.assetsMs),
      databaseBytes: world.bytes,
    },
    figures,
    families,
    red: job.red,
    memoryTop: memoryTop(runs),
    overheadChecks: job.overheadChecks,
    seqScans: seq,
    peer: runs.peer,
    warnings: [...new Set(job.warnings)],
  };
}

/** The asset columns of the bench database (the fixture's defaults). */
const BENCH_ASSET_COLUMNS: Array<{ table: string; column: string; kind: 'file' | 'dir' }> = [
  { table: 'knowledge_materials', column: 'storage_path', kind: 'file' },
  { table: 'ugc_assets', column: 'storage_path', kind: 'file' },
  { table: 'gallery_items', column: 'storage_dir', kind: 'dir' },
];

/**
 * The census alone: `runCensus` (lib/checks/families/asset-census/census.ts) of the bench's asset columns with the suite's configuration for
 * `vars` (the contract variables of a verification run), in this process, timed from the call (before it connects) to
 * its result (dangling candidates looked up): what floor (c) does, done the suite's way, with nothing else running.
 * Throws when the census finds what the floor would not (a dangling path or an unreferenced file: the copy is broken).
 */
async function censusAlone(vars: Record<string, string>, prefix: string): Promise<number> {
  const cfg = parseConfig({ ...vars, ASSETS_DB_PATH_PREFIX: prefix }, { mode: 'verify-only' });
  const columns = BENCH_ASSET_COLUMNS.map((c) => ({
    display: `${c.table}.${c.column}`,
    table: { schema: 'public', name: c.table },
    column: c.column,
    kind: c.kind,
  }));
  const t0 = performance.now();
  const r = await runCensus(cfg, columns);
  const ms = Math.round(performance.now() - t0);
  const dangling = [...r.columns.values()].reduce((a, c) => a + c.dangling, 0);
  if (dangling || r.unreferenced.count)
    throw new Error(
      `the census of the bench's target found ${dangling} dangling paths, ${r.unreferenced.count} unreferenced files`,
    );
  return ms;
}

async function probeSeqScans(
  vars: Record<string, string>,
  sides: RawSides,
  dir: string,
  logs: string,
): Promise<NonNullable<ScaleRuns['seqScans']>> {
  const pools = { src: getPool(sides.src, { max: 1 }), dst: getPool(sides.dst, { max: 1 }) };
  // seq_scan counts every process that starts a heap scan: a parallel seq scan with 2 workers counts 3. The figure is
  // about how often the suite reads each table, so the two measured runs plan without parallel workers (a setting of
  // the bench's own throw-away databases, reset afterwards); the timed runs keep the server's defaults.
  const serial = async (on: boolean) => {
    for (const side of ['src', 'dst'] as const) {
      const db = quoteIdent(sides[side].database ?? '');
      await pools[side].query(
        on
          ? `ALTER DATABASE ${db} SET max_parallel_workers_per_gather = 0`
          : `ALTER DATABASE ${db} RESET max_parallel_workers_per_gather`,
      );
    }
  };
  try {
    await serial(true);
    const snap = async () => ({ src: await seqScans(pools.src), dst: await seqScans(pools.dst) });
    const s0 = await snap();
    const base = await runFusedSpecs(
      vars,
      path.join(dir, 'work-base'),
      path.join(logs, 'seqscans-discovery.log'),
      true,
    );
    const s1 = await snap();
    const run = await runFusedSpecs(vars, path.join(dir, 'work-fused'), path.join(logs, 'seqscans-fused.log'), false);
    const s2 = await snap();
    if (run.code !== 0 || base.code !== 0)
      return { error: `the vitest run of the fused spec files exited ${run.code} / ${base.code}; see ${logs}` };
    // Both runs pay global setup (discovery, the asset sample): the fused families' own scans are the difference.
    const discovery = { src: scanDelta(s1.src, s0.src), dst: scanDelta(s1.dst, s0.dst) };
    const own = (side: 'src' | 'dst') => scanDelta(scanDelta(s2[side], s1[side]), discovery[side]);
    return { discovery, fused: { src: own('src'), dst: own('dst') } };
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    await serial(false).catch(() => {});
    await closePools();
  }
}

/** The two largest tables with a single-column primary key, clean then with 3 changed rows, BENCH_REPS times each. */
async function peerRuns(
  sides: RawSides,
  rowsPerTable: Record<string, number>,
  config: BenchConfig,
  logFile: string,
  log: Log,
): Promise<PeerRun[]> {
  const which = (() => {
    try {
      return execFileSync('sh', ['-c', 'command -v pg_comparator'], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  })();
  if (!which) throw new Error('pg_comparator is not installed (`npm run bench` installs postgresql-comparator first)');
  const pool = { src: getPool(sides.src, { max: 1 }), dst: getPool(sides.dst, { max: 1 }) };
  const out: PeerRun[] = [];
  try {
    for (const p of [pool.src, pool.dst]) await p.query('CREATE EXTENSION IF NOT EXISTS pgcmp');
    const keyed: Array<{ table: string; key: string; col: string; rows: number }> = [];
    for (const [table, rows] of Object.entries(rowsPerTable).sort((a, b) => b[1] - a[1])) {
      const r = await pool.src.query<{ key: string[]; col: string | null }>(
        `SELECT array_agg(a.attname::text) AS key,
           (SELECT c.attname FROM pg_attribute c WHERE c.attrelid = i.indrelid AND c.attnum > 0 AND NOT c.attisdropped
              AND c.atttypid IN ('text'::regtype, 'varchar'::regtype) ORDER BY c.attnum LIMIT 1) AS col
         FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
         WHERE i.indrelid = to_regclass($1) AND i.indisprimary GROUP BY i.indrelid`,
        [table],
      );
      const row = r.rows[0];
      if (row && row.key.length === 1 && row.col) keyed.push({ table, key: row.key[0], col: row.col, rows });
      if (keyed.length === 2) break;
    }
    const dstPass = { ...sides };
    for (const phase of ['clean', 'changed'] as const) {
      if (phase === 'changed')
        for (const k of keyed)
          await pool.dst.query(
            `UPDATE ${k.table} SET ${k.col} = ${k.col} || ' (changed)' WHERE ${k.key} IN (SELECT ${k.key} FROM ${k.table} ORDER BY ${k.key} OFFSET $1 LIMIT 3)`,
            [Math.floor(k.rows / 2)],
          );
      for (let rep = 1; rep <= config.reps; rep++) {
        for (const k of keyed) {
          const peer = await runPeer(dstPass.src, dstPass.dst, `public.${k.table}`, k.key, logFile);
          const suite = await suiteChecksum(sides.src, sides.dst, { schema: 'public', name: k.table }, 4, 64 * 2 ** 20);
          out.push({
            table: k.table,
            changed: phase === 'changed' ? 3 : 0,
            peerMs: peer.ms,
            peerFound: peer.found,
            peerExit: peer.code,
            suiteMs: suite.ms,
            suiteFound: suite.found,
            rep,
          } as PeerRun & { rep: number });
          log(
            `peer ${phase} ${k.table} rep ${rep}: pg_comparator ${peer.ms} ms (${peer.found} found, exit ${peer.code}), suite ${suite.ms} ms (${suite.found} found)`,
          );
        }
      }
    }
  } finally {
    await closePools();
  }
  return out;
}

/** Block ranges a split checksum uses in the bench: the suite's default CHECK_CONCURRENCY. */
const SPLIT_PARTS = 4;

/**
 * The largest table's checksum on both sides at once, BENCH_REPS times each way, alternating: as one scan per side
 * (no split), and split into SPLIT_PARTS ctid block ranges per side on as many connections (lib/checks/shared/table-scan.ts,
 * what CHECKSUM_SPLIT_MB does for tables above it). Equal checksums both ways are part of the measurement.
 */
async function splitRuns(
  sides: RawSides,
  rowsPerTable: Record<string, number>,
  config: BenchConfig,
  log: Log,
): Promise<NonNullable<ScaleRuns['split']>> {
  const [table] = Object.entries(rowsPerTable).sort((a, b) => b[1] - a[1])[0] ?? [];
  if (!table) return { error: 'no table' };
  const t = { schema: 'public', name: table };
  const oneMs: number[] = [];
  const splitMs: number[] = [];
  try {
    for (let rep = 1; rep <= config.reps; rep++) {
      const one = await suiteChecksum(sides.src, sides.dst, t, 1, Number.MAX_SAFE_INTEGER);
      const split = await suiteChecksum(sides.src, sides.dst, t, SPLIT_PARTS, 0);
      if (one.found || split.found) return { error: `the checksums of ${table} differ between source and target` };
      oneMs.push(one.ms);
      splitMs.push(split.ms);
      log(
        `split ${table} rep ${rep}: one scan per side ${one.ms} ms, ${SPLIT_PARTS} block ranges per side ${split.ms} ms`,
      );
    }
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    await closePools();
  }
  return { table, parts: SPLIT_PARTS, oneMs, splitMs };
}

/** The whole bench: a sandbox, every scale, the result. */
export async function runBench(config: BenchConfig, log: Log): Promise<BenchResult> {
  const started = performance.now();
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rehearsal-bench-'));
  // The clusters run as the `postgres` OS user when we are root: it must be able to reach the sandbox inside.
  fs.chmodSync(workRoot, 0o755);
  log(`bench: work directory ${workRoot}${config.keep ? ' (kept)' : ''}`);
  fs.rmSync(path.join(config.outDir, 'logs'), { recursive: true, force: true });
  const sandbox = await startSandbox({ root: path.join(workRoot, 'sandbox') });
  // Interrupted: end the measured child, stop the clusters (they run detached), then exit.
  const onSignal = (sig: NodeJS.Signals) => {
    log(`bench: ${sig}: stopping the sandbox`);
    killActive(sig);
    stopSandbox(sandbox, { keepFiles: config.keep }).finally(() => {
      if (!config.keep) fs.rmSync(workRoot, { recursive: true, force: true });
      process.exit(130);
    });
  };
  const offSignal = onStopSignal(onSignal);
  try {
    const machine = await machineInfo(srcCluster(sandbox));
    const scales: ScaleResult[] = [];
    // After every step: bench.json / bench.md with what is measured so far (a run stopped early keeps it).
    const progress = (partial: ScaleResult) =>
      writeReports(benchResult(config, machine, [...scales, partial], started), config.outDir);
    for (const rows of config.scales) scales.push(await benchScale({ config, sandbox, workRoot, log, progress }, rows));
    return benchResult(config, machine, scales, started);
  } finally {
    offSignal();
    await stopSandbox(sandbox, { keepFiles: config.keep });
    if (!config.keep) fs.rmSync(workRoot, { recursive: true, force: true });
  }
}

/** The bench's result from the scales measured (all of them, or those so far). */
function benchResult(config: BenchConfig, machine: MachineInfo, scales: ScaleResult[], started: number): BenchResult {
  const method = { ...METHOD };
  const families = new Set<string>(FAMILIES.map((f) => f.family));
  for (const s of scales)
    for (const k of Object.keys(s.figures))
      if (/^verify\.suite\.\w[\w-]*$/.test(k) && k !== 'verify.suite.wall')
        families.add(k.slice('verify.suite.'.length));
  for (const family of families)
    method[`verify.suite.${family}`] = `${familyLabel(family)}: ${METHOD['verify.suite.family']}`;
  delete method['verify.suite.family'];
  return {
    version: 1,
    date: new Date().toISOString(),
    machine,
    config: {
      rows: config.rows,
      files: config.files,
      reps: config.reps,
      scales: config.scales,
      dims: config.dims,
      hnsw: config.hnsw !== false,
      ...(config.schemaBefore ? { schemaBefore: config.schemaBefore } : {}),
    },
    method,
    scales,
    rows: [...scales.flatMap(scaleRows), ...crossScaleRows(scales)],
    durationMs: Math.round(performance.now() - started),
  };
}
