/**
 * A vitest reporter that records every check's outcome in the run folder's checks.json (the run protocol's `runDir`): the file, the stable name,
 * the state, the failure message and the evidence annotations. The rehearse CLI reads it for the summary, the
 * manifest totals and --rerun-failed.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Reporter, TestCase, TestModule, Vitest } from 'vitest/node';
import { countLine, fractionOf, LOG_THROTTLE, Progress, timing } from '../core/progress.ts';
import { formatDuration } from '../core/format.ts';
import { messageLines, terminalLine } from '../core/escape.ts';
import { detailLine } from '../core/display.ts';
import { redact } from '../core/redact.ts';
import { fromEnv, reportsStagingDir } from '../core/run-protocol.ts';
import { writeAtomic } from '../core/files.ts';
import { fsProblem } from '../core/fs-problem.ts';
import { familyOfTest } from '../checks/registry.ts';
import { WARNING } from '../checks/shared/verdict.ts';
import { findingMessage, wrapText } from './text.ts';
import { markConsequences } from './causes.ts';
import { tally, type RunTotals } from './totals.ts';

export interface CheckRecord {
  /** Spec file relative to the project root, e.g. specs/row-counts.spec.ts. */
  file: string;
  /** Test name (the check's stable name). */
  name: string;
  /** Ancestor suites and name, joined by " > ". */
  fullName: string;
  /**
   * Ancestor suite names and the test name. Joined by single spaces this is what vitest's `-t` pattern is matched
   * against, which is how --rerun-failed selects a check.
   */
  namePath?: string[];
  state: 'passed' | 'failed' | 'skipped' | 'pending';
  /**
   * False when the run's `-t` pattern excluded the check (a rerun): vitest still reports it, as skipped, but it was
   * never meant to run. Absent in older files: selected.
   */
  selected?: boolean;
  /** Why a skipped check was skipped, when the spec said. */
  note?: string;
  durationMs?: number;
  errors: string[];
  annotations: Array<{ type: string; message: string }>;
  /** Registry id of the check's family (lib/checks/registry.ts), when a family claims the name. */
  family?: string;
  /** A passed check carrying `warning` annotations: the third state beside pass and fail. */
  warning?: boolean;
  /**
   * A failed check that follows from another failure: the name of that cause (lib/audit/causes.ts). Still a failing
   * test; counted under its cause, not as a failure of its own.
   */
  causedBy?: string;
}

export interface ChecksFile {
  runId?: string;
  finishedAt: string;
  reason: string;
  /** The `-t` pattern of the run (source text), if any. */
  testNamePattern?: string;
  unhandledErrors: string[];
  /** passed / failed / skipped as vitest saw them, and warnings (passed checks with a warning annotation). */
  totals?: RunTotals;
  checks: CheckRecord[];
}

export const CHECKS_FILE = 'checks.json';

/** The names vitest matches `-t` against: ancestor suites and the test, outermost first. */
export function namePathOf(tc: TestCase): string[] {
  const names = [tc.name];
  for (let p: TestCase['parent'] | undefined = tc.parent; p && p.type === 'suite'; p = p.parent) names.unshift(p.name);
  return names;
}

/** What the check meter shows: checks done of total, and the checks running now with their start times (ms). */
export interface ChecksValue {
  done: number;
  total: number;
  running?: ReadonlyArray<{ name: string; startedAt: number }>;
}

/** `; 3 running, slowest: checksum public.events (12.0 s)`; empty when nothing runs. */
export function runningText(running: ChecksValue['running'], now: number): string {
  if (!running?.length) return '';
  const slowest = running.reduce((a, b) => (b.startedAt < a.startedAt ? b : a));
  return `; ${running.length} running, slowest: ${slowest.name} (${formatDuration(now - slowest.startedAt)})`;
}

/** Checks print a heartbeat line at least this often while nothing else is printed (a long checksum is no hang). */
export const CHECKS_HEARTBEAT_MS = 10_000;

/**
 * "[checks] progress: 37/120 checks done (30%), elapsed …, ETA …; 3 running, slowest: checksum public.x (12.0 s)"
 * lines, counted against the checks collected so far, with a heartbeat while a slow check runs. Always plain lines:
 * rehearse reads this process through a pipe, and on a terminal vitest's own live summary owns the screen.
 */
