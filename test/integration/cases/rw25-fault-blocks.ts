/**
 * The `.faults.sql` protocol of ../shared/cases (README): a file of blocks, each starting with a `-- fault: <title>`
 * line; every block is applied on its own to a fresh correct copy of the target, then `--verify-only` must be red
 * naming its object. Used by the rw25, rw26 and rw27 tests.
 */
import { expect } from 'vitest';
import { caseFile, runCase, type CaseRun } from '../../helpers/cases.ts';
import { freshDb } from '../../helpers/sandbox.ts';
import { unescapeXml, type Scenario } from '../../helpers/scenario.ts';

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

/**
 * Apply each block of `file` to its own copy of the scenario's (correct) target database and run `--verify-only`
 * of the schema-parity family against that copy. Returns each block's run, by title.
 */
export async function runFaultBlocks(
  s: Scenario,
  file: string,
  select = 'schema-parity',
): Promise<Array<{ block: FaultBlock; run: CaseRun }>> {
  const out: Array<{ block: FaultBlock; run: CaseRun }> = [];
  for (const block of faultBlocks(file)) {
    const copy = await freshDb('target', { template: s.dst.name });
    await copy.query(block.sql);
    const run = await runCase(s, ['--verify-only', '--select', select], { DST_DATABASE_URL: copy.url });
    out.push({ block, run });
  }
  return out;
}

/**
 * What is wrong with a fault's run (empty: it is red in exactly `check`, its message matching every pattern): one line
 * per problem with the failed checks and their messages, so one assertion over every block shows them all.
 */
export function redProblems(
  r: { block: FaultBlock; run: CaseRun },
  check: string | string[],
  patterns: RegExp[],
): string[] {
  const checks = [check].flat().sort();
  const what = `fault "${r.block.title}"`;
  const messages = r.run.cases
    .filter((c) => c.failed)
    .map((c) => unescapeXml(/<failure message="([^"]*)"/.exec(c.body)?.[1] ?? c.name))
    .join(' || ');
  if (r.run.failed.join('|') !== checks.join('|'))
    return [`${what}: failed [${r.run.failed.join(', ')}], wanted [${checks.join(', ')}]: ${messages}`];
  const body = unescapeXml(
    r.run.cases
      .filter((c) => checks.includes(c.name))
      .map((c) => c.body)
      .join('\n'),
  );
  return patterns.filter((p) => !p.test(body)).map((p) => `${what}: no ${p} in: ${messages}`);
}

/** Assert that every block's run is red as `expected` (title → [check, patterns]) says. */
export function expectAllRed(
  runs: Array<{ block: FaultBlock; run: CaseRun }>,
  expected: Record<string, [string | string[], RegExp[]]>,
): void {
  const problems = runs.flatMap((r) =>
    expected[r.block.title] ? redProblems(r, ...expected[r.block.title]) : [`no expectation for "${r.block.title}"`],
  );
  expect(problems).toEqual([]);
}
