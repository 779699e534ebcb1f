/**
 * Runs of the suite itself, as an operator would start it (`tsx scripts/rehearse.ts [--verify-only]` in a child
 * process, with exactly the environment given), and what the bench reads back from them: the copy phases' timings
 * (WORK_DIR/state.json) and each check's duration (REPORTS_DIR/runs/<id>/checks.json), grouped by check family.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CheckRecord, ChecksFile } from '../audit/reporter.ts';
import { FAMILIES as CHECK_FAMILIES, familyOfTest } from '../checks/registry.ts';
import { readState, type StepResult } from '../core/state.ts';
import { cliCommand, PROJECT_ROOT } from '../core/project.ts';
import type { MemoryPeak } from './rss.ts';
import { measure } from './run.ts';

/** Contract and libpq variables of the caller's shell that must not leak into a measured run. */
const SCRUB =
  /^(SRC_|DST_|PG|VALIDATE_|ROWCOUNT_|ASSETS?_|DUMP_|RESTORE_|ORPHAN_|CHECKSUM|STAGING_|HEALTH_|WORK_DIR|REPORTS_DIR|REHEARSAL_|CHECK_CONCURRENCY|CONNECT_TIMEOUT|VITEST|BENCH_|NODE_OPTIONS)/;

export function suiteEnv(
  vars: Record<string, string | undefined>,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!SCRUB.test(k)) env[k] = v;
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) env[k] = v;
  env.FORCE_COLOR = '0';
  env.NO_COLOR = '1';
  return env;
}

/** A check family's registry id (lib/checks/registry.ts), or the spec base name of a check no family claims. */
export type Family = string;

/** The bench's family table: the check-family registry, in its order (id, label, spec file). */
export const FAMILIES: Array<{ family: Family; label: string; spec: string }> = CHECK_FAMILIES.map((f) => ({
  family: f.id,
  label: f.label,
  spec: f.spec,
}));

/** The registry label of a family (`row counts`), or `<name> (specs/<name>.spec.ts)` for an unregistered one. */
export function familyLabel(family: Family): string {
  return CHECK_FAMILIES.find((f) => f.id === family)?.label ?? `${family} (specs/${family}.spec.ts)`;
}

/** The family of one check: by its name (lib/checks/registry.ts familyOfTest), else the base name of its spec file. */
export function familyOf(check: Pick<CheckRecord, 'file' | 'name'>): Family {
  return familyOfTest(check.name)?.id ?? path.basename(check.file).replace(/\.(spec|test)\.[cm]?[jt]s$/, '');
}

export interface FamilyTime {
  /** Sum of the family's test durations (tests that overlap are each counted in full). */
  ms: number;
  checks: number;
  failed: number;
  files: string[];
}

/** Per family: summed test durations, number of checks and failures. Families with no check are absent. */
export function familyTimes(checks: CheckRecord[]): Record<string, FamilyTime> {
  const out: Record<string, FamilyTime> = {};
  for (const c of checks) {
    const f = familyOf(c);
    const t = (out[f] ??= { ms: 0, checks: 0, failed: 0, files: [] });
    t.ms += c.durationMs ?? 0;
    t.checks++;
    if (c.state === 'failed') t.failed++;
    if (!t.files.includes(c.file)) t.files.push(c.file);
  }
  for (const t of Object.values(out)) t.ms = Math.round(t.ms * 10) / 10;
  return out;
}

export interface SuiteRun {
  code: number;
  wallMs: number;
  memory?: MemoryPeak;
  /** The copy phases from state.json (absent: no state written). */
  phases?: StepResult[];
  /** Every check from checks.json (absent: no checks.json). */
  checks?: CheckRecord[];
  /** Why phases or checks are missing. */
  notes: string[];
  logFile: string;
}

/** The single run folder under REPORTS_DIR/runs/. */
function runDirOf(reportsDir: string): string | undefined {
  const runs = path.join(reportsDir, 'runs');
  if (!fs.existsSync(runs)) return undefined;
  const dirs = fs
    .readdirSync(runs, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  return dirs.length ? path.join(runs, dirs[dirs.length - 1]) : undefined;
}

/**
 * `npm run rehearse -- ...args` (bin/run.mjs) with `vars` (WORK_DIR and REPORTS_DIR must be fresh, empty paths);
 * `opts.root`: the checkout whose bin/run.mjs runs (default this project; BENCH_SCHEMA_BEFORE gives an older one).
 */
export async function runSuite(
  args: string[],
  vars: Record<string, string | undefined> & { WORK_DIR: string; REPORTS_DIR: string },
  opts: { logFile: string; sampleMs: number; timeoutMs?: number; root?: string },
): Promise<SuiteRun> {
  const [file, argv] = opts.root
    ? [process.execPath, [path.join(opts.root, 'bin', 'run.mjs'), 'rehearse', ...args]]
    : cliCommand('rehearse', args);
  const r = await measure(file, argv, {
    cwd: opts.root ?? PROJECT_ROOT,
    env: suiteEnv(vars),
    logFile: opts.logFile,
    sampleMs: opts.sampleMs,
    timeoutMs: opts.timeoutMs,
  });
  const notes: string[] = [];
  const state = readState(vars.WORK_DIR);
  if (!state) notes.push('no state.json in WORK_DIR');
  let checks: CheckRecord[] | undefined;
  const runDir = runDirOf(vars.REPORTS_DIR);
  const checksFile = runDir ? path.join(runDir, 'checks.json') : undefined;
  if (checksFile && fs.existsSync(checksFile)) {
    checks = (JSON.parse(fs.readFileSync(checksFile, 'utf8')) as ChecksFile).checks;
  } else {
    notes.push('no checks.json under REPORTS_DIR/runs/');
  }
  if (r.signal) notes.push(`killed by ${r.signal}`);
  return { code: r.code, wallMs: r.wallMs, memory: r.memory, phases: state?.phases, checks, notes, logFile: r.logFile };
}
