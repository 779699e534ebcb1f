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
import { parseDsn } from '../core/dsn.ts';
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
import { rawCopy, rawFloor, type RawCopyResult, type RawFloorResult, type RawSides } from './raw.ts';
import {
  crossScaleRows,
  METHOD,
  scaleRows,
  stat,
  type BenchResult,
  type Figure,
  type MachineInfo,
  type RedRun,
  type ScaleResult,
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
  floor: RawFloorResult[];
  overhead: SuiteRun[];
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
  f['copy.suite.wall'] = stat(
    runs.suiteCopy.map((r) => r.wallMs),
    'ms',
  );
  f['copy.raw.steps'] = stat(
    runs.rawCopy.map((r) => r.stepsMs),
    'ms',
  );
  f['copy.raw.dump'] = stat(
    runs.rawCopy.map((r) => r.dumpMs),
    'ms',
  );
  f['copy.raw.restore'] = stat(
    runs.rawCopy.map((r) => r.restoreMs + r.analyzeMs),
    'ms',
  );
  f['copy.raw.rsync'] = stat(
    runs.rawCopy.map((r) => r.rsyncMs),
    'ms',
  );
  f['copy.raw.wall'] = stat(
    runs.rawCopy.map((r) => r.wallMs),
    'ms',
  );

  // Verification: per family from checks.json.
  f['verify.suite.wall'] = stat(
    runs.suiteVerify.map((r) => r.wallMs),
    'ms',
  );
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
  const trio: Family[] = ['rowCounts', 'orphans', 'prefix'];
  f['verify.suite.rowCounts+orphans+prefix'] = stat(
    perRun.map((t) => {
      const xs = trio.map((k) => t?.[k]?.ms).filter((x): x is number => x !== undefined);
      return xs.length ? xs.reduce((a, b) => a + b, 0) : undefined;
    }),
    'ms',
    'none of row counts, orphans, path prefix ran',
  );
  f['verify.floor.count'] = stat(
    runs.floor.map((r) => r.countMs),
    'ms',
  );
  f['verify.floor.find'] = stat(
    runs.floor.map((r) => r.findMs),
    'ms',
  );
  f['verify.floor.wall'] = stat(
    runs.floor.map((r) => r.wallMs),
    'ms',
  );

  f['overhead.suite.wall'] = stat(
    runs.overhead.map((r) => r.wallMs),
    'ms',
  );

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
  return { figures: f, families };
}

export interface BenchContext {
  config: BenchConfig;
  sandbox: SandboxState;
  workRoot: string;
  log: Log;
}

function srcCluster(s: SandboxState) {
  return s.clusters.source!;
}
function dstCluster(s: SandboxState) {
  return s.clusters.target!;
}

async function userTables(c: ClusterInfo, db: string): Promise<string[]> {
  return withClient(c, db, async (cl) => {
    const r = await cl.query<{ t: string }>(
      `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
       ORDER BY 1`,
    );
    return r.rows.map((x) => x.t);
  });
}

