/**
 * A vitest reporter that records every check's outcome in REHEARSAL_RUN_DIR/checks.json: the file, the stable name,
 * the state, the failure message and the evidence annotations. The rehearse CLI reads it for the summary, the
 * manifest totals and --rerun-failed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Reporter, TestCase, TestModule, Vitest } from 'vitest/node';
import { countLine, fractionOf, Progress } from '../core/progress.ts';
import { redact } from '../core/redact.ts';

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
}

export interface ChecksFile {
  runId?: string;
  finishedAt: string;
  reason: string;
  /** The `-t` pattern of the run (source text), if any. */
  testNamePattern?: string;
  unhandledErrors: string[];
  checks: CheckRecord[];
}

export const CHECKS_FILE = 'checks.json';

/** The names vitest matches `-t` against: ancestor suites and the test, outermost first. */
export function namePathOf(tc: TestCase): string[] {
  const names = [tc.name];
  for (let p: TestCase['parent'] | undefined = tc.parent; p && p.type === 'suite'; p = p.parent) names.unshift(p.name);
  return names;
}

/**
 * "[checks] progress: 37/120 checks done (30%)" lines, counted against the checks collected so far. Always plain
 * lines: rehearse reads this process through a pipe, and on a terminal vitest's own live summary owns the screen.
 */
export function checksProgress(
  write: (line: string) => void = (l) => process.stdout.write(redact(l) + '\n'),
  now?: () => number,
) {
  return new Progress<{ done: number; total: number }>({
    format: (v) => countLine(v.done, v.total || undefined, 'checks done'),
    fraction: (v) => fractionOf(v.done, v.total),
    writer: { line: (text) => write(`[checks] progress: ${text}`) },
    tty: false,
    now,
  });
}

export default class ChecksReporter implements Reporter {
  private pattern?: RegExp;
  private progress = checksProgress();
  private collected = 0;
  private done = 0;
  private started = false;

  onInit(vitest: Vitest): void {
    const p = vitest.config.testNamePattern;
    this.pattern = p instanceof RegExp ? p : typeof p === 'string' && p ? new RegExp(p) : undefined;
  }

  // Collection starts after global setup (the copy phases), so "0/N" follows the phases' own progress.
  onTestModuleCollected(mod: TestModule): void {
    for (const _ of mod.children.allTests()) this.collected++;
    if (!this.started) this.progress.start({ done: this.done, total: this.collected });
    this.started = true;
  }

  onTestCaseResult(): void {
    this.done++;
    this.progress.update({ done: this.done, total: Math.max(this.collected, this.done) });
  }

  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<{ message?: string }>,
    reason: string,
  ): void {
    const runDir = process.env.REHEARSAL_RUN_DIR;
    if (!runDir) return;
    const all = testModules.flatMap((m) => [...m.children.allTests()]);
    this.progress.finish({ done: all.filter((t) => t.result().state !== 'pending').length, total: all.length });
    const root = process.cwd();
    const checks: CheckRecord[] = [];
    for (const mod of testModules) {
      const file = path.relative(root, mod.moduleId);
      for (const tc of mod.children.allTests()) {
        const r = tc.result();
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
        });
      }
      for (const e of mod.errors()) {
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
      runId: process.env.REHEARSAL_RUN_ID,
      finishedAt: new Date().toISOString(),
      reason,
      ...(this.pattern ? { testNamePattern: redact(this.pattern.source) } : {}),
      unhandledErrors: unhandledErrors.map((e) => redact(e.message ?? String(e))),
      checks,
    };
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(path.join(runDir, CHECKS_FILE), JSON.stringify(out, null, 2) + '\n');
  }
}
