/**
 * The real-world cases of ../shared/cases (SQL files loaded with psql, shell scripts that build or change an asset
 * tree), for the integration tests named after them (test/integration/cases/rwNN-*.test.ts).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { libpqEnv, parseDsn } from '../../lib/core/dsn.ts';
import { ROOT } from './scenario.ts';
import type { TestDb } from './sandbox.ts';

/** ../shared/cases, resolved from the project root. */
export const CASES_DIR = path.resolve(ROOT, '../shared/cases');

export function caseFile(name: string): string {
  const p = path.join(CASES_DIR, name);
  if (!fs.existsSync(p)) throw new Error(`case file ${p} does not exist`);
  return p;
}

/** Run a case's SQL file with psql into `db` (ON_ERROR_STOP), with psql variables (`-v name=value`). */
export function loadCaseSql(db: TestDb, name: string, vars: Record<string, string | number> = {}): string {
  return execFileSync(
    'psql',
    [
      '--no-psqlrc',
      '--quiet',
      '--set=ON_ERROR_STOP=1',
      ...Object.entries(vars).map(([k, v]) => `--set=${k}=${v}`),
      `--file=${caseFile(name)}`,
      `--dbname=${db.name}`,
    ],
    { env: { PATH: process.env.PATH ?? '', ...libpqEnv(parseDsn(db.url)) }, encoding: 'utf8', stdio: 'pipe' },
  );
}

/** Run a case's shell script inside `dir` (bash, as the current user). */
export function runCaseScript(name: string, dir: string): void {
  execFileSync('bash', ['-e', caseFile(name)], { cwd: dir, stdio: 'pipe' });
}

/** The warnings (annotations of type `warning`) of one JUnit testcase body. */
export function warningsOf(body: string): string[] {
  return [...body.matchAll(/<property name="warning(?:\.\d+)?" value="([^"]*)"/g)].map((m) =>
    m[1]
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)))
      .replace(/&amp;/g, '&'),
  );
}
