/**
 * The real-world cases of ../shared/cases (README.md there): load a case's SQL into a scenario's empty source
 * database, build its source asset tree with the case's script, run the rehearsal, and read the run's testcases.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import {
  junitCases,
  latestJunit,
  rehearse,
  scenario,
  unescapeXml,
  ROOT,
  type CliResult,
  type Scenario,
} from './scenario.ts';

/** The shared cases folder, beside the project root. */
export const CASES_DIR = path.resolve(ROOT, '../shared/cases');

export type JunitCase = ReturnType<typeof junitCases>[number];

/** A scenario with an empty source database and empty asset trees, HEALTH_CHECK=0 (the cases' default). */
export async function caseScenario(): Promise<Scenario> {
  const s = await scenario({ fixture: false });
  s.env.HEALTH_CHECK = '0';
  return s;
}

/** Run `<case>.sql` in the scenario's source database. */
export async function loadCaseSql(s: Scenario, file: string): Promise<void> {
  await s.src.query(fs.readFileSync(path.join(CASES_DIR, file), 'utf8'));
}

/** Run `<case>.assets.sh` inside the source asset tree (`args` are the script's arguments). */
export function buildCaseAssets(s: Scenario, file: string, args: string[] = []): void {
  execFileSync('bash', [path.join(CASES_DIR, file), ...args], { cwd: s.srcAssets, stdio: 'pipe' });
}

/** `rehearse` with the scenario's env plus `env`, and the testcases of the run's junit.xml (none if it wrote none). */
export async function rehearseCase(
  s: Scenario,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult & { cases: JunitCase[] }> {
  const r = await rehearse(args, { ...s.env, ...env }, { timeoutMs: 170_000 });
  let cases: JunitCase[] = [];
  try {
    cases = junitCases(latestJunit(s));
  } catch {
    /* no report (e.g. refused before the checks) */
  }
  return { ...r, cases };
}

/** The testcase named `name`; fails listing the names when there is none. */
export function caseNamed(cases: JunitCase[], name: string): JunitCase {
  const c = cases.find((x) => x.name === name);
  expect(c, `no testcase "${name}" in: ${cases.map((x) => x.name).join(' | ')}`).toBeDefined();
  return c!;
}

/** Names of the failed testcases, sorted. */
export function failedNames(cases: JunitCase[]): string[] {
  return cases
    .filter((c) => c.failed)
    .map((c) => c.name)
    .sort();
}

/** The annotations (JUnit properties) of a testcase as `type: value` lines. */
export function annotations(c: JunitCase): string[] {
  return [...c.body.matchAll(/<property name="([^"]*)" value="([^"]*)"/g)].map(
    (m) => `${m[1].replace(/\.\d+$/, '')}: ${unescapeXml(m[2])}`,
  );
}

/** The failure text of a testcase (unescaped). */
export function failureText(c: JunitCase): string {
  return unescapeXml(c.body);
}
