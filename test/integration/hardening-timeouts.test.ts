/**
 * Issue 10, bounded network operations: a database, an HTTP endpoint and an rsync daemon that accept a connection and
 * never answer (or refuse it) each fail in bounded time with a message naming the timeout. One whole run shows the
 * refusal as the CLI ends it (exit 2, nothing after the preflight, in bounded time); the other refusals are the
 * preflight gate in-process (test/helpers/pipeline.ts preflightOnly: what `rehearse` runs before anything else, its
 * `failed` with rehearseExitCode 2 being the exit 2), bounded the same way.
 */
import { expect, test } from 'vitest';
import { freePort } from '../../lib/sandbox/clusters.ts';
import { evidenceOf, expectFailures, runFamilies } from '../helpers/family.ts';
import { blackhole } from '../helpers/hardening.ts';
import { preflightOnly } from '../helpers/pipeline.ts';
import { phaseStatuses, rehearse, scenario, stateOf } from '../helpers/scenario.ts';

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = Date.now();
  const v = await fn();
  return [v, Date.now() - t0];
}

test('a target database that never answers: refused within CONNECT_TIMEOUT_MS, exit 2', async () => {
  const s = await scenario();
  const peer = await blackhole();
  const [r, ms] = await timed(() =>
    rehearse([], {
      ...s.env,
      DST_DATABASE_URL: s.dst.url.replace(/:\d+\//, `:${peer.port}/`),
      CONNECT_TIMEOUT_MS: '1500',
    }),
  );
  expect(r.code, r.output).toBe(2);
  expect(peer.connections()).toBeGreaterThan(0);
  expect(stateOf(s)!.phases[0].reason).toMatch(/did not answer within CONNECT_TIMEOUT_MS=1500 \(.*timeout/);
  // Refused before anything is written: the copy phases after the preflight never ran.
  expect(phaseStatuses(s)).toMatchObject({
    preflight: 'failed',
    dump: 'skipped',
    restore: 'skipped',
    mirror: 'skipped',
  });
  expect(ms).toBeLessThan(30_000);
});

test('a health endpoint that never answers fails within HEALTH_TIMEOUT_MS', async () => {
  // The health family in-process (test/helpers/family.ts): the timeout is the family's own (lib/checks/families/
  // health), the whole run adds nothing to it. A correct copy with a live endpoint is green in checks-clean.test.ts.
  const s = await scenario({ fixture: false, assets: false });
  const peer = await blackhole();
  const env = { STAGING_API_BASE_URL: `http://127.0.0.1:${peer.port}`, HEALTH_TIMEOUT_MS: '1000' };
  const [outcomes, ms] = await timed(() => runFamilies(s, ['health'], { env }));
  expectFailures(outcomes, { 'health GET /health': /got no answer within HEALTH_TIMEOUT_MS=1000 ms \(timed out\)/ });
  expect(evidenceOf(outcomes, 'health GET /health').join('\n')).toMatch(
    /no answer within HEALTH_TIMEOUT_MS=1000 ms \(timed out\) after \d+ ms/,
  );
  expect(peer.connections()).toBeGreaterThan(0);
  expect(ms).toBeLessThan(30_000);
});

test('a remote SRC_ASSETS_DIR on a closed port, or a daemon that never answers, is refused by the preflight (exit 2) before the dump, in bounded time', async () => {
  // The preflight gate in-process: a refusal there is exit 2 before the dump (the whole run above shows the CLI's end).
  const s = await scenario();
  const closed = await freePort();
  const [a, msA] = await timed(() => preflightOnly({ ...s.env, SRC_ASSETS_DIR: `rsync://127.0.0.1:${closed}/data/` }));
  expect(a).toMatchObject({ status: 'failed', rehearseExitCode: 2 });
  expect(a.reason).toMatch(/does not answer \(rsync --list-only exit 10: .*Connection refused/s);
  expect(msA).toBeLessThan(60_000);

  const peer = await blackhole();
  const s2 = await scenario();
  const [b, msB] = await timed(() =>
    preflightOnly({ ...s2.env, SRC_ASSETS_DIR: `rsync://127.0.0.1:${peer.port}/data/`, CONNECT_TIMEOUT_MS: '2000' }),
  );
  expect(b).toMatchObject({ status: 'failed', rehearseExitCode: 2 });
  expect(b.reason).toMatch(/the remote SRC_ASSETS_DIR rsync:\/\/127\.0\.0\.1:\d+\/data\/ does not answer/);
  expect(peer.connections()).toBeGreaterThan(0);
  expect(msB).toBeLessThan(60_000);
});
