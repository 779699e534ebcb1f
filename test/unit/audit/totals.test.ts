/** lib/audit/totals.ts: the one tally of a list of checks and the one definition of a warning. */
import { expect, test } from 'vitest';
import { isWarning, tally } from '../../../lib/audit/totals.ts';
import { splitSkipReason } from '../../../lib/checks/family.ts';
import type { CheckRecord } from '../../../lib/audit/reporter.ts';

const c = (state: CheckRecord['state'], extra: Partial<CheckRecord> = {}): CheckRecord => ({
  file: 'f',
  name: 'n',
  fullName: 'n',
  state,
  errors: [],
  annotations: [],
  ...extra,
});
const warn = [{ type: 'warning', message: 'w' }];

test('a warning is a passed check with a warning annotation (or flag); a failed one is a failure', () => {
  expect(isWarning(c('passed', { annotations: warn }))).toBe(true);
  expect(isWarning(c('passed', { warning: true }))).toBe(true);
  expect(isWarning(c('failed', { annotations: warn }))).toBe(false);
  expect(isWarning(c('passed'))).toBe(false);
});

test('tally: passed, failed, skipped, not selected by the rerun filter, warnings', () => {
  expect(
    tally([
      c('passed'),
      c('passed', { annotations: warn }),
      c('failed', { annotations: warn }),
      c('skipped'),
      c('pending'),
      c('skipped', { selected: false }),
    ]),
  ).toEqual({ passed: 2, failed: 1, consequences: 0, skipped: 2, notSelected: 1, warnings: 1 });
  expect(tally([])).toEqual({ passed: 0, failed: 0, consequences: 0, skipped: 0, notSelected: 0, warnings: 0 });
});

test("a skipped check's reason leaves its name; a name's own column list stays", () => {
  expect(splitSkipReason('phase mirror (SRC_ASSETS_DIR is not set: no asset mirror)')).toEqual({
    name: 'phase mirror',
    reason: 'SRC_ASSETS_DIR is not set: no asset mirror',
  });
  expect(
    splitSkipReason('asset census every file (SRC_ASSETS_DIR is remote: only the mirror compared (rsync --checksum))'),
  ).toEqual({
    name: 'asset census every file',
    reason: 'SRC_ASSETS_DIR is remote: only the mirror compared (rsync --checksum)',
  });
  expect(splitSkipReason('orphans ugc_assets(user_id) -> users(id)')).toEqual({
    name: 'orphans ugc_assets(user_id) -> users(id)',
  });
  expect(splitSkipReason('row count public.users')).toEqual({ name: 'row count public.users' });
});