export function checksProgress(
  write: (line: string) => void = (l) => process.stdout.write(terminalLine(redact(l)) + '\n'),
  now?: () => number,
) {
  const clock = now ?? Date.now;
  const t0 = clock();
  return new Progress<ChecksValue>({
    format: (v) =>
      `${countLine(v.done, v.total || undefined, 'checks done')}, ${timing(fractionOf(v.done, v.total), clock() - t0)}${runningText(v.running, clock())}`,
    fraction: (v) => fractionOf(v.done, v.total),
    writer: { line: (text) => write(`[checks] progress: ${text}`) },
    tty: false,
    now,
    throttle: { ...LOG_THROTTLE, heartbeatMs: CHECKS_HEARTBEAT_MS },
  });
}

export default class ChecksReporter implements Reporter {
  private pattern?: RegExp;
  private progress = checksProgress();
  private collected = 0;
  private done = 0;
  private started = false;
  private readonly running = new Map<string, { name: string; startedAt: number }>();
  private heartbeat?: NodeJS.Timeout;

  private value(): ChecksValue {
    return { done: this.done, total: Math.max(this.collected, this.done), running: [...this.running.values()] };
  }

  onTestCaseReady(tc: TestCase): void {
    this.running.set(tc.id, { name: tc.name, startedAt: Date.now() });
  }

  onInit(vitest: Vitest): void {
    // A kept WORK_DIR may hold the staging folder of an earlier run that could not publish it: never this run's.
    const run = fromEnv(process.env);
    const staging = run && reportsStagingDir(run);
    if (staging && run.runDir && staging !== run.runDir) rmSync(staging, { recursive: true, force: true });
    const p = vitest.config.testNamePattern;
    this.pattern = p instanceof RegExp ? p : typeof p === 'string' && p ? new RegExp(p) : undefined;
  }

  // The total is the plan's (every spec file collected, which happens after global setup), so the first line is
  // already "0/N" with the right N.
  private pendingModules = 0;
  onTestRunStart(specs: ReadonlyArray<unknown>): void {
    this.pendingModules = specs.length;
  }

  onTestModuleCollected(mod: TestModule): void {
    for (const _ of mod.children.allTests()) this.collected++;
    this.pendingModules--;
    if (!this.started && this.pendingModules <= 0) {
      this.progress.start({ done: this.done, total: this.collected });
      this.started = true;
      // The heartbeat: the throttle decides whether a line is due (at most every CHECKS_HEARTBEAT_MS when idle).
      this.heartbeat = setInterval(() => this.progress.update(this.value()), 1000);
      this.heartbeat.unref();
    }
  }

