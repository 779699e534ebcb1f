/**
 * Issue 26, ENOSPC: a full disk under DST_ASSETS_DIR during the mirror, and under WORK_DIR while the mirror writes its
 * log (a tiny tmpfs mounted by the test: this machine runs the tests as root). Each run fails (or warns) with a plain
 * finding naming the full disk and the path, never a stack trace, never a green verdict over a partial copy (exit 3,
 * README "Exit codes"); a rerun with space is green: its copy phases and the families that judge the mirrored tree,
 * in-process (test/helpers/pipeline.ts: what makes it green is the copy and the checks, the failing whole run above it
 * showed the exit code and the console). The dump's own ENOSPC is hardening-faults.test.ts.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { describe, failedNames } from '../helpers/family.ts';
import { copyInProcess, expectCopied, familiesOn } from '../helpers/pipeline.ts';
import { junitCases, latestJunit, phaseStatuses, rehearse, scenario, stateOf, tempDir } from '../helpers/scenario.ts';

/** A tmpfs of `size` mounted at a fresh directory; unmounted when `umount()` is called (always, in `finally`). */
function tinyDisk(size: string): { dir: string; umount(): void } {
  const dir = tempDir('rehearsal-tmpfs-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  let mounted = true;
  return {
    dir,
    umount() {
      if (mounted) execFileSync('umount', ['-l', dir]);
      mounted = false;
    },
  };
}

function duBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

/**
 * "A rerun with space is green", in-process: the copy phases of a full run with `env` and DST_DROP_SCHEMA=1 (the target
 * holds the failed run's restore) all ok, then the families that judge the mirrored tree (`assets`, `asset-census`:
 * the failed run's red) all green over it, as `rehearse --select assets,asset-census` would judge them.
 */
async function greenWithSpace(env: Record<string, string>): Promise<void> {
  const again: Record<string, string> = { ...env, DST_DROP_SCHEMA: '1' };
  const phases = await copyInProcess(again);
  expectCopied(phases);
  const outcomes = await familiesOn({ env: again, workDir: again.WORK_DIR }, ['assets', 'asset-census']);
  expect(failedNames(outcomes), describe(outcomes)).toEqual([]);
  expect(outcomes.filter((o) => o.verdict?.status === 'pass').length, describe(outcomes)).toBeGreaterThan(5);
}

/** A stack trace (a frame of the project's code or of node) printed instead of a finding. */
const STACK = /\n\s+at .+(\.ts|\.js|\.mjs):\d+:\d+|node:internal/;

test('DST_ASSETS_DIR on a full disk: the mirror fails naming "No space left on device" and the directory, exit 3, the asset checks are not green; a rerun with space is green', async () => {
  const s = await scenario();
  const size = duBytes(s.srcAssets);
  expect(size, 'the asset tree must outgrow the tiny disk').toBeGreaterThan(256 * 1024);
  const disk = tinyDisk('128k');
  const dstAssets = path.join(disk.dir, 'assets');
  try {
    const env = { ...s.env, DST_ASSETS_DIR: dstAssets };
    const r = await rehearse([], env);
    expect(r.code, r.output.slice(-4000)).toBe(3);
    expect(phaseStatuses(s)).toMatchObject({ preflight: 'ok', dump: 'ok', restore: 'ok', mirror: 'failed' });
    const mirror = stateOf(s)!.phases.find((p) => p.name === 'mirror')!;
    expect(mirror.reason).toMatch(/No space left on device|no space left/i);
    expect(mirror.reason).toContain(disk.dir);
    // The phase's line says the disk may be full, and rsync's own line below it (stderr) says: the file and "No space left on device".
    expect(r.output).toMatch(
      /\[mirror\] FAILED: [^\n]*disk full[^\n]*\n(?:\[mirror\][^\n]*\n){0,3}\[mirror\]\s+rsync: [^\n]*write failed on [^\n]*No space left on device \(28\)/,
    );
    expect(r.output).not.toMatch(STACK);
    // No partial state claimed green: the mirror's testcase failed, and the run did not say "0 failed".
    const cases = junitCases(latestJunit(s));
    expect(cases.find((c) => c.name === 'phase mirror')?.failed).toBe(true);
    expect(r.output).not.toMatch(/\b0 failed\b/);
    disk.umount();
    // With space (the same path, now on the ordinary disk): the same configuration is green; every copy phase runs
    // again, and the families that judge the mirrored tree (the failed run's red) are green over it.
    fs.mkdirSync(dstAssets, { recursive: true });
    await greenWithSpace(env);
  } finally {
    disk.umount();
  }
}, 500_000);

test('WORK_DIR on a disk that fills while the mirror logs thousands of files: one plain warning naming the log, no stack trace, and no green verdict over records that could not be written; a rerun with space is green', async () => {
  const s = await scenario();
  // 3,000 small files with long names: rsync's per-file log lines outgrow the disk, the files themselves do not matter.
  const many = path.join(s.srcAssets, 'bulk-upload-with-a-rather-long-directory-name-for-the-mirror-log');
  fs.mkdirSync(many);
  for (let i = 0; i < 3000; i++)
    fs.writeFileSync(
      path.join(many, `a-file-name-long-enough-to-fill-a-log-line-quickly-${String(i).padStart(5, '0')}.txt`),
      'x',
    );
  const disk = tinyDisk('256k');
  const workDir = path.join(disk.dir, 'work');
  try {
    const env = { ...s.env, WORK_DIR: workDir };
    const r = await rehearse([], env, { timeoutMs: 330_000 });
    expect(r.code, `killed by the test's timeout (hung?):\n${r.output.slice(-4000)}`).not.toBe(128);
    expect(r.output).not.toMatch(STACK);
    expect(r.output).toMatch(/no space left \(ENOSPC\) writing [^\n]*\/work\/[^\n]*: [^\n]* free in /);
    // Whatever it could not write, the run never claims a green verdict it cannot back.
    expect(r.code, r.output.slice(-4000)).not.toBe(0);
    expect([1, 3]).toContain(r.code);
  } finally {
    disk.umount();
  }
  // With space: green (every copy phase, and the families that judge the mirrored tree).
  await greenWithSpace({ ...s.env, WORK_DIR: path.join(s.tmp, 'work-again') });
}, 500_000);
