/**
 * rw30 (../shared/cases): 1.5 M rows, autovacuum off on the table, ROWCOUNT_TIMEOUT_MS=5 (every count(*) falls back
 * to the planner's estimate), CHECKSUM=off. After a correct copy both estimates are fresh (analyzed after the last
 * change): a pass on estimates, with its warning. The fault (40 % deleted on the target, no ANALYZE) leaves reltuples
 * at the old count: the row count is "not verified", never a pass, naming the stale side. Row counts run in-process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { evidenceOf, expectFailures, outcome, runFamilies } from '../../helpers/family.ts';
import { CASES_DIR, caseScenario, loadCaseSql } from '../../helpers/real-world-case.ts';
import { migrateByHand } from '../../helpers/scenario.ts';
import type { TestDb } from '../../helpers/sandbox.ts';

const EVENTS = 'row count public.events';
const ENV = { ROWCOUNT_TIMEOUT_MS: '5', CHECKSUM: 'off' };

/** Wait until the server's statistics show `table`'s changes since the last ANALYZE (they are flushed lazily). */
async function statsFlushed(db: Pick<TestDb, 'query'>, table: string, atLeast: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await db.query(`SELECT n_mod_since_analyze::int8 AS m FROM pg_stat_user_tables WHERE relname = $1`, [
      table,
    ]);
    if (Number(r.rows[0]?.m ?? 0) >= atLeast) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the statistics of ${table} never showed ${atLeast} changes`);
}

test('rw30: an estimate made stale by deletes without ANALYZE is not a pass', { timeout: 300_000 }, async () => {
  const s = await caseScenario();
  await loadCaseSql(s, 'rw30-stale-estimate.sql');
  await migrateByHand(s);
  // Both sides analyzed after their last change (the load's own statistics settle first).
  await s.src.query('ANALYZE events');
  await s.dst.query('ANALYZE events');

  const clean = await runFamilies(s, ['row-counts'], { env: ENV });
  expectFailures(clean, {});
  const ok = outcome(clean, EVENTS);
  expect(evidenceOf(clean, EVENTS).join('\n')).toMatch(
    /target: ~\d+ rows, estimate .*; analyzed after its last change/,
  );
  expect(ok.warnings.join('\n')).toMatch(/passed on estimates only/);

  await s.dst.query(fs.readFileSync(path.join(CASES_DIR, 'rw30-stale-estimate.faults.sql'), 'utf8'));
  await statsFlushed(s.dst, 'events', 600_000);
  const red = await runFamilies(s, ['row-counts'], { env: ENV });
  expectFailures(red, {
    [EVENTS]:
      /^not checked: table public\.events: row count not verified: .*the target estimate \(~\d+\) is stale: 600000 rows changed since its last ANALYZE/,
  });
  expect(evidenceOf(red, EVENTS).join('\n')).toMatch(/target: ~\d+ rows, estimate .*not evidence: 600000 rows changed/);
});
