/**
 * The bench's measurements beside the raw-tool scripts:
 * - the floor SQL (the suite's own checksum query per table, for psql);
 * - seq-scan counts (pg_stat_user_tables.seq_scan deltas) of the row-count, checksum and path-prefix checks, from a
 *   vitest run of just those spec files minus a run that collects them but runs no test (discovery's own scans);
 * - the peer: pg_comparator (Debian's postgresql-comparator, its pgcmp C checksum functions) on the largest tables,
 *   clean and with changed rows, against the suite's checksum (fused scan, split when large) + key bisection.
 * Passwords reach pg_comparator through --env-pass (an environment variable), never its arguments.
 */
import { toEnv } from '../core/run-protocol.ts';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import {
  compareShapes,
  locateDifferences,
  shapeFromRows,
  shapeQuery,
  sideRunner,
  type ShapeRow,
} from '../checks/families/checksums/checksum.ts';
import { pinnedSettingsSql } from '../checks/shared/deep-context.ts';
import { runScan, scanQuery } from '../checks/shared/table-scan.ts';
import { getPool } from '../core/db.ts';
import type { Dsn } from '../core/dsn.ts';
import { PROJECT_ROOT } from '../core/project.ts';
import { checksVitestCommand } from '../core/vitest-runner.ts';
import { measure } from './run.ts';
import { suiteEnv } from './suite.ts';

/** The suite's checksum SQL of each table (count + sum of row hashes, as the fused scan computes it), for psql -A -t. */
export async function hashFloorSql(
  client: pg.ClientBase,
  tables: Array<{ schema: string; name: string }>,
): Promise<string> {
  const lines = ['BEGIN;', `${pinnedSettingsSql()};`];
  for (const t of tables) {
    const q = shapeQuery(t);
    const rows = (await client.query<ShapeRow>(q.text, q.values as unknown[])).rows;
    const shape = shapeFromRows(rows);
    const cmp = compareShapes(shape, shape);
    if (cmp.problem !== undefined) continue;
    const scan = scanQuery({
      table: t,
      checksum: { columns: cmp.shape.columns, method: cmp.method },
      prefixColumns: [],
      prefix: '/',
    });
    lines.push(`SELECT '${t.schema}.${t.name}', x.n || ' ' || x.s FROM (${scan.text}) x;`);
  }
  lines.push('COMMIT;');
  return lines.join('\n') + '\n';
}

export type SeqScans = Record<string, number>;

/** seq_scan of every user table (`schema.table`), once the server's statistics stop moving (flushed within ~1 s). */
export async function seqScans(pool: pg.Pool): Promise<SeqScans> {
  let last = '';
  let rows: Array<{ t: string; n: string }> = [];
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 600));
    rows = (
      await pool.query<{ t: string; n: string }>(
        `SELECT schemaname || '.' || relname AS t, seq_scan::text AS n FROM pg_stat_user_tables ORDER BY 1`,
      )
    ).rows;
    const now = JSON.stringify(rows);
    if (now === last) break;
    last = now;
  }
  return Object.fromEntries(rows.map((r) => [r.t, Number(r.n)]));
}

export function scanDelta(after: SeqScans, before: SeqScans): SeqScans {
  return Object.fromEntries(Object.keys(after).map((t) => [t, after[t] - (before[t] ?? 0)]));
}

export const FUSED_SPECS = ['specs/row-counts.spec.ts', 'specs/checksums.spec.ts', 'specs/path-prefix.spec.ts'];

/**
 * `vitest run --project checks <FUSED_SPECS>` in --verify-only mode with the contract variables `vars`, as rehearse
 * starts it (`noTests`: a test-name filter that matches nothing, so only global setup and collection run).
 */
