/**
 * `rehearse --list` against the demo world (the fixture scenario): every check a real run reports as run appears in the
 * listing and nothing else does, every registered family has its header, and the listing writes nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import type { ChecksFile } from '../../lib/audit/reporter.ts';
import { FAMILIES } from '../../lib/checks/registry.ts';
import { catalogSnapshot, expectNoSecret, rehearse, scenario, treeListing } from '../helpers/scenario.ts';

/** The check names of a `--list` output (indented two spaces under their family's header). */
function listed(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => /^ {2}\S/.test(l))
    .map((l) => l.slice(2));
}

test('--list names exactly the checks a real run of the demo world runs, grouped by family, and writes nothing', async () => {
  const s = await scenario();
  const env = { ...s.env, ASSETS_SAMPLE_SEED: 'list-test' };
  const run = await rehearse([], env);
  expect(run.code, run.output).toBe(0);
  const runs = path.join(s.reportsDir, 'runs');
  const [runId] = fs.readdirSync(runs);
  const checks = (JSON.parse(fs.readFileSync(path.join(runs, runId, 'checks.json'), 'utf8')) as ChecksFile).checks;
  const ran = checks.filter((c) => c.state !== 'skipped').map((c) => c.name);
  expect(ran.length).toBeGreaterThan(20);

  const catalogBefore = await catalogSnapshot(s.dst);
  const tmpBefore = treeListing(s.tmp);
  const r = await rehearse(['--list'], env);
  expect(r.code, r.output).toBe(0);
  const names = listed(r.stdout);
  expect([...names].sort()).toEqual([...ran].sort());
  for (const f of FAMILIES) expect(r.stdout, `header of ${f.id}`).toContain(`${f.label} [${f.id}] ${f.spec}:`);
  expect(r.stdout).not.toMatch(/checks of no registered family/);

  // Read-only: same target catalog, no new file anywhere in the scenario (WORK_DIR, REPORTS_DIR, asset trees).
  expect(await catalogSnapshot(s.dst)).toEqual(catalogBefore);
  expect(treeListing(s.tmp)).toEqual(tmpBefore);
  await expectNoSecret(s, r);
});

test('--list with --verify-only is a usage error (exit 2); a mistyped option names the right one', async () => {
  const s = await scenario();
  const both = await rehearse(['--list', '--verify-only'], s.env);
  expect(both.code).toBe(2);
  expect(both.stderr).toMatch(/--list and --verify-only cannot be combined/);
  const typo = await rehearse(['--dryrun'], s.env);
  expect(typo.code).toBe(2);
  expect(typo.stderr).toMatch(/unknown option "--dryrun" \(did you mean --dry-run\?\); see npm run rehearse -- --help/);
});
