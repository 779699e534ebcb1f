/** Notes the families' dry-run lines share (lib/checks/family.ts `planLines`). */
import type { CheckPlan } from '../../core/state.ts';
import type { PlanInput } from '../family.ts';

/** The dry-run note of a family that needs the source when none is configured. */
export const NO_SOURCE = '(skipped: SRC_DATABASE_URL is not set: nothing to compare the target with)';

/** What the dry-run says after an asset column missing in the target now ('' for one that exists). */
export function assetColumnNote(
  c: CheckPlan['assetColumns'][number],
  { restoring, restoreCreates }: Pick<PlanInput, 'restoring' | 'restoreCreates'>,
): string {
  if (c.exists) return '';
  if (restoring && (restoreCreates?.has(c.display) ?? true)) return ' (not in the target yet: the restore creates it)';
  const why = `${c.reason ?? 'not in the target'}${restoring ? '; not in the source either, so the restore does not create it' : ''}`;
  return ` (${why}: would be reported as skipped)`;
}
