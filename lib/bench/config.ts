/**
 * The bench's own settings (BENCH_*), read once into a typed object, every problem reported at once.
 * The bench never reads the rehearsal's contract variables from the caller's shell: it builds each run's environment.
 */
import path from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { PROJECT_ROOT } from '../core/project.ts';

export type Env = Record<string, string | undefined>;

export interface BenchConfig {
  /** BENCH_ROWS: rows of the generated source database, summed over its tables (default 1,000,000). */
  rows: number;
  /** BENCH_FILES: files in the generated asset tree, all referenced by rows (default 20,000). */
  files: number;
  /** BENCH_REPS: repetitions of every measurement, suite and raw alternating (default 3). */
  reps: number;
  /** BENCH_SCALES: row counts to measure at (default "1000000,4000000"); BENCH_ROWS is always one of them. */
  scales: number[];
  /** BENCH_DIMS: dimensions of the generated embedding vectors (default 16). */
  dims: number;
  /** BENCH_OUT_DIR: where bench.json and bench.md go (default reports/bench). */
  outDir: string;
  /** BENCH_KEEP=1: keep the sandbox and the work directory (printed) for inspection. */
  keep: boolean;
  /** BENCH_SAMPLE_MS: RSS polling interval (default 100). */
  sampleMs: number;
}

export const BENCH_VARS: Array<{ name: string; default: string; doc: string }> = [
  { name: 'BENCH_ROWS', default: '1000000', doc: 'rows of the generated source database, summed over its tables' },
  { name: 'BENCH_FILES', default: '20000', doc: 'files in the generated asset tree (every one referenced by rows)' },
  { name: 'BENCH_REPS', default: '3', doc: 'repetitions of each measurement, suite and raw alternating' },
  {
    name: 'BENCH_SCALES',
    default: '1000000,4000000',
    doc: 'comma list of row counts to measure at (BENCH_ROWS is added)',
  },
  { name: 'BENCH_DIMS', default: '16', doc: 'dimensions of the embedding vectors' },
  { name: 'BENCH_OUT_DIR', default: 'reports/bench', doc: 'output folder for bench.json and bench.md' },
  { name: 'BENCH_KEEP', default: '0', doc: "1 keeps the sandbox clusters' files and the work directory" },
  { name: 'BENCH_SAMPLE_MS', default: '100', doc: 'RSS polling interval in milliseconds' },
];

function int(
  problems: string[],
  name: string,
  raw: string | undefined,
  dflt: number,
  min: number,
  max: number,
): number {
  if (raw === undefined || raw.trim() === '') return dflt;
  const v = raw.trim().replace(/_/g, '');
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    problems.push(`${name}="${raw}" must be a whole number in ${min}..${max}`);
    return dflt;
  }
  return Number(v);
}

export function parseBenchConfig(env: Env = process.env): BenchConfig {
  const problems: string[] = [];
  const rows = int(problems, 'BENCH_ROWS', env.BENCH_ROWS, 1_000_000, 13, 1_000_000_000);
  const files = int(problems, 'BENCH_FILES', env.BENCH_FILES, 20_000, 3, 100_000_000);
  const reps = int(problems, 'BENCH_REPS', env.BENCH_REPS, 3, 1, 100);
  const dims = int(problems, 'BENCH_DIMS', env.BENCH_DIMS, 16, 1, 16_000);
  const sampleMs = int(problems, 'BENCH_SAMPLE_MS', env.BENCH_SAMPLE_MS, 100, 10, 10_000);
  const scales = new Set<number>([rows]);
  for (const part of (env.BENCH_SCALES ?? '1000000,4000000')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const n = int(problems, 'BENCH_SCALES', part, rows, 13, 1_000_000_000);
    scales.add(n);
  }
  const keepRaw = (env.BENCH_KEEP ?? '0').trim().toLowerCase();
  if (!['0', '1', 'true', 'false', ''].includes(keepRaw))
    problems.push(`BENCH_KEEP="${env.BENCH_KEEP}" must be 1 or 0`);
  if (problems.length) throw new ConfigError(problems);
  return {
    rows,
    files,
    reps,
    scales: [...scales].sort((a, b) => a - b),
    dims,
    outDir: env.BENCH_OUT_DIR?.trim()
      ? path.resolve(env.BENCH_OUT_DIR.trim())
      : path.join(PROJECT_ROOT, 'reports', 'bench'),
    keep: keepRaw === '1' || keepRaw === 'true',
    sampleMs,
  };
}
