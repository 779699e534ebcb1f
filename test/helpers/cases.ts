/**
 * The real-world cases of ../shared/cases (README.md there): where they live, and loading one into a database.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import {
  ROOT,
  junitCases,
  latestJunit,
  rehearse,
  scenario,
  type JunitCase,
  type Scenario,
  unescapeXml,
} from './scenario.ts';
import type { Outcome } from '../../lib/checks/family.ts';
import { FAMILIES } from '../../lib/checks/registry.ts';
import { outcome, runFamilies } from './family.ts';
import type { TestDb } from './sandbox.ts';

/** The shared cases directory, beside the project root. */
export const CASES_DIR = path.resolve(ROOT, '../shared/cases');

/** The text of a case file. */
export function caseFile(name: string): string {
  return fs.readFileSync(path.join(CASES_DIR, name), 'utf8');
}

/** Run a case's SQL file in `db` (plain SQL, no psql meta-commands). */
export async function loadCase(db: Pick<TestDb, 'query'>, name: string): Promise<void> {
  await db.query(caseFile(name));
}

/** The outcome of one CLI run of a case: exit code, output, and the run's JUnit testcases. */
export interface CaseRun {
  code: number;
  output: string;
  cases: JunitCase[];
  /** Names of the failed testcases, sorted. */
  failed: string[];
}

/** `rehearse <args>` on the scenario (HEALTH_CHECK=0 unless `env` says otherwise), with its JUnit testcases. */
export async function runCase(s: Scenario, args: string[], env: Record<string, string> = {}): Promise<CaseRun> {
  const r = await rehearse(args, { ...s.env, HEALTH_CHECK: '0', ...env });
  const cases = junitCases(latestJunit(s));
  return {
    code: r.code,
    output: r.output,
    cases,
    failed: cases
      .filter((c) => c.failed)
      .map((c) => c.name)
      .sort(),
  };
}

/** A testcase by name, its body XML-unescaped (throws listing the names when absent). */
export function caseNamed(run: CaseRun, name: string): JunitCase {
  const c = run.cases.find((x) => x.name === name);
  if (!c) throw new Error(`no testcase "${name}" in: ${run.cases.map((x) => x.name).join(' | ')}`);
  return { ...c, body: unescapeXml(c.body) };
}

/**
 * An "after the copy" case: load the case's SQL into an empty source, run the full rehearsal (asserted green, with
 * `mustPass` among the passed testcases), and hand back the scenario for the change on the target and the
 * `--verify-only` run.
 */
export async function afterTheCopy(file: string, mustPass: string[]): Promise<{ s: Scenario; first: CaseRun }> {
  const s = await scenario({ fixture: false });
  await loadCase(s.src, file);
  const first = await runCase(s, []);
  expect(first.failed, first.output).toEqual([]);
  expect(first.code, first.output).toBe(0);
  for (const n of mustPass) {
    const c = caseNamed(first, n);
    expect(c.failed || c.skipped, `${n} ran and passed`).toBe(false);
  }
  return { s, first };
}

/**
 * Every check family judged in-process against `s` (test/helpers/family.ts), as `rehearse --verify-only` judges it:
 * the same contract variables, HEALTH_CHECK=0 unless `env` says otherwise (like runCase). For the judgement of a
 * change made on the target after a whole rehearsal proved the copy; milliseconds to seconds instead of a CLI run.
 */
export async function verifyInProcess(s: Scenario, env: Record<string, string | undefined> = {}): Promise<Outcome[]> {
  return runFamilies(
    s,
    FAMILIES.map((f) => f.id),
    { env: { HEALTH_CHECK: '0', ...env } },
  );
}

/** The notes of check `name` as JUnit's properties read (`<type>: <message>`, e.g. `evidence: …`, `warning: …`). */
export function notesOf(outcomes: Outcome[], name: string): string[] {
  return outcome(outcomes, name).notes.map((n) => `${n.type}: ${n.message}`);
}
