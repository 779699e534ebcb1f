/**
 * `npm run test:self`: typecheck (tsc --noEmit), formatting (prettier --check) and every test in test/ (the `unit`
 * and `integration` projects), then one closing line `N passed, N failed, N skipped`.
 *
 * The typecheck and the formatting check are the same full checks as before, started at once beside vitest instead of
 * before it, at a lower CPU priority (nice 10): the integration tests wait on servers and child processes for a good
 * part of their time, and those two fill the idle CPU instead of adding about 30 s in front of the tests. Their output
 * is held back and printed after vitest's, so the two never interleave.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/core/project.ts';

const root = PROJECT_ROOT;
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

/** What a finished child left: its exit status (null when killed by a signal) and its captured output. */
interface Finished {
  status: number | null;
  output: string;
}

/** Wait for `child` to end; its stdout and stderr (when piped) are collected, in arrival order. */
function finished(child: ChildProcess): Promise<Finished> {
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  return new Promise((resolve) => {
    child.on('error', (e) => resolve({ status: null, output: `${output}${e.message}\n` }));
    child.on('close', (status) => resolve({ status, output }));
  });
}

/** Start a background check (`tsc`, `prettier`) with piped output at nice 10; resolves when it ends. */
function background(name: string, args: string[]): Promise<Finished> {
  const child = spawn(bin(name), args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    if (child.pid) os.setPriority(child.pid, 10);
  } catch {
    /* not permitted: it runs at the normal priority, which is only slower */
  }
  return finished(child);
}

/** vitest's arguments: both self-test projects, the console, a JSON file for the totals, and reports/self/junit.xml. */
function vitestArgs(jsonOut: string): string[] {
  return [
    'run',
    '--project',
    'unit',
    '--project',
    'integration',
    '--reporter=default',
    `--reporter=json`,
    `--outputFile.json=${jsonOut}`,
    '--reporter=junit',
    `--outputFile.junit=${path.join(root, 'reports/self/junit.xml')}`,
    ...process.argv.slice(2),
  ];
}

/** Test totals from vitest's JSON report; a file that failed without a failed test counts once; no file is a failure. */
function totals(jsonOut: string): { passed: number; failed: number; skipped: number } {
  try {
    const r = JSON.parse(fs.readFileSync(jsonOut, 'utf8'));
    let failed = r.numFailedTests ?? 0;
    // A file that failed without a failed test (it did not load, or an afterAll hook failed) counts once.
    for (const file of r.testResults ?? []) {
      const anyFailed = (file.assertionResults ?? []).some((a: { status: string }) => a.status === 'failed');
      if (file.status === 'failed' && !anyFailed) failed += 1;
    }
    return { passed: r.numPassedTests ?? 0, failed, skipped: (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0) };
  } catch {
    return { passed: 0, failed: 1, skipped: 0 }; // no results at all is a failure, never a silent green
  }
}

/**
 * One line on the whole CLI runs the tests made (test/helpers/scenario.ts runCli appends one JSON line per run to
 * `file`): how many, their summed wall time in seconds, per script, and the three files that spend most in them.
 * Undefined when no run was logged.
 */
function cliRunSummary(file: string): string | undefined {
  let lines: string[];
  try {
    lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return undefined;
  }
  const byScript = new Map<string, { n: number; ms: number }>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const l of lines) {
    let r: { file?: string; script?: string; ms?: number };
    try {
      r = JSON.parse(l);
    } catch {
      continue;
    }
    const ms = Number(r.ms) || 0;
    total += ms;
    const k = byScript.get(r.script ?? '?') ?? { n: 0, ms: 0 };
    byScript.set(r.script ?? '?', { n: k.n + 1, ms: k.ms + ms });
    byFile.set(r.file || '?', (byFile.get(r.file || '?') ?? 0) + ms);
  }
  if (!lines.length) return undefined;
  const s = (ms: number) => `${Math.round(ms / 1000)} s`;
  const scripts = [...byScript].sort((a, b) => b[1].ms - a[1].ms).map(([k, v]) => `${k} ${v.n} (${s(v.ms)})`);
  const files = [...byFile]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, ms]) => `${path.basename(k)} ${s(ms)}`);
  return `${lines.length} whole CLI runs, ${s(total)} summed: ${scripts.join(', ')}; most in ${files.join(', ')}`;
}

/** Print a background check's output under its heading; true when it passed. */
function report(heading: string, r: Finished): boolean {
  console.log(`test:self: ${heading}`);
  if (r.output.trim()) process.stdout.write(r.output.endsWith('\n') ? r.output : `${r.output}\n`);
  return r.status === 0;
}

async function main(): Promise<number> {
  console.log('test:self: typecheck (tsc --noEmit) and formatting (prettier --check) run beside the tests');
  const tsc = background('tsc', ['--noEmit', '-p', root]);
  const fmt = background('prettier', ['--check', '--log-level=warn', '.']);

  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-self-'));
  const jsonOut = path.join(outDir, 'results.json');
  const cliLog = path.join(outDir, 'cli-runs.jsonl');
  const args = vitestArgs(jsonOut);
  console.log(`test:self: vitest ${args.join(' ')}`);
  const env = { ...process.env, SELF_REPORTS: '0', SELF_CLI_LOG: cliLog };
  const vt = await finished(spawn(bin('vitest'), args, { stdio: 'inherit', cwd: root, env }));
  const cliRuns = cliRunSummary(cliLog);
  if (cliRuns) console.log(`test:self: ${cliRuns} (one line per run: ${cliLog})`);

  const typecheckOk = report('typecheck (tsc --noEmit)', await tsc);
  const formatOk = report('formatting (prettier --check)', await fmt);
  let { passed, failed, skipped } = totals(jsonOut);
  if (!formatOk) {
    console.log('test:self: formatting differs from prettier (counted as one failure; `npm run fmt` fixes it)');
    failed += 1;
  }
  if (!typecheckOk) {
    console.log('test:self: the typecheck failed (counted as one failure)');
    failed += 1;
  }
  if (vt.status !== 0 && failed === 0) failed = 1;
  if (passed + failed === 0) {
    console.log('test:self: no test ran');
    failed = 1;
  }
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  return failed > 0 ? 1 : 0;
}

process.exit(await main());
