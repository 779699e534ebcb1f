/**
 * The real-world cases of ../shared/cases (README.md there): where they live, and loading one into a database.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './scenario.ts';
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
