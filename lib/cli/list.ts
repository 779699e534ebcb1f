/**
 * `rehearse --list`: every check a full run would run, grouped by check family, found the way the run finds them —
 * the specs themselves name their tests (`vitest list` of the `checks` project), after a global setup that runs no
 * copy phase and discovers read-only (setup/global-setup.ts, REHEARSAL_MODE=list). Nothing is written: no WORK_DIR, no
 * report folder, no database write. Skipped checks (e.g. `health GET /health (skipped: HEALTH_CHECK=0)`) do not run and
 * are not listed; `--dry-run` explains them.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { FAMILIES, familyOfTest, type CheckFamily } from '../checks/registry.ts';
import { redact } from '../core/redact.ts';
import { PROJECT_ROOT } from '../core/project.ts';
import { checksVitestCommand } from '../core/vitest-runner.ts';

/** One check as `vitest list --json` reports it. */
export interface ListedCheck {
  name: string;
  /** The spec file, relative to the project root (`specs/row-counts.spec.ts`). */
  file: string;
}

/** The checks of one family, in the order the spec declares them. */
export interface ListedFamily {
  family: CheckFamily;
  checks: string[];
}

/**
 * Run `vitest list --project checks --json` with `env` (the contract variables of the run to list) and return every
 * check it would run. Throws an Error with vitest's (redacted) output when the listing itself fails.
 */
export function listChecks(env: NodeJS.ProcessEnv): Promise<ListedCheck[]> {
  const [bin, base] = checksVitestCommand('list');
  const childEnv: NodeJS.ProcessEnv = { ...env, REHEARSAL_MODE: 'list', SELF_REPORTS: '0', FORCE_COLOR: '0' };
  delete childEnv.REHEARSAL_RUN_DIR;
  delete childEnv.REHEARSAL_WORK_DIR;
  delete childEnv.REHEARSAL_PLAN_FILE;
  return new Promise((resolve, reject) => {
    execFile(
      bin,
      [...base, '--json'],
      { cwd: PROJECT_ROOT, env: childEnv, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const start = stdout.search(/^\[/m);
        let rows: Array<{ name: string; file: string }> | undefined;
        if (!error && start >= 0) {
          try {
            rows = JSON.parse(stdout.slice(start));
          } catch {
            rows = undefined;
          }
        }
        if (!rows) {
          const tail = redact(`${stderr}\n${stdout}`.trim().split('\n').slice(-20).join('\n'));
          return reject(
            new Error(`listing the checks failed (vitest list${error ? `: ${error.message}` : ''}):\n${tail}`),
          );
        }
        resolve(rows.map((r) => ({ name: r.name, file: path.relative(PROJECT_ROOT, r.file) })));
      },
    );
  });
}

/**
 * The checks grouped by family, in registry order (every family appears, with no checks when it would run none); a
 * check no family claims goes to a last group named after its spec file.
 */
export function groupByFamily(checks: ListedCheck[]): { families: ListedFamily[]; unclaimed: ListedCheck[] } {
  const families = FAMILIES.map((family) => ({ family, checks: [] as string[] }));
  const unclaimed: ListedCheck[] = [];
  for (const c of checks) {
    const f = familyOfTest(c.name);
    if (f) families.find((x) => x.family === f)!.checks.push(c.name);
    else unclaimed.push(c);
  }
  return { families, unclaimed };
}

/** The printed listing: a header per family (`row counts [row-counts] specs/row-counts.spec.ts: 5`), checks indented. */
export function listLines(checks: ListedCheck[]): string[] {
  const { families, unclaimed } = groupByFamily(checks);
  const lines = [
    `Checks a full run would run (${checks.length}, discovered read-only; nothing written). Skipped checks are not listed (see --dry-run).`,
    'The tables, relations and asset sample are read from the source (and target) at run time: a run after a copy (or',
    'against a changed source) can check more or fewer subjects than listed here; --dry-run and the run itself say how many.',
  ];
  for (const { family, checks: names } of families) {
    lines.push(`${family.label} [${family.id}] ${family.spec}: ${names.length}`);
    for (const n of names) lines.push(`  ${n}`);
  }
  if (unclaimed.length) {
    lines.push(`checks of no registered family: ${unclaimed.length}`);
    for (const c of unclaimed) lines.push(`  ${c.name}   (${c.file})`);
  }
  return lines;
}
