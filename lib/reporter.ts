/**
 * A vitest reporter that records every check's outcome in REHEARSAL_RUN_DIR/checks.json: the file, the stable name,
 * the state, the failure message and the evidence annotations. The rehearse CLI reads it for the summary, the
 * manifest totals and --rerun-failed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import { redact } from './redact.ts';

export interface CheckRecord {
  /** Spec file relative to the project root, e.g. specs/row-counts.spec.ts. */
  file: string;
  /** Test name (the check's stable name). */
  name: string;
  /** Ancestor suites and name, joined by " > ". */
  fullName: string;
  state: 'passed' | 'failed' | 'skipped' | 'pending';
  durationMs?: number;
  errors: string[];
  annotations: Array<{ type: string; message: string }>;
}

export interface ChecksFile {
  runId?: string;
  finishedAt: string;
  reason: string;
  unhandledErrors: string[];
  checks: CheckRecord[];
}

export default class ChecksReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<{ message?: string }>, reason: string): void {
    const runDir = process.env.REHEARSAL_RUN_DIR;
    if (!runDir) return;
    const root = process.cwd();
    const checks: CheckRecord[] = [];
    for (const mod of testModules) {
      const file = path.relative(root, mod.moduleId);
      for (const tc of mod.children.allTests()) {
        const r = tc.result();
        checks.push({
          file,
          name: tc.name,
          fullName: tc.fullName,
          state: r.state,
          durationMs: tc.diagnostic()?.duration,
          errors: (r.errors ?? []).map((e) => redact(e.message ?? String(e))),
          annotations: tc.annotations().map((a) => ({ type: a.type, message: redact(a.message) })),
        });
      }
      for (const e of mod.errors()) {
        checks.push({ file, name: `(module ${file} failed to load)`, fullName: file, state: 'failed', errors: [redact(e.message ?? String(e))], annotations: [] });
      }
    }
    const out: ChecksFile = {
      runId: process.env.REHEARSAL_RUN_ID,
      finishedAt: new Date().toISOString(),
      reason,
      unhandledErrors: unhandledErrors.map((e) => redact(e.message ?? String(e))),
      checks,
    };
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(path.join(runDir, 'checks.json'), JSON.stringify(out, null, 2) + '\n');
  }
}
