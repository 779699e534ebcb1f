/**
 * `rehearse --list`: every check a full run would run, grouped by check family, named the way the run names them —
 * each family's `subjects` and `name` (lib/checks/family.ts), in-process, in the context a full run would give them
 * (lib/checks/shared/listing.ts: no copy phase runs, discovery is read-only). Nothing is written: no WORK_DIR, no
 * report folder, no database write. Skipped checks (e.g. `health GET /health (skipped: HEALTH_CHECK=0)`) do not run and
 * are not listed; `--dry-run` explains them.
 */
import { plannedTests } from '../checks/family.ts';
import { FAMILIES, familyOfTest, type CheckFamily } from '../checks/registry.ts';
import { listingContext, type ListingInput } from '../checks/shared/listing.ts';
import { parseConfig, registerSecrets } from '../core/config.ts';
import { closePools } from '../core/db.ts';
import { redact } from '../core/redact.ts';
import { phaseSchedule } from '../phases/phase-schedule.ts';
import { PHASES } from '../phases/phase-types.ts';

/** One check a run would run. */
export interface ListedCheck {
  name: string;
  /** The spec file, relative to the project root (`specs/row-counts.spec.ts`). */
  file: string;
}

/** The checks of one family, in the order the family plans them. */
export interface ListedFamily {
  family: CheckFamily;
  checks: string[];
}

/**
 * Every check a full run with `env` (the contract variables of the run to list) would run, in registry order: each
 * family's planned tests that are not skipped. Reads the catalogs only.
 */
export async function listChecks(env: NodeJS.ProcessEnv): Promise<ListedCheck[]> {
  try {
    const ctx = await listingContext(listingInput(env));
    const out: ListedCheck[] = [];
    for (const family of FAMILIES)
      for (const t of await plannedTests(family, ctx)) if (t.run) out.push({ name: t.name, file: family.spec });
    return out;
  } finally {
    await closePools();
  }
}

/** The configuration of the run `env` describes (full mode) and its copy-phase schedule, or why it does not parse. */
export function listingInput(env: NodeJS.ProcessEnv): ListingInput {
  try {
    const config = parseConfig(env, { mode: 'full' });
    registerSecrets(config);
    return { phaseNames: PHASES, parsed: { config, schedule: phaseSchedule(config) } };
  } catch (e) {
    return { phaseNames: PHASES, parsed: { error: redact((e as Error).message) } };
  }
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
