import { expect, test } from 'vitest';
import { refusedOutputDir } from '../../../lib/core/path-policy.ts';
import { parseConfig } from '../../../lib/core/config.ts';

const DSN = 'postgresql://app@127.0.0.1:5432/staging';

test('REPORTS_DIR and WORK_DIR are never / or a system directory (a fresh operator wrote reports into /etc)', () => {
  expect(refusedOutputDir('REPORTS_DIR', '/etc')).toMatch(/REPORTS_DIR \/etc is a system directory/);
  expect(refusedOutputDir('REPORTS_DIR', '/usr/share/reports')).toMatch(/a system directory/);
  expect(refusedOutputDir('WORK_DIR', '/')).toMatch(/WORK_DIR \/ is the root directory/);
  expect(refusedOutputDir('REPORTS_DIR', '/proc/x')).toMatch(/virtual file system/);
  expect(refusedOutputDir('REPORTS_DIR', '/tmp/reports')).toBeUndefined();
  expect(refusedOutputDir('REPORTS_DIR', 'reports')).toBeUndefined();
  expect(() => parseConfig({ DST_DATABASE_URL: DSN, DST_ASSETS_DIR: '/tmp/x', REPORTS_DIR: '/etc' })).toThrow(
    /REPORTS_DIR \/etc is a system directory/,
  );
});