/** Measure one scale. */
export async function benchScale(ctx: BenchContext, requestedRows: number): Promise<ScaleResult> {
  const { config, sandbox, log } = ctx;
  const src = srcCluster(sandbox);
  const dst = dstCluster(sandbox);
  const dir = emptyDir(path.join(ctx.workRoot, `scale-${requestedRows}`));
  // Logs go with the reports (the suite redacts its own output; the raw scripts print no secret), so a red run can be read.
  const logs = emptyDir(path.join(config.outDir, 'logs', `scale-${requestedRows}`));
  const shape = benchShape(requestedRows, config.files, { dims: config.dims });
  const srcDb = `bench_src_${requestedRows}`;
  const srcAssets = path.join(dir, 'src-data');
  const warnings: string[] = [];
  const red: RedRun[] = [];

  log(
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
  log(
    `scale ${requestedRows}: generated in ${(databaseMs / 1000).toFixed(1)} s + ${(assetsMs / 1000).toFixed(1)} s (files)`,
  );

  const runs: ScaleRuns = { suiteCopy: [], rawCopy: [], suiteVerify: [], floor: [], overhead: [] };
  const srcUrl = clusterUrl(src, srcDb);
  const sidesFor = (dstDb: string, dstAssets: string): RawSides => ({
    src: parseDsn(srcUrl),
    dst: parseDsn(clusterUrl(dst, dstDb)),
    srcAssets,
    dstAssets,
  });
  const contractEnv = (dstDb: string, dstAssets: string, runDir: string) => ({
    SRC_DATABASE_URL: srcUrl,
    DST_DATABASE_URL: clusterUrl(dst, dstDb),
    SRC_ASSETS_DIR: srcAssets,
    DST_ASSETS_DIR: dstAssets,
    WORK_DIR: path.join(runDir, 'work'),
    REPORTS_DIR: path.join(runDir, 'reports'),
    HEALTH_CHECK: '0',
  });
  let verifyTarget: { db: string; assets: string } | undefined;
  let overheadChecks: string | undefined;

  try {
    // Copy: each repetition into a fresh empty database and directory; the order flips every repetition.
    for (let rep = 1; rep <= config.reps; rep++) {
      const order = rep % 2 === 1 ? (['suite', 'raw'] as const) : (['raw', 'suite'] as const);
      for (const who of order) {
        const db = `bench_dst_${who}_${rep}`;
        const runDir = emptyDir(path.join(dir, `copy-${who}-${rep}`));
        const assets = emptyDir(path.join(runDir, 'dst-data'));
        await createDatabase(dst, db);
        if (who === 'suite') {
          const r = await runSuite(
            [],
            { ...contractEnv(db, assets, runDir), ...NOTHING_TO_DO },
            {
              logFile: path.join(logs, `copy-suite-${rep}.log`),
              sampleMs: config.sampleMs,
              timeoutMs: SUITE_TIMEOUT_MS,
            },
          );
          runs.suiteCopy.push(r);
          if (r.code !== 0) red.push(redRun('copy', rep, r));
          log(`scale ${requestedRows}: copy rep ${rep} suite ${Math.round(r.wallMs)} ms (exit ${r.code})`);
          await dropDatabase(dst, db);
          if (!config.keep) fs.rmSync(runDir, { recursive: true, force: true });
        } else {
          const r = await rawCopy(sidesFor(db, assets), runDir, path.join(logs, `copy-raw-${rep}.log`));
          runs.rawCopy.push(r);
          log(`scale ${requestedRows}: copy rep ${rep} raw ${Math.round(r.wallMs)} ms`);
          // The last raw copy becomes the verification target; the others go.
          if (verifyTarget) {
            await dropDatabase(dst, verifyTarget.db);
            fs.rmSync(path.dirname(verifyTarget.assets), { recursive: true, force: true });
          }
          verifyTarget = { db, assets };
        }
      }
    }

    // Verification against the (ANALYZEd) raw copy.
    const target = verifyTarget!;
    const sides = sidesFor(target.db, target.assets);
    for (let rep = 1; rep <= config.reps; rep++) {
      const order = rep % 2 === 1 ? (['suite', 'floor'] as const) : (['floor', 'suite'] as const);
      for (const who of order) {
        const runDir = emptyDir(path.join(dir, `verify-${who}-${rep}`));
        if (who === 'suite') {
          const r = await runSuite(['--verify-only'], contractEnv(target.db, target.assets, runDir), {
            logFile: path.join(logs, `verify-suite-${rep}.log`),
            sampleMs: config.sampleMs,
            timeoutMs: SUITE_TIMEOUT_MS,
          });
          runs.suiteVerify.push(r);
          if (r.code !== 0) red.push(redRun('verify', rep, r));
          log(`scale ${requestedRows}: verify rep ${rep} suite ${Math.round(r.wallMs)} ms (exit ${r.code})`);
        } else {
          const r = await rawFloor(sides, tables, runDir, path.join(logs, `verify-floor-${rep}.log`));
          runs.floor.push(r);
          if (r.countMismatches.length)
            warnings.push(`the raw copy differs from the source: ${r.countMismatches.join('; ')}`);
          if (r.filesFound !== files)
            warnings.push(`find counted ${r.filesFound} files in the target, ${files} were generated`);
          log(`scale ${requestedRows}: verify rep ${rep} floor ${Math.round(r.wallMs)} ms`);
        }
        if (!config.keep && who === 'suite') fs.rmSync(path.join(runDir, 'work'), { recursive: true, force: true });
      }
    }

    // Overhead: the same target, nothing to check.
    for (let rep = 1; rep <= config.reps; rep++) {
      const runDir = emptyDir(path.join(dir, `overhead-${rep}`));
      const r = await runSuite(
        ['--verify-only'],
        { ...contractEnv(target.db, target.assets, runDir), ...NOTHING_TO_DO },
        { logFile: path.join(logs, `overhead-${rep}.log`), sampleMs: config.sampleMs, timeoutMs: SUITE_TIMEOUT_MS },
      );
      runs.overhead.push(r);
      if (r.code !== 0) red.push(redRun('overhead', rep, r));
      if (r.checks) {
        const ran = r.checks.filter((c) => c.state === 'passed' || c.state === 'failed');
        const fams = [...new Set(ran.map((c) => familyOf(c)))].sort();
        overheadChecks = `${ran.length} checks ran (${fams.join(', ') || 'none'})`;
      }
      log(`scale ${requestedRows}: overhead rep ${rep} ${Math.round(r.wallMs)} ms (exit ${r.code})`);
    }
  } finally {
    if (!config.keep) {
      if (verifyTarget) await dropDatabase(dst, verifyTarget.db).catch(() => {});
      await dropDatabase(src, srcDb).catch(() => {});
    }
  }

  const { figures, families } = scaleFigures(runs);
  return {
    requestedRows,
    rows: Object.values(rowsPerTable).reduce((a, b) => a + b, 0),
    rowsPerTable,
    files,
    generate: { databaseMs: Math.round(databaseMs), assetsMs: Math.round(assetsMs), databaseBytes: bytes },
    figures,
    families,
    red,
    memoryTop: memoryTop(runs),
    overheadChecks,
    warnings: [...new Set(warnings)],
  };
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
    for (const rows of config.scales) scales.push(await benchScale({ config, sandbox, workRoot, log }, rows));
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
      config: { rows: config.rows, files: config.files, reps: config.reps, scales: config.scales, dims: config.dims },
      method,
      scales,
      rows: [...scales.flatMap(scaleRows), ...crossScaleRows(scales)],
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    offSignal();
    await stopSandbox(sandbox, { keepFiles: config.keep });
    if (!config.keep) fs.rmSync(workRoot, { recursive: true, force: true });
  }
}
