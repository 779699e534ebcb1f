/**
 * A phase that succeeded with a WARNING (the restore ran as a superuser) is a passed test with a warning: the run
 * counts and lists it like a check's (lib/audit/totals.ts), not "0 warnings".
 */
import { describe, expect, test } from 'vitest';
import { tally } from '../../../../../lib/audit/totals.ts';
import { phaseWarnings, phases } from '../../../../../lib/checks/families/phases/family.ts';
import type { CheckContext } from '../../../../../lib/checks/shared/context.ts';
import type { StepResult } from '../../../../../lib/core/state.ts';

const SUPERUSER =
  'WARNING: the restore runs as a SUPERUSER (postgres): code in the archive runs with superuser powers (CVE-2024-7348 class); restore as a non-superuser owner role, or set RESTORE_ROLE=<non-superuser role> to SET ROLE to it for the restore';

async function run(phase: StepResult) {
  const notes: Array<{ message: string; type?: string }> = [];
  const verdict = await phases.check({ phase }, {} as CheckContext, async (message, type) => {
    notes.push({ message, type });
  });
  return { verdict, notes };
}

describe('phase warnings', () => {
  test('the restore as a superuser: the phase test carries the warning and the run counts 1 warning', async () => {
    const { verdict, notes } = await run({ name: 'restore', status: 'ok', durationMs: 5, reason: `ok: ${SUPERUSER}` });
    expect(verdict).toBeUndefined();
    const warnings = notes.filter((n) => n.type === 'warning').map((n) => n.message);
    expect(warnings).toEqual([`restore: ${SUPERUSER}`]);
    const totals = tally([
      { state: 'passed', annotations: notes.map((n) => ({ type: n.type ?? 'notice', message: n.message })) },
    ] as never);
    expect(totals.warnings).toBe(1);
  });

  test('a phase without a WARNING has none; two warnings are two', async () => {
    const { notes } = await run({ name: 'dump', status: 'ok', durationMs: 5, reason: '3.0 MiB custom archive' });
    expect(notes.filter((n) => n.type === 'warning')).toEqual([]);
    expect(phaseWarnings('restore ok: WARNING: a; WARNING: b')).toEqual(['WARNING: a', 'WARNING: b']);
  });
});
