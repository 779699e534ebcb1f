/**
 * The bench's own settings (BENCH_*), read once into a typed object, every problem reported at once.
 * The bench never reads the rehearsal's contract variables from the caller's shell: it builds each run's environment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { envBool, envInt, isSet, showDefault, type Env, type IntRule } from '../core/env.ts';
import { PROJECT_ROOT } from '../core/project.ts';

export type { Env };

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
  /** BENCH_ENGINES=1: also measure the scale engines (COPY_ENGINE=pgcopydb, ASSETS_ENGINE=fpsync) and their raw floors. */
  engines?: boolean;
  /**
   * BENCH_HNSW=0: generate the world without its pgvector HNSW index (default 1, with it). Every copy, the suite's and
   * the raw tools' alike, then builds no vector index: at tens of millions of rows that build is pgvector's cost (hours
   * on 2 cores), not the tool's.
   */
  hnsw?: boolean;
  /**
   * BENCH_SCHEMA_BEFORE: a checkout of an older version of this project (its bin/run.mjs); at every scale its
   * `rehearse --verify-only` runs once against the same target, and its schema-parity family time is reported beside
   * today's (issue 25: the cost of the dump-based schema comparison, before/after).
   */
  schemaBefore?: string;
}

/** Whole-number BENCH_* variables: default and range written once (lib/core/env.ts envInt; `1_000_000` accepted). */
const INTS = {
  BENCH_ROWS: { default: 1_000_000, min: 13, max: 1_000_000_000, underscores: true },
  BENCH_FILES: { default: 20_000, min: 3, max: 100_000_000, underscores: true },
  BENCH_REPS: { default: 3, min: 1, max: 100, underscores: true },
  BENCH_DIMS: { default: 16, min: 1, max: 16_000, underscores: true },
  BENCH_SAMPLE_MS: { default: 100, min: 10, max: 10_000, underscores: true },
} satisfies Record<string, IntRule>;
const DEFAULT_SCALES = '1000000,4000000';
const DEFAULT_OUT_DIR = 'reports/bench';

/** The BENCH_* variables for --help, defaults shown from the same rules the parser uses. */
export const BENCH_VARS: Array<{ name: string; default: string; doc: string }> = [
  {
    name: 'BENCH_ROWS',
    default: showDefault(INTS.BENCH_ROWS.default),
    doc: 'rows of the generated source database, summed over its tables',
  },
  {
    name: 'BENCH_FILES',
    default: showDefault(INTS.BENCH_FILES.default),
    doc: 'files in the generated asset tree (every one referenced by rows)',
  },
  {
    name: 'BENCH_REPS',
    default: showDefault(INTS.BENCH_REPS.default),
    doc: 'repetitions of each measurement, suite and raw alternating',
  },
  {
    name: 'BENCH_SCALES',
    default: DEFAULT_SCALES,
    doc: 'comma list of row counts to measure at (BENCH_ROWS is added)',
  },
  { name: 'BENCH_DIMS', default: showDefault(INTS.BENCH_DIMS.default), doc: 'dimensions of the embedding vectors' },
  { name: 'BENCH_OUT_DIR', default: DEFAULT_OUT_DIR, doc: 'output folder for bench.json and bench.md' },
  { name: 'BENCH_KEEP', default: '0', doc: "1 keeps the sandbox clusters' files and the work directory" },
  {
    name: 'BENCH_ENGINES',
    default: '0',
    doc: '1 also measures the scale engines: the suite with COPY_ENGINE=pgcopydb + ASSETS_ENGINE=fpsync, and raw pgcopydb at 1 and N jobs, fpsync at N workers (slow)',
  },
  {
    name: 'BENCH_HNSW',
    default: '1',
    doc: '0 generates the world without its HNSW vector index, so no copy (suite or raw) builds one: at 20M rows that build is pgvector’s cost, hours on 2 cores',
  },
  {
    name: 'BENCH_SCHEMA_BEFORE',
    default: '(unset)',
    doc: 'path of a checkout of an older version (e.g. `git worktree add /tmp/before 4d1e7c5`, node_modules linked): its `rehearse --verify-only` runs once per scale on the same target, and its schema-parity family time is reported beside today’s',
  },
  {
    name: 'BENCH_SAMPLE_MS',
    default: showDefault(INTS.BENCH_SAMPLE_MS.default),
    doc: 'RSS polling interval in milliseconds',
  },
];

/** Parse the BENCH_* variables; throws one ConfigError listing every problem. */
export function parseBenchConfig(env: Env = process.env): BenchConfig {
  const problems: string[] = [];
  const int = (name: keyof typeof INTS, raw = env[name], rule: IntRule = INTS[name]): number => {
    const v = envInt(name, raw, rule);
    if (typeof v === 'string') {
      problems.push(v);
      return rule.default;
    }
    return v;
  };
  const rows = int('BENCH_ROWS');
  const files = int('BENCH_FILES');
  const reps = int('BENCH_REPS');
  const dims = int('BENCH_DIMS');
  const sampleMs = int('BENCH_SAMPLE_MS');
  const scales = new Set<number>([rows]);
  for (const part of (env.BENCH_SCALES ?? DEFAULT_SCALES)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const v = envInt('BENCH_SCALES', part, { ...INTS.BENCH_ROWS, default: rows });
    if (typeof v === 'string') problems.push(v);
    else scales.add(v);
  }
  const keep = envBool('BENCH_KEEP', env.BENCH_KEEP, false);
  if (typeof keep === 'string') problems.push(keep);
  const engines = envBool('BENCH_ENGINES', env.BENCH_ENGINES, false);
  if (typeof engines === 'string') problems.push(engines);
  const hnsw = envBool('BENCH_HNSW', env.BENCH_HNSW, true);
  if (typeof hnsw === 'string') problems.push(hnsw);
  const schemaBefore = isSet(env.BENCH_SCHEMA_BEFORE) ? path.resolve(env.BENCH_SCHEMA_BEFORE.trim()) : undefined;
  if (schemaBefore && !fs.existsSync(path.join(schemaBefore, 'bin', 'run.mjs')))
    problems.push(
      `BENCH_SCHEMA_BEFORE=${schemaBefore} holds no bin/run.mjs: give the folder of a checkout of this project (e.g. git worktree add /tmp/before <commit>, with node_modules linked)`,
    );
  if (problems.length) throw new ConfigError(problems);
  return {
    rows,
    files,
    reps,
    scales: [...scales].sort((a, b) => a - b),
    dims,
    outDir: isSet(env.BENCH_OUT_DIR)
      ? path.resolve(env.BENCH_OUT_DIR.trim())
      : path.join(PROJECT_ROOT, DEFAULT_OUT_DIR),
    keep: keep === true,
    sampleMs,
    engines: engines === true,
    hnsw: hnsw !== false,
    ...(schemaBefore ? { schemaBefore } : {}),
  };
}
