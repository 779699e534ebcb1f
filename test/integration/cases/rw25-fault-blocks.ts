/**
 * The `.faults.sql` protocol of ../shared/cases (README): a file of blocks, each starting with a `-- fault: <title>`
 * line; every block is applied on its own to a fresh correct copy of the target, then the schema-parity family must be
 * red naming its object (judged in-process, test/helpers/family.ts: the verdicts and texts a `--verify-only` run's JUnit
 * shows). Used by the rw25, rw26 and rw27 tests.
 */
import { expect } from 'vitest';
import type { Outcome } from '../../../lib/checks/family.ts';
import { closePools } from '../../../lib/core/db.ts';
import { caseFile } from '../../helpers/cases.ts';
import { bodyOf, failedNames, failureOf, runFamilies } from '../../helpers/family.ts';
import { freshDb } from '../../helpers/sandbox.ts';
import type { Scenario } from '../../helpers/scenario.ts';

/** One fault block: its title (the `-- fault:` line) and its SQL. */
export interface FaultBlock {
  title: string;
  sql: string;
}

/** The blocks of a `.faults.sql` file, in order. */
export function faultBlocks(file: string): FaultBlock[] {
  const out: FaultBlock[] = [];
  for (const line of caseFile(file).split('\n')) {
    const m = /^-- fault: (.*)$/.exec(line);
    if (m) out.push({ title: m[1].trim(), sql: '' });
    else if (out.length) out[out.length - 1].sql += `${line}\n`;
  }
  return out;
}

/** One block's in-process verdicts. */
export interface FaultRun {
  block: FaultBlock;
  outcomes: Outcome[];
}

/**
 * Apply each block of `file` to its own copy of the scenario's (correct) target database and judge the `families`
 * (default: schema-parity) in-process against that copy, as `--verify-only --select <family>` would (HEALTH_CHECK=0,
 * like runCase). The first, whole CLI rehearsal (afterTheCopy) proves the pipeline's copy green; each fault only needs
 * the family's verdicts. Returns each block's outcomes, by title.
 */
export async function runFaultBlocks(s: Scenario, file: string, families = ['schema-parity']): Promise<FaultRun[]> {
  const out: FaultRun[] = [];
  for (const block of faultBlocks(file)) {
    const copy = await freshDb('target', { template: s.dst.name });
    await copy.query(block.sql);
    const outcomes = await runFamilies(s, families, { env: { HEALTH_CHECK: '0', DST_DATABASE_URL: copy.url } });
    await closePools();
    out.push({ block, outcomes });
  }
  return out;
}

/**
 * What is wrong with a fault's verdicts (empty: it is red in exactly `check`, its JUnit body (failure text and notes)
 * matching every pattern): one line per problem with the failed checks and their messages, so one assertion over every
 * block shows them all.
 */
export function redProblems(r: FaultRun, check: string | string[], patterns: RegExp[]): string[] {
  const checks = [check].flat().sort();
  const what = `fault "${r.block.title}"`;
  const failed = failedNames(r.outcomes);
  const messages = failed.map((n) => failureOf(r.outcomes, n)).join(' || ');
  if (failed.join('|') !== checks.join('|'))
    return [`${what}: failed [${failed.join(', ')}], wanted [${checks.join(', ')}]: ${messages}`];
  const body = checks.map((n) => bodyOf(r.outcomes, n)).join('\n');
  return patterns.filter((p) => !p.test(body)).map((p) => `${what}: no ${p} in: ${messages}`);
}

/** Assert that every block's verdicts are red as `expected` (title → [check, patterns]) says. */
export function expectAllRed(runs: FaultRun[], expected: Record<string, [string | string[], RegExp[]]>): void {
  const problems = runs.flatMap((r) =>
    expected[r.block.title] ? redProblems(r, ...expected[r.block.title]) : [`no expectation for "${r.block.title}"`],
  );
  expect(problems).toEqual([]);
}
