/**
 * Guard rails of the copy phases, end to end through the real CLI: refusals before any write (exit 2) and a mirror
 * failure whose rsync exit code is explained (exit 3).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { freePort } from '../../lib/sandbox/clusters.ts';
import { gateResult } from '../helpers/operator.ts';
import {
  catalogSnapshot,
  expectNoSecret,
  phaseStatuses,
  rehearse,
  scenario,
  stateOf,
  treeListing,
} from '../helpers/scenario.ts';

test('source == target is refused even when one DSN is a URL and the other the keyword form (exit 2, nothing touched)', async () => {
  const s = await scenario();
  const before = await catalogSnapshot(s.src);
  const r = await rehearse([], { ...s.env, DST_DATABASE_URL: s.src.keyword });
  expect(r.code, r.output).toBe(2);
  expect(r.output).toMatch(/name the same database/);
  expect(await catalogSnapshot(s.src)).toEqual(before);
  expect(treeListing(s.dstAssets)).toEqual({});
  await expectNoSecret(s, r);
});

test('a DST_ASSETS_DIR that reaches into SRC_ASSETS_DIR through a symlink is refused in preflight (exit 2)', async () => {
  const s = await scenario();
  const link = path.join(s.tmp, 'looks-separate');
  fs.symlinkSync(s.srcAssets, link);
  const srcBefore = treeListing(s.srcAssets);
  const r = await rehearse([], { ...s.env, DST_ASSETS_DIR: path.join(link, 'staging') });
  expect(r.code, r.output).toBe(2);
  expect(phaseStatuses(s)).toMatchObject({ preflight: 'failed', restore: 'skipped', mirror: 'skipped' });
  expect(stateOf(s)!.phases[0].reason).toMatch(/is the same as or inside SRC_ASSETS_DIR/);
  expect(treeListing(s.srcAssets)).toEqual(srcBefore);
  expect((await catalogSnapshot(s.dst)).relations).toEqual([]);
});

test('an unreachable target is refused within the connect timeout (exit 2)', async () => {
  const s = await scenario({ assets: false });
  const port = await freePort();
  const started = Date.now();
  // The preflight gate every run calls first, in-process (a gate refusal through the whole CLI: the tests around).
  const g = await gateResult(
    { ...s.env, DST_DATABASE_URL: s.dst.url.replace(/:\d+\//, `:${port}/`), CONNECT_TIMEOUT_MS: '2000' },
    'full',
  );
  expect(g.code, g.reason).toBe(2);
  expect(g.reason).toMatch(
    /the target postgresql:\/\/rehearsal:\*\*\*@127\.0\.0\.1:\d+\/dst_\w+ is not reachable \(.*ECONNREFUSED/,
  );
  expect(Date.now() - started).toBeLessThan(60_000);
  await expectNoSecret(
    { ...s, workDir: g.workDir },
    { code: g.code ?? 0, stdout: g.reason, stderr: '', output: g.reason },
  );
});

test('a missing tool (rsync not on PATH) is refused in preflight with what to install (exit 2)', async () => {
  const s = await scenario();
  const bin = path.join(s.tmp, 'bin');
  fs.mkdirSync(bin);
  for (const tool of ['node', 'pg_dump', 'pg_restore', 'psql']) {
    fs.symlinkSync(execFileSync('which', [tool], { encoding: 'utf8' }).trim(), path.join(bin, tool));
  }
  const r = await rehearse([], { ...s.env, PATH: bin });
  expect(r.code, r.output).toBe(2);
  expect(stateOf(s)!.phases[0].reason).toMatch(/rsync is not installed or not on PATH; install rsync/);
  expect((await catalogSnapshot(s.dst)).relations).toEqual([]);
});

test('an rsync partial transfer (exit 23) fails the mirror phase with the meaning of the code (exit 3)', async () => {
  const s = await scenario();
  // A non-empty directory on the target where the source has a file: rsync cannot replace it.
  const file = Object.entries(treeListing(s.srcAssets)).find(([, v]) => v !== 'dir')![0];
  fs.mkdirSync(path.join(s.dstAssets, file), { recursive: true });
  fs.writeFileSync(path.join(s.dstAssets, file, 'in-the-way.txt'), 'x');
  const r = await rehearse([], s.env);
  expect(r.code, r.output).toBe(3);
  expect(phaseStatuses(s)).toEqual({ preflight: 'ok', dump: 'ok', restore: 'ok', mirror: 'failed' });
  const mirror = stateOf(s)!.phases.find((p) => p.name === 'mirror')!;
  expect(mirror.exitCode).toBe(23);
  expect(mirror.rehearseExitCode).toBe(3);
  expect(mirror.reason).toMatch(/rsync exited with code 23: PARTIAL transfer due to error/);
  expect(mirror.reason).toMatch(/full log: .*logs\/mirror\.log/);
  await expectNoSecret(s, r);
});
