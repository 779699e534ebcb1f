/**
 * rw37: a writer appends to a 300 MB file while the rehearsal's mirror copies it. Expected: red, saying the source
 * changed during the copy — which file, its size when copied and now — not just "size differs".
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { runFamilies } from '../../helpers/family.ts';
import { scenario } from '../../helpers/scenario.ts';
import { loadCaseSql, runCaseScript } from '../../helpers/case-files.ts';
import { caseNamed, failureText, rehearseCase } from '../../helpers/real-world-case.ts';

let writerPid: number | undefined;
afterEach(() => {
  // the case's writer (started by its script, recorded in writer.pid): stopped by its id
  if (writerPid) {
    try {
      process.kill(writerPid);
    } catch {
      /* already done */
    }
  }
});

test('rw37: a file growing during the mirror is red as "the source changed during the copy", with both sizes', async () => {
  const s = await scenario({ fixture: false });
  loadCaseSql(s.src, 'rw37-growing-file.sql');
  runCaseScript('rw37-growing-file.assets.sh', s.srcAssets);
  writerPid = Number(fs.readFileSync(path.join(s.srcAssets, '..', 'writer.pid'), 'utf8'));
  const r = await rehearseCase(s, [], {
    HEALTH_CHECK: '0',
    ASSET_COLUMNS: 'ugc_assets.storage_path:file',
    ASSETS_SAMPLE_N: '3',
  });
  expect(r.code, r.output).toBe(1);
  const every = failureText(caseNamed(r.cases, 'asset census every file size, mtime (source = target)'));
  expect(every).toMatch(
    /ugc\/1\.bin: the source changed during the copy: modified \S+, after the mirror started \S+; size when copied (\d+) B \(the target's\), now (\d+) B \(the source's\)/,
  );
  const [, copied, now] = /size when copied (\d+) B .*?, now (\d+) B/.exec(every)!;
  expect(Number(now)).toBeGreaterThan(Number(copied));
  expect(Number(copied)).toBeGreaterThanOrEqual(300_000_000);
  expect(every).toMatch(/The source changed during the copy: ugc\/1\.bin/);
  expect(failureText(caseNamed(r.cases, 'asset census sampled files size and sha256 (source = target)'))).toMatch(
    /ugc\/1\.bin: the source changed during the copy/,
  );
  // the two finished files are not blamed
  expect(every).not.toMatch(/ugc\/[23]\.bin/);

  // once the writer is done, a copy of the finished file is green (in-process, as a --verify-only run)
  try {
    process.kill(writerPid);
  } catch {
    /* the writer already finished (ESRCH on a slow machine): the file is complete either way */
  }
  writerPid = undefined;
  await new Promise((r) => setTimeout(r, 1000));
  execFileSync('rsync', ['-a', `${s.srcAssets}/`, `${s.dstAssets}/`]);
  const again = await runFamilies(s, ['asset-census'], {
    env: { HEALTH_CHECK: '0', ASSET_COLUMNS: 'ugc_assets.storage_path:file' },
  });
  expect(again.filter((o) => o.verdict && o.verdict.status !== 'pass').map((o) => o.name)).toEqual([]);
}, 300_000);