  onTestCaseResult(tc: TestCase): void {
    this.done++;
    this.running.delete(tc.id);
    // Until every spec file is collected the total is not known: count silently, then print against the plan's total.
    if (this.started) this.progress.update(this.value());
    // The quiet console: a failed check is printed once, as a finding (message and evidence, wrapped; no stack or
    // code frame); passes are only counted.
    const r = tc.result();
    // A failed copy phase already said FAILED on its own console lines: its test is not repeated here.
    if (r.state === 'failed' && fromEnv(process.env)?.runDir && !/^phase /.test(tc.name)) {
      for (const line of failureLines(tc)) process.stdout.write(terminalLine(redact(line)) + '\n');
    }
  }

  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<{ message?: string }>,
    reason: string,
  ): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    const run = fromEnv(process.env); // the run protocol (lib/core/run-protocol.ts)
    const runDir = run?.runDir;
    if (!runDir) return;
    const all = testModules.flatMap((m) => [...m.children.allTests()]);
    this.progress.finish({ done: all.filter((t) => t.result().state !== 'pending').length, total: all.length });
    const root = process.cwd();
    const checks: CheckRecord[] = [];
    for (const mod of testModules) {
      const file = path.relative(root, mod.moduleId);
      for (const tc of mod.children.allTests()) {
        const r = tc.result();
        // A skipped check is registered under its stable name, its reason the skip note (lib/checks/runner.ts), shown
        // in JUnit's <skipped message>.
        const namePath = namePathOf(tc);
        const note = r.state === 'skipped' ? r.note : undefined;
        checks.push({
          file,
          // A name can carry a secret (a health path with a token): redacted here, matched with a wildcard on rerun.
          name: redact(tc.name),
          fullName: redact(tc.fullName),
          namePath: namePath.map(redact),
          state: r.state,
          selected: this.pattern ? this.pattern.test(namePath.join(' ')) : true,
          ...(note ? { note: redact(note) } : {}),
          durationMs: tc.diagnostic()?.duration,
          errors: (r.errors ?? []).map((e) => redact(e.message ?? String(e))),
          annotations: tc.annotations().map((a) => ({ type: a.type, message: redact(a.message) })),
          ...(familyOfTest(tc.name) ? { family: familyOfTest(tc.name)!.id } : {}),
          ...(r.state === 'passed' && tc.annotations().some((a) => a.type === WARNING) ? { warning: true } : {}),
        });
      }
      for (const e of mod.errors()) {
        process.stderr.write(
          redact(`✗ ${file} failed to load: ${(e as { stack?: string }).stack ?? e.message ?? String(e)}`)
            .split('\n')
            .map(terminalLine)
            .join('\n') + '\n',
        );
        checks.push({
          file,
          name: `(module ${file} failed to load)`,
          fullName: file,
          state: 'failed',
          selected: true,
          errors: [redact(e.message ?? String(e))],
          annotations: [],
        });
      }
    }
    const out: ChecksFile = {
      runId: run?.runId,
      finishedAt: new Date().toISOString(),
      reason,
      ...(this.pattern ? { testNamePattern: redact(this.pattern.source) } : {}),
      unhandledErrors: unhandledErrors.map((e) => redact(e.message ?? String(e))),
      totals: tally(markConsequences(checks)),
      checks,
    };
    // Real crashes keep their stack: they are bugs, not findings.
    for (const e of unhandledErrors as ReadonlyArray<{ message?: string; stack?: string }>)
      process.stderr.write(redact(`unhandled error: ${e.stack ?? e.message ?? String(e)}`) + '\n');
    // Into WORK_DIR's staging folder (published into the run folder afterwards), through a temp file and a rename.
    writeChecksFile(reportsStagingDir(run) ?? runDir, out);
  }
}

/**
 * Write checks.json into `dir` atomically. A file-system failure (a full disk) is said in one plain line, never a
 * crash of vitest's reporting (issue 26); finalizeRun then says the totals could not be recorded.
 */
function writeChecksFile(dir: string, out: ChecksFile): void {
  const file = path.join(dir, CHECKS_FILE);
  try {
    writeAtomic(file, JSON.stringify(out, null, 2) + '\n');
  } catch (e) {
    process.stderr.write(
      terminalLine(redact(`could not record the checks' results: ${fsProblem(e, file) ?? (e as Error).message}`)) +
        '\n',
    );
  }
}

/** Console width for wrapping: the terminal's, else 120 (logs). */
function width(): number {
  return Math.max(60, Math.min(160, process.stdout.columns || 120));
}

/**
 * How the quiet console shows a failed check: `✗ <name>  [family]`, the message and the evidence, each wrapped at
 * word boundaries (never cut mid-word), without vitest's diff, stack or code frame.
 */
export function failureLines(tc: TestCase, w = width()): string[] {
  const r = tc.result();
  const family = familyOfTest(tc.name)?.id ?? 'other';
  const out = [`✗ ${tc.name}  [${family}]`];
  for (const e of r.errors ?? []) {
    const msg = findingMessage(e.message ?? String(e));
    out.push(...wrapText(consoleText(msg), w, '    '));
  }
  for (const a of tc.annotations()) {
    if (a.type === 'evidence' || a.type === 'full-list' || a.type === WARNING)
      out.push(
        ...wrapText(consoleText(`${a.type === 'evidence' ? '' : `${a.type}: `}${a.message}`), w, '    · ', '      '),
      );
  }
  // Every line under the header is a detail line: none can start like a line of the tool's own, however a name in it
  // was wrapped or broken (lib/core/display.ts detailLine).
  return [out[0], ...out.slice(1).map(detailLine)];
}

/**
 * A check's message or note for the console, before wrapping: only the tool's own line breaks (`\n` + two spaces,
 * lib/core/escape.ts messageLines) stay newlines; every other newline, escape code or bidi character (one inside a
 * table name or a path) is shown escaped (terminalLine). The sink's guard of issue 26, attack 24: wrapping splits at
 * the remaining newlines only, so a name can never become a detail line of its own, whatever the check wrote.
 */
export function consoleText(message: string): string {
  return messageLines(message).map(terminalLine).join('\n');
}
