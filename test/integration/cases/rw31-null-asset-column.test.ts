/**
 * rw31 (../shared/cases): the configured asset column exists but is NULL in every row (the paths moved to
 * `storage_key`), while the asset tree holds 30 files; after the copy two files are deleted on the target. Expected:
 * not green — 0 paths in the configured column while the tree holds files is no evidence — once with a local source
 * (the sampled and prefix checks in-process), once with the source tree served by an rsync daemon (`rsync://`, a whole
 * rehearsal: mirror from the daemon, then --verify-only). With the paths in the column, the same families are green.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import { verifyInProcess } from '../../helpers/cases.ts';
import { describe, expectFailures, failedNames as failedChecks, failureOf, runFamilies } from '../../helpers/family.ts';
import {
  buildCaseAssets,
  caseScenario,
  failedNames,
  loadCaseSql,
  rehearseCase,
} from '../../helpers/real-world-case.ts';
import { migrateByHand } from '../../helpers/scenario.ts';

const ENV = { ASSET_COLUMNS: 'ugc_assets.storage_path:file' };
const ASSET = 'asset ugc_assets.storage_path';
const PREFIX = 'path prefix ugc_assets.storage_path';
const EMPTY =
  /^not checked: .*: the column holds 0 non-NULL paths while DST_ASSETS_DIR \(.*\) holds files: nothing compared is no evidence/;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** An rsync daemon on 127.0.0.1 serving `dir` as module `data` (read-only), stopped when the test ends. */
async function rsyncDaemon(dir: string, tmp: string): Promise<string> {
  const port = await freePort();
  const conf = path.join(tmp, 'rsyncd.conf');
  const ids = process.getuid?.() === 0 ? `uid = 0\ngid = 0\n` : '';
  fs.writeFileSync(conf, `use chroot = no\n${ids}[data]\n  path = ${dir}\n  read only = yes\n`);
  const child = spawn(
    'rsync',
    ['--daemon', '--no-detach', `--config=${conf}`, `--port=${port}`, '--address=127.0.0.1'],
    {
      stdio: 'ignore',
    },
  );
  onTestFinished(() => {
    child.kill('SIGTERM');
  });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => (c.end(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (up) return `rsync://127.0.0.1:${port}/data/`;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the rsync daemon did not start');
}

test('rw31 local source: a configured asset column with 0 paths while the tree holds files is not green', async () => {
  const s = await caseScenario();
  await loadCaseSql(s, 'rw31-null-asset-column.sql');
  buildCaseAssets(s, 'rw31-null-asset-column.assets.sh');
  await migrateByHand(s);
  fs.rmSync(path.join(s.dstAssets, 'ugc/2/img.jpg'));
  fs.rmSync(path.join(s.dstAssets, 'ugc/4/img.jpg'));

  const red = await runFamilies(s, ['assets', 'path-prefix'], { env: ENV });
  expectFailures(red, { [ASSET]: EMPTY, [PREFIX]: EMPTY });

  // With the paths in the configured column (as the source had them before the move), the two deleted files are
  // found and the 28 others pass: the rule only refuses an empty column, it judges a filled one as before.
  for (const db of [s.src, s.dst]) await db.query(`UPDATE ugc_assets SET storage_path = '/app/.data/' || storage_key`);
  const filled = await runFamilies(s, ['assets', 'path-prefix'], { env: { ...ENV, ASSETS_SAMPLE_N: '30' } });
  expectFailures(filled, {
    'asset ugc_assets.storage_path /app/.data/ugc/2/img.jpg': /missing/,
    'asset ugc_assets.storage_path /app/.data/ugc/4/img.jpg': /missing/,
  });
});

test(
  'rw31 remote source (rsync://): the same empty column is not green after a whole rehearsal',
  { timeout: 300_000 },
  async () => {
    const s = await caseScenario();
    await loadCaseSql(s, 'rw31-null-asset-column.sql');
    buildCaseAssets(s, 'rw31-null-asset-column.assets.sh');
    const remote = await rsyncDaemon(s.srcAssets, s.tmp);
    const env = { ...ENV, SRC_ASSETS_DIR: remote };

    const first = await rehearseCase(s, [], env);
    expect(fs.existsSync(path.join(s.dstAssets, 'ugc/30/img.jpg')), first.output).toBe(true); // mirrored from the daemon
    expect(first.code, first.output).toBe(1);
    expect(failedNames(first.cases)).toEqual(expect.arrayContaining([ASSET, PREFIX]));

    fs.rmSync(path.join(s.dstAssets, 'ugc/2/img.jpg'));
    fs.rmSync(path.join(s.dstAssets, 'ugc/4/img.jpg'));
    // judged again after the deletions: every family in-process, as `--verify-only` runs them (the source still remote)
    const r = await verifyInProcess(s, env);
    expect(failedChecks(r), describe(r)).toEqual(expect.arrayContaining([ASSET, PREFIX]));
    expect(failureOf(r, ASSET)).toMatch(/the column holds 0 non-NULL paths while DST_ASSETS_DIR/);
    expect(failureOf(r, PREFIX)).toMatch(/the column holds 0 non-NULL paths while DST_ASSETS_DIR/);
  },
);
