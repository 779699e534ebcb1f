/**
 * rw21 (as root): leading-dash names, a mode-000 file, and a 0600 file under a 0700 directory owned by a uid that
 * exists nowhere. The tool runs as root, for whom everything is readable. Expected: leading-dash names fine;
 * mode000.jpg and private/secret.jpg reported as unreadable by the application's user (ASSETS_APP_USER), and without
 * that setting, warnings (not readable by "others", owner unknown on this machine).
 */
import { expect, test } from 'vitest';
import { junitCases, latestJunit, rehearse, scenario, unescapeXml, type Scenario } from '../../helpers/scenario.ts';
import { loadCaseSql, runCaseScript } from '../../helpers/case-files.ts';
import { verifyInProcess } from '../../helpers/cases.ts';
import { describe, failedNames, outcome } from '../../helpers/family.ts';

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const MODE000 = 'asset ugc_assets.storage_path /app/.data/ugc/mode000.jpg';
const SECRET = 'asset ugc_assets.storage_path /app/.data/private/secret.jpg';
const DASHES = ['-rf.jpg', '--delete.jpg', '-e ssh evil.jpg', 'ok.jpg'].map(
  (n) => `asset ugc_assets.storage_path /app/.data/ugc/${n}`,
);

async function setup(): Promise<{ s: Scenario; env: Record<string, string> }> {
  const s = await scenario({ fixture: false });
  loadCaseSql(s.src, 'rw21-permissions.sql');
  runCaseScript('rw21-permissions.assets.sh', s.srcAssets);
  return {
    s,
    env: { ...s.env, HEALTH_CHECK: '0', ASSET_COLUMNS: 'ugc_assets.storage_path:file', ASSETS_SAMPLE_N: '100' },
  };
}

test.skipIf(!asRoot)(
  'rw21 with ASSETS_APP_USER: mode000.jpg and private/secret.jpg are unreadable by that user; without it, warnings',
  async () => {
    const { s, env } = await setup();
    const r = await rehearse([], { ...env, ASSETS_APP_USER: 'nobody' });
    expect(r.code, r.output).toBe(1);
    const cases = junitCases(latestJunit(s));
    expect(
      cases
        .filter((c) => c.failed)
        .map((c) => c.name)
        .sort(),
    ).toEqual([SECRET, MODE000].sort());
    expect(unescapeXml(cases.find((c) => c.name === MODE000)!.body)).toMatch(
      /file \S+\/ugc\/mode000\.jpg is not readable by the application's user nobody \(uid 65534, groups [\d,]+\) \(mode 0000, owner 0:0\)/,
    );
    expect(unescapeXml(cases.find((c) => c.name === SECRET)!.body)).toMatch(
      /directory \S+\/private is not searchable by the application's user nobody .*\(mode 0700, owner 4242:4242\): nothing below it can be opened/,
    );
    for (const n of DASHES)
      expect(
        cases.find((c) => c.name === n),
        n,
      ).toMatchObject({ failed: false });

    // The same copy without ASSETS_APP_USER: the two files are warnings (others cannot read them; owner unknown).
    // Every check family in-process, as `--verify-only` runs them (test/helpers/family.ts).
    const o = await verifyInProcess(s, env);
    expect(failedNames(o), describe(o)).toEqual([]);
    expect(outcome(o, MODE000).warnings).toEqual([
      expect.stringMatching(
        /^file \S+\/ugc\/mode000\.jpg is not readable by others \(ASSETS_APP_USER is not set\) \(mode 0000, owner 0:0\)$/,
      ),
    ]);
    expect(outcome(o, SECRET).warnings).toEqual([
      expect.stringMatching(/^directory \S+\/private is not searchable by others .*\(mode 0700, owner 4242:4242\)/),
      expect.stringMatching(
        /^file \S+\/private\/secret\.jpg is not readable by others .*\(mode 0600, owner 4242:4242\)$/,
      ),
      expect.stringMatching(/secret\.jpg is owned by uid 4242 and gid 4242, unknown on this machine/),
    ]);
    for (const n of DASHES) {
      expect(outcome(o, n).verdict?.status, n).toBe('pass');
      expect(outcome(o, n).warnings, n).toEqual([]);
    }
  },
  400_000,
);
