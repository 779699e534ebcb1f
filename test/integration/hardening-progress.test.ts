/**
 * Issue 10, progress: a real rehearsal whose stdout is a pipe (as in CI) shows progress for the dump, the restore,
 * the mirror and the checks, as plain lines (never a carriage return), every line redacted; the tools' verbose output
 * goes to the phase logs, not to the console.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { expectNoSecret, rehearse, scenario } from '../helpers/scenario.ts';

test('a full rehearsal in a pipe prints plain progress lines for dump, restore, mirror and checks, and no carriage return', async () => {
  const s = await scenario();
  const r = await rehearse([], s.env);
  expect(r.code, r.output).toBe(0);
  expect(r.output.includes('\r'), 'a carriage return in the non-TTY output').toBe(false);

  const lines = r.output.split('\n');
  const progress = (re: RegExp) => lines.filter((l) => re.test(l));
  // Start and end are always printed, so even an instant phase shows "0/N" and "N/N".
  // Bytes against the source tables' size, rate, elapsed, ETA; then the table count (and the archive written).
  const dump = progress(
    /^\[dump\] progress: .* source table data \(\d+%\), .*elapsed .*; \d+\/\d+ tables; archive .* written$/,
  );
  const restore = progress(
    /^\[restore\] progress: .* source table data \(\d+%\), .*elapsed .*; \d+\/\d+ tables restored \(\d+%\)$/,
  );
  const mirror = progress(/^\[mirror\] progress: .* transferred, \d+ files/);
  const checks = progress(/^\[checks\] progress: \d+(\/\d+)? checks done/);
  for (const [phase, got] of Object.entries({ dump, restore, mirror, checks })) {
    expect(got.length, `progress lines of ${phase}:\n${r.output}`).toBeGreaterThanOrEqual(2);
  }
  const final = (l: string[]) => /(\d+)\/(\d+)/.exec(l[l.length - 1])!;
  const [, dumped, dumpTotal] = final(dump);
  expect(dumped, 'the dump ends at N/N').toBe(dumpTotal);
  expect(Number(dumpTotal)).toBeGreaterThan(0);
  expect(final(restore).slice(1), 'the restore ends at the same N/N as the dump').toEqual([dumped, dumpTotal]);
  expect(mirror[mirror.length - 1]).toMatch(/, (\d+)\/\1 entries checked \(100%\), .*\/s, elapsed .*, done$/);
  const [, checked, checkTotal] = final(checks);
  expect(checked).toBe(checkTotal);
  // The default reporter prints the same total at the end.
  expect(r.output).toMatch(new RegExp(`Tests\\s+${checkTotal} passed|${checkTotal} passed`));

  // The tools' verbose output is in the phase logs, not on the console.
  const log = (phase: string) => fs.readFileSync(path.join(s.workDir, 'logs', `${phase}.log`), 'utf8');
  expect(log('dump')).toMatch(/pg_dump: dumping contents of table "public\.users"/);
  expect(log('restore')).toMatch(/pg_restore: processing data for table "public\.users"/);
  expect(log('mirror')).toMatch(/--info=progress2/);
  expect(r.output).not.toMatch(/dumping contents of table|processing data for table|to-chk=/);
  expect(log('mirror').includes('\r'), 'carriage returns in the mirror log').toBe(false);
  await expectNoSecret(s, r);
});
