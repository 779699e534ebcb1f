import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { rehearse, scenario } from '../helpers/scenario.ts';

test('a rehearsal that finds nothing to verify fails loudly (exit 1), with reports and state written', async () => {
  const s = await scenario({ fixture: false });
  const r = await rehearse(['--verify-only'], {
    ...s.env,
    ASSET_COLUMNS: '',
    SRC_DATABASE_URL: undefined,
    SRC_ASSETS_DIR: undefined,
  });
  expect(r.code, r.output).toBe(1);
  expect(r.output).toMatch(/found nothing to verify/);
  expect(fs.existsSync(path.join(s.workDir, 'state.json'))).toBe(true);
});
