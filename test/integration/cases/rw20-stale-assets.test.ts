/**
 * rw20: a second rehearsal after 5 source files got new bytes at the same size and mtime. rsync's quick check (size +
 * mtime) skips them and the 50-file sample may miss them. Expected: the second run either copies the 5 files (the
 * mirror compares content when the target tree is not empty) or is red naming them (ASSETS_VERIFY=sha256 compares
 * every file's bytes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import {
  junitCases,
  latestJunit,
  rehearse,
  scenario,
  stateOf,
  unescapeXml,
  type Scenario,
} from '../../helpers/scenario.ts';
import { loadCaseSql, runCaseScript } from '../../helpers/case-files.ts';

const CHANGED = [11, 77, 150, 222, 299];
const EVERY_SHA = 'asset census every file size, mtime and sha256 (source = target)';

async function firstRun(): Promise<{ s: Scenario; env: Record<string, string> }> {
  const s = await scenario({ fixture: false });
  loadCaseSql(s.src, 'rw20-stale-assets.sql');
  runCaseScript('rw20-stale-assets.assets.sh', s.srcAssets);
  const env = { ...s.env, HEALTH_CHECK: '0', ASSET_COLUMNS: 'ugc_assets.storage_path:file' };
  const r = await rehearse([], env);
  expect(r.code, r.output).toBe(0);
  expect(r.output).toContain('content check: DST_ASSETS_DIR is empty: every file is copied');
  runCaseScript('rw20-stale-assets.change.sh', s.srcAssets);
  return { s, env: { ...env, DST_DROP_SCHEMA: '1' } };
}

const bytes = (root: string, i: number) => fs.readFileSync(path.join(root, `ugc/${i}.jpg`), 'utf8');

test('rw20: the second rehearsal copies the 5 same-size, same-mtime changes (rsync --checksum on a non-empty target)', async () => {
  const { s, env } = await firstRun();
  for (const i of CHANGED) expect(bytes(s.dstAssets, i)).not.toBe(bytes(s.srcAssets, i));
  const r = await rehearse([], env);
  expect(r.code, r.output).toBe(0);
  expect(r.output).toContain('content check: DST_ASSETS_DIR is not empty: content compared (rsync --checksum)');
  expect(r.output).toMatch(/rsync -a (?:--\S+ )*--checksum /);
  const mirror = stateOf(s)!.phases.find((p) => p.name === 'mirror')!;
  expect(mirror.reason).toMatch(/ 5 files transferred, .*content compared \(--checksum\)/);
  for (const i of CHANGED) expect(bytes(s.dstAssets, i)).toBe(bytes(s.srcAssets, i));
  const c = junitCases(latestJunit(s)).find((x) => x.name === 'asset census every file size, mtime (source = target)')!;
  expect(c.failed).toBe(false);
  expect(unescapeXml(c.body)).toMatch(
    /300 source files compared with 300 target files \(size, mtime; bytes only where the mtime differs: ASSETS_VERIFY=sha256 compares every file; names compared as bytes\) in \d+ ms; 0 differ \(0 missing on the target, 0 different\); 0 on the target only; 0 with another mtime/,
  );
}, 600_000);

test('rw20 with the quick check forced (ASSETS_MIRROR_CHECKSUM=0): the every-file sha256 census is red naming the 5 files', async () => {
  const { s, env } = await firstRun();
  const r = await rehearse([], { ...env, ASSETS_MIRROR_CHECKSUM: '0', ASSETS_VERIFY: 'sha256' });
  expect(r.code, r.output).toBe(1);
  expect(r.output).toContain('ASSETS_MIRROR_CHECKSUM=0: size + mtime quick check only');
  const cases = junitCases(latestJunit(s));
  const failed = cases.filter((c) => c.failed).map((c) => c.name);
  expect(failed).toContain(EVERY_SHA);
  // the sampled comparison may also catch some of them (it depends on the sample); nothing else fails
  expect(
    failed.filter((n) => n !== EVERY_SHA && n !== 'asset census sampled files size and sha256 (source = target)'),
  ).toEqual([]);
  const msg = unescapeXml(cases.find((c) => c.name === EVERY_SHA)!.body);
  expect(msg).toMatch(/5 of 300 files differ/);
  for (const i of CHANGED)
    expect(msg).toMatch(new RegExp(`ugc/${i}\\.jpg: same size \\(14 B\\) and mtime but different bytes`));
}, 600_000);
