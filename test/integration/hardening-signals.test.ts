/**
 * Issue 26 (item 6): SIGINT early in a run leaves no empty temporary WORK_DIR or run folder behind. (The run is held in
 * its preflight by a remote SRC_ASSETS_DIR that never answers, so the signal always lands there.)
 */
import fs from 'node:fs';
import { expect, test } from 'vitest';
import { blackhole, eventually, startRehearse } from '../helpers/hardening.ts';
import { scenario } from '../helpers/scenario.ts';

test('SIGINT during the preflight without WORK_DIR: the temporary WORK_DIR it made is removed, exit 130', async () => {
  const s = await scenario();
  const peer = await blackhole();
  const env: NodeJS.ProcessEnv = {
    ...s.env,
    SRC_ASSETS_DIR: `rsync://127.0.0.1:${peer.port}/data/`,
    CONNECT_TIMEOUT_MS: '20000',
  };
  delete env.WORK_DIR;
  const before = peer.connections();
  const run = startRehearse([], env);
  await run.waitFor(/reports: /);
  await eventually(() => peer.connections() > before, 20_000);
  run.child.kill('SIGINT');
  const r = await run.done;
  expect(r.code, r.output).toBe(130);
  const workDir = /WORK_DIR: (\S+)/.exec(r.output)?.[1];
  expect(workDir, r.output).toMatch(/rehearsal-work-/);
  expect(fs.existsSync(workDir!), `${workDir} left behind`).toBe(false);
  const runDir = /reports: +(\S+)/.exec(r.output)?.[1];
  // The run folder stays only when it holds something (the preflight's record); never empty.
  if (runDir && fs.existsSync(runDir)) expect(fs.readdirSync(runDir).length).toBeGreaterThan(0);
});
