/**
 * What the cutover window will need, found before it starts: `cutover --plan` runs the rehearsal's read-only
 * preflight against the production source and the new target (connect and authenticate, tools, pgvector, roles,
 * whether the target is empty, DST_ASSETS_DIR, a remote SRC_ASSETS_DIR) and words each problem for the cutover —
 * e.g. a non-empty target means the window needs DST_DROP_SCHEMA set in the cutover's environment, not a refusal
 * discovered inside the downtime.
 */
import { PhaseError } from '../core/errors.ts';
import { detailsOf } from '../phases/phase.ts';
import { preflightStep } from '../phases/pipeline.ts';
import type { CutoverConfig } from './config.ts';

/**
 * One problem line of the preflight, worded for the cutover window. `dstDatabase` is the new target's database
 * name: a target this tool did not restore before is only dropped with DST_DROP_SCHEMA=<its name> (docs/safety.md).
 */
export function forTheWindow(problem: string, dstDatabase = '<target database>'): string {
  if (/target schema public is not empty/.test(problem)) {
    const what = /\(([^)]*objects[^)]*)\)/.exec(problem)?.[1];
    return `the target's public schema is not empty${what ? ` (${what})` : ''}: the window's restore phase needs DST_DROP_SCHEMA=${dstDatabase} in the cutover environment (inside the window it drops, on the NEW target, public and the schemas the archive creates that exist there; DST_DROP_SCHEMA=1 is enough once this tool has restored that target, and then drops exactly what that restore created — its schemas, extensions and large objects — keeping what a DBA installed); set it now, or empty the target before the window`;
  }
  return problem;
}

/**
 * Run the read-only checks and return the plan's "Target readiness" lines. Never throws: a check that cannot run
 * is reported as a line.
 */
export async function targetReadiness(config: CutoverConfig): Promise<string[]> {
  try {
    const { facts } = await preflightStep(config.base, { mode: 'full' });
    const notes = facts.notes.map((n) => `  - note: ${n}`);
    return ['Target readiness (read-only checks, run now): nothing to prepare before the window', ...notes];
  } catch (e) {
    const problems = (e instanceof PhaseError ? detailsOf(e).problems : undefined) ?? [(e as Error).message];
    return [
      `Target readiness (read-only checks, run now): ${problems.length} thing(s) the window will need — settle them BEFORE the downtime:`,
      ...problems.map((p) => `  - ${forTheWindow(p, config.base.dst.database)}`),
    ];
  }
}
