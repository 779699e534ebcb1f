/** The cutover's --help says what holds for the cutover: the production target, and ISOLATION's real default (keep). */
import { expect, test } from 'vitest';
import { helpText } from '../../../lib/core/config.ts';
import { cutoverHelpText, cutoverSharedHelp, withCutoverDefaults } from '../../../lib/cutover/config.ts';

test('the shared variables as the cutover reads them: production target, ISOLATION keep', () => {
  const shared = cutoverSharedHelp(helpText());
  expect(shared).not.toMatch(/Target staging/);
  expect(shared).toMatch(/DST_DATABASE_URL[^\n]*\n\s+Production target PostgreSQL DSN/);
  expect(shared).toMatch(/ISOLATION {2}\(default for the cutover: keep; a rehearsal detaches\)/);
  expect(shared).not.toMatch(/ISOLATION {2}\(default: detach\)/);
  // What --help says is what the cutover does.
  expect(withCutoverDefaults({}).ISOLATION).toBe('keep');
  expect(cutoverHelpText()).toMatch(/PRODUCTION target/);
  expect(cutoverHelpText()).toMatch(/ISOLATION\s+defaults to keep here/);
});
