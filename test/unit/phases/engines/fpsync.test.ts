/**
 * lib/phases/engines/fpsync.ts without running fpsync: the command (-E exactly when ASSETS_DELETE, --checksum on
 * request, jobs and workers, never -a/-r/--delete in the job options), its refusals, the rsync wrapper, the progress
 * parser on real fpsync 1.5.1 lines and the failed-job reader with rsync's exit-code meanings.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { PhaseError } from '../../../../lib/core/errors.ts';
import {
  emptyFpsyncProgress,
  failedJobs,
  fpsyncPlan,
  fpsyncProgressLine,
  jobRsyncOptions,
  JOB_EXIT_MARK,
  parseFpsyncLine,
  runIdOf,
  sshWrapperText,
  wrapperText,
} from '../../../../lib/phases/engines/fpsync.ts';

const base = {
  srcAssetsDir: '/srv/legacy/.data',
  srcAssetsRemote: false,
  dstAssetsDir: '/srv/staging/.data',
  assetsDelete: false,
  assetsJobs: 4,
  assetsWorkers: [] as string[],
  rsyncTimeoutS: 300,
};

describe('fpsyncPlan', () => {
  test('N jobs, its own folder in WORK_DIR (-t/-d), the wrapper as the tool, contents to contents', () => {
    const plan = fpsyncPlan(base, '/work/run1');
    expect(plan.args.slice(0, 12)).toEqual([
      '-v',
      '-v',
      '-n',
      '4',
      '-t',
      '/work/run1/fpsync',
      '-d',
      '/work/run1/fpsync',
      '-T',
      '/work/run1/fpsync/rsync-job.sh',
      '-f',
      '20000',
    ]);
    expect(plan.args.slice(-2)).toEqual(['/srv/legacy/.data/', '/srv/staging/.data/']);
    expect(plan.deletes).toBe(false);
  });
  test('-E (per-directory mode, the only one in which fpsync deletes) exactly when ASSETS_DELETE is on', () => {
    expect(fpsyncPlan(base, '/w').args).not.toContain('-E');
    expect(fpsyncPlan({ ...base, assetsDelete: true }, '/w').args).toContain('-E');
  });
  test('ASSETS_WORKERS become one -w list, and an ssh that never prompts comes first on PATH', () => {
    const plan = fpsyncPlan({ ...base, assetsWorkers: ['w1', 'backup@w2'] }, '/w', { sshConnectTimeoutS: 7 });
    expect(plan.args[plan.args.indexOf('-w') + 1]).toBe('w1 backup@w2');
    expect(plan.ssh?.dir).toBe('/w/fpsync/bin');
    expect(plan.ssh?.text).toContain('-o BatchMode=yes -o ConnectTimeout=7');
    expect(fpsyncPlan(base, '/w').ssh).toBeUndefined();
    expect(sshWrapperText(10, "/k/it's")).toBe(
      `#!/bin/sh\nPATH="\${PATH#*:}"\nexec ssh -F '/k/it'\\''s' -o BatchMode=yes -o ConnectTimeout=10 "$@"\n`,
    );
  });
  test('job options: --checksum on request, the partial dir and timeout of the rsync mirror, never -a, -r or --delete', () => {
    const o = jobRsyncOptions({ rsyncTimeoutS: 30 }, true);
    expect(o).toBe(
      '-lptgoD --numeric-ids --sparse --hard-links --safe-links --info=name1 --checksum --partial-dir=.rsync-partial --timeout=30 --itemize-changes --stats',
    );
    expect(jobRsyncOptions({ rsyncTimeoutS: 30 }, false)).not.toContain('--checksum');
    // fpsync's own test of forbidden options (tool_uses_forbidden_option)
    expect(/--delete|--recursive|(^|\s)-[^\s-]*r|(^|\s)-[^\s-]*a/.test(o)).toBe(false);
  });
  test('a remote source or a refused destination is exit 2 before anything runs', () => {
    const remote = () => fpsyncPlan({ ...base, srcAssetsDir: 'u@h:/data', srcAssetsRemote: true }, '/w');
    expect(remote).toThrow(PhaseError);
    expect(remote).toThrow(/needs a local SRC_ASSETS_DIR/);
    let err: unknown;
    try {
      fpsyncPlan({ ...base, dstAssetsDir: '/etc' }, '/w');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PhaseError);
    expect((err as PhaseError).exitCode).toBe(2);
    expect((err as PhaseError).message).toMatch(/DST_ASSETS_DIR="\/etc".* is a system directory/);
  });
});

test('the wrapper runs rsync and leaves its exit code in the job stderr on failure', () => {
  expect(wrapperText('/opt/my rsync/rsync')).toBe(
    `#!/bin/sh\n'/opt/my rsync/rsync' "$@"\nrc=$?\n[ "$rc" -eq 0 ] || echo "${JOB_EXIT_MARK}$rc" >&2\nexit "$rc"\n`,
  );
});

describe('progress and results', () => {
  const LINES = `1796616805 Info: Run ID: 1796616805-28668
1796616808 ==> [FPART] Partition 1 written
1796616808 => [QMGR] Starting job /w/fpsync/work/1796616805-28668/1 (local)
1796616808 ==> [FPART] Partition 2 written
1796616810 <= [QMGR] Job 28850:1:local finished
1796616811 <=== Fpart crawling finished
1796616811 => [QMGR] Starting job /w/fpsync/work/1796616805-28668/2 (local)`;
  test('partitions written, crawl finished, jobs started and finished', () => {
    const p = emptyFpsyncProgress();
    const lines = LINES.split('\n');
    expect(fpsyncProgressLine(p)).toBe('jobs 0/0+ done (0 running)');
    for (const l of lines.slice(0, 5)) parseFpsyncLine(l, p);
    expect(fpsyncProgressLine(p)).toBe('jobs 1/2+ done (0 running)');
    for (const l of lines.slice(5)) parseFpsyncLine(l, p);
    expect(fpsyncProgressLine(p)).toBe('jobs 1/2 done (1 running)');
    expect(runIdOf(lines[0])).toBe('1796616805-28668');
  });
  test('failedJobs: each non-empty job stderr with the rsync code the wrapper wrote and its meaning', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpsync-log-'));
    try {
      fs.writeFileSync(path.join(dir, '1.stderr'), '');
      fs.writeFileSync(
        path.join(dir, '3.stderr'),
        `could not make way for new regular file: a/f3\n${JOB_EXIT_MARK}23\n`,
      );
      fs.writeFileSync(path.join(dir, '2.stderr'), `file has vanished: "/src/x"\n${JOB_EXIT_MARK}24\n`);
      const jobs = failedJobs(dir);
      expect(jobs.map((j) => [j.part, j.rsyncCode])).toEqual([
        ['2', 24],
        ['3', 23],
      ]);
      expect(jobs[1].meaning).toMatch(/^PARTIAL transfer due to error/);
      expect(jobs[0].meaning).toMatch(/source files vanished/);
      expect(jobs[1].stderr).toEqual(['could not make way for new regular file: a/f3']);
      expect(failedJobs(path.join(dir, 'missing'))).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