export async function runFusedSpecs(
  vars: Record<string, string>,
  workDir: string,
  logFile: string,
  noTests: boolean,
): Promise<{ code: number; wallMs: number }> {
  fs.mkdirSync(workDir, { recursive: true });
  const runId = `bench-${Date.now().toString(36)}`;
  const env = suiteEnv({ ...vars, ...toEnv({ runId, workDir, mode: 'verify-only' }) });
  const [bin, base] = checksVitestCommand();
  const args = [...base, ...FUSED_SPECS, ...(noTests ? ['-t', '^no test has this name$'] : [])];
  const r = await measure(bin, args, {
    cwd: PROJECT_ROOT,
    env,
    logFile,
  });
  return { code: r.code, wallMs: r.wallMs };
}

export interface PeerRun {
  table: string;
  changed: number;
  /** pg_comparator wall time (both sides, its own checksum tables). */
  peerMs: number;
  peerFound: number;
  peerExit: number;
  /** The suite: fused checksum scan of both sides (split when large) + bisection to the keys. */
  suiteMs: number;
  suiteFound: number;
}

/** pg_comparator's connection URL for one side (no password: --env-pass). */
function peerUrl(d: Dsn, table: string, key: string): string {
  return `pgsql://${encodeURIComponent(d.user ?? '')}@${d.host ?? 'localhost'}:${d.port}/${d.database}/${table}?${key}`;
}

/** Run pg_comparator once; the number of differences it reported (UPDATE/INSERT/DELETE lines). */
export async function runPeer(
  src: Dsn,
  dst: Dsn,
  table: string,
  key: string,
  logFile: string,
): Promise<{ ms: number; found: number; code: number }> {
  const t0 = performance.now();
  const args = ['--env-pass=BENCH_PEER_PASS', '--no-lock', peerUrl(src, table, key), peerUrl(dst, table, key)];
  const out = await new Promise<{ code: number; text: string }>((resolve, reject) => {
    const child = spawn('pg_comparator', args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8', BENCH_PEER_PASS: src.password ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, text }));
  });
  fs.appendFileSync(logFile, `$ pg_comparator ${args.join(' ')}\n${out.text}\n`);
  const found = out.text.split('\n').filter((l) => /^(UPDATE|INSERT|DELETE) /.test(l)).length;
  return { ms: Math.round(performance.now() - t0), found, code: out.code };
}

/** The suite's checksum of one table on both sides + the bisection when they differ; the differing keys found. */
export async function suiteChecksum(
  src: Dsn,
  dst: Dsn,
  t: { schema: string; name: string },
  parts: number,
  splitBytes: number,
): Promise<{ ms: number; found: number }> {
  const pools = { src: getPool(src, { max: parts }), dst: getPool(dst, { max: parts }) };
  const t0 = performance.now();
  const q = shapeQuery(t);
  const [a, b] = await Promise.all([
    pools.src.query<ShapeRow>(q.text, q.values as unknown[]),
    pools.dst.query<ShapeRow>(q.text, q.values as unknown[]),
  ]);
  const cmp = compareShapes(shapeFromRows(a.rows), shapeFromRows(b.rows));
  if (cmp.problem !== undefined) throw new Error(`suite checksum of ${t.schema}.${t.name}: ${cmp.problem}`);
  const spec = {
    table: t,
    checksum: { columns: cmp.shape.columns, method: cmp.method },
    prefixColumns: [],
    prefix: '/',
  };
  const [s, d] = await Promise.all([
    runScan(pools.src, spec, { splitBytes, parts }),
    runScan(pools.dst, spec, { splitBytes, parts }),
  ]);
  let found = 0;
  if (s.rows !== d.rows || s.sum !== d.sum) {
    const located = await locateDifferences(
      sideRunner(pools),
      t,
      cmp.shape,
      cmp.method,
      { src: BigInt(s.rows!), dst: BigInt(d.rows!) },
      { maxKeys: 1000, maxRanges: 1000, budget: 10_000 },
    );
    found = located.keys.length;
  }
  return { ms: Math.round(performance.now() - t0), found };
}
