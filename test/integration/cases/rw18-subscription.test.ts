/**
 * rw18: a publication and a disabled subscription whose conninfo (with a password) points at the source. Expected:
 * staging never holds a subscription that could consume the source's replication slot: it is left out, and the run
 * says so, naming it; the dump summary counts publications and subscriptions. A hand copy (as today) holds the
 * subscription with the source's slot name: --verify-only is red naming it; detached (DISABLE + slot_name = NONE) it
 * is a warning.
 */
import { expect, test } from 'vitest';
import {
  filesContaining,
  junitCases,
  latestJunit,
  migrateByHand,
  rehearse,
  scenario,
  stateOf,
  unescapeXml,
  type Scenario,
} from '../../helpers/scenario.ts';
import { loadCaseSql } from '../../helpers/case-files.ts';
import { verifyInProcess } from '../../helpers/cases.ts';
import { bodyOf, describe, failedNames, outcome } from '../../helpers/family.ts';

const SUBS = 'isolation subscriptions';
const SUB_PASSWORD = 'sub-example-pw';

async function setup(): Promise<Scenario> {
  const s = await scenario({ fixture: false });
  loadCaseSql(s.src, 'rw18-subscription.sql', { source_port: s.src.cluster.port });
  return s;
}
const env = (s: Scenario) => ({ ...s.env, HEALTH_CHECK: '0', ASSET_COLUMNS: '' });

test('rw18: the subscription is left out of the restore, named loudly; the publication is counted and listed', async () => {
  const s = await setup();
  const r = await rehearse([], env(s));
  expect(r.code, r.output).toBe(0);
  const port = s.src.cluster.port;
  expect(r.output).toContain(
    `ISOLATION: subscription feed_sub → 127.0.0.1:${port}/postgres, the SOURCE: LEFT OUT of the restore (detached)`,
  );
  expect(r.output).toMatch(/left out of the restore: SUBSCRIPTION feed_sub \(isolation-subscription: /);
  // the dump summary counts them
  expect(r.output).toMatch(/1 publications, 1 subscriptions, 0 foreign servers, 0 user mappings/);
  expect(stateOf(s)!.phases.find((p) => p.name === 'dump')!.reason).toMatch(/1 publications, 1 subscriptions/);
  // the target has no subscription, keeps the publication
  expect((await s.dst.query(`SELECT count(*)::int AS n FROM pg_subscription`)).rows[0].n).toBe(0);
  expect((await s.dst.query(`SELECT pubname FROM pg_publication`)).rows.map((x) => x.pubname)).toEqual(['orders_pub']);
  const cases = junitCases(latestJunit(s));
  const subs = cases.find((x) => x.name === SUBS)!;
  expect(subs.failed).toBe(false);
  expect(unescapeXml(subs.body)).toMatch(/restore: ISOLATION: subscription feed_sub .*LEFT OUT of the restore/);
  expect(unescapeXml(cases.find((x) => x.name === 'isolation publications')!.body)).toMatch(
    /1 publications on the target .*: orders_pub \(1 tables\)/,
  );
  expect(r.output).not.toContain(SUB_PASSWORD);
  expect(filesContaining([s.workDir, s.reportsDir], SUB_PASSWORD).filter((f) => !f.endsWith('source.dump'))).toEqual(
    [],
  );
}, 400_000);

test('rw18 (copied by hand, as today): the subscription holds the source slot name: red naming it; detached it warns', async () => {
  const s = await setup();
  await migrateByHand(s);
  const r = await rehearse(['--verify-only'], env(s));
  expect(r.code, r.output).toBe(1);
  const failed = junitCases(latestJunit(s)).filter((c) => c.failed);
  expect(failed.map((c) => c.name)).toEqual([SUBS]);
  expect(unescapeXml(failed[0].body)).toMatch(
    new RegExp(
      `subscription feed_sub → 127\\.0\\.0\\.1:${s.src.cluster.port}/postgres, the SOURCE; disabled, slot feed_sub; enabling it would consume that server's replication slot`,
    ),
  );
  expect(r.output).not.toContain(SUB_PASSWORD);
  await s.dst.query('ALTER SUBSCRIPTION feed_sub SET (slot_name = NONE)');
  // detached: judged in-process (every family, as `--verify-only` runs them): green, a warning naming it
  const again = await verifyInProcess(s, { ASSET_COLUMNS: '' });
  expect(failedNames(again), describe(again)).toEqual([]);
  expect(outcome(again, SUBS).warnings.join('\n')).toMatch(
    /subscription feed_sub .*the SOURCE; disabled, slot NONE \(detached\)/,
  );
  expect(bodyOf(again, SUBS)).not.toContain(SUB_PASSWORD);
}, 400_000);
