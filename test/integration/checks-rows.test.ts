/**
 * Row-count rules, the families run in-process against the real clusters (test/helpers/family.ts): ROWCOUNT_MAX_DIFF
 * tolerance (with a 500 health endpoint), and a count(*) that really times out on the server (ROWCOUNT_TIMEOUT_MS=1 on
 * a table of half a million rows) → estimate, not compared; red under ROWCOUNT_REQUIRE_EXACT=1.
 */
import { expect, test } from 'vitest';
import { evidenceOf, expectFailures, outcome, runFamilies } from '../helpers/family.ts';
import { migrateByHand, scenario } from '../helpers/scenario.ts';

test('ROWCOUNT_MAX_DIFF tolerates a difference up to it and fails beyond; a 500 health endpoint fails', async () => {
  const s = await scenario();
  await migrateByHand(s);
  await s.dst.query(`
    DELETE FROM material_embeddings WHERE material_id = (SELECT max(material_id) FROM material_embeddings);
    DELETE FROM gallery_items WHERE id IN (SELECT id FROM gallery_items ORDER BY id DESC LIMIT 2);
  `);
  s.health.setStatus(500);
  const outcomes = await runFamilies(s, ['row-counts', 'health'], { env: { ROWCOUNT_MAX_DIFF: '1' } });
  expectFailures(outcomes, {
    'row count public.gallery_items':
      /expected the target to have 60 rows like the source \(ROWCOUNT_MAX_DIFF 1\), it has 58 \(difference -2\)/,
    'health GET /health': /expected a 2xx status, got HTTP 500; body: \{"status":"error"\}/,
  });
  expect(evidenceOf(outcomes, 'row count public.material_embeddings')).toEqual([
    expect.stringMatching(/^source: 90 rows, exact/),
    expect.stringMatching(/^target: 89 rows, exact/),
    'difference -1 within ROWCOUNT_MAX_DIFF 1',
  ]);
});

test('a count(*) that times out falls back to the estimate, compared within ROWCOUNT_ESTIMATE_TOLERANCE (a pass with a warning), and fails under ROWCOUNT_REQUIRE_EXACT=1', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const big = 'CREATE TABLE big_events AS SELECT g AS id FROM generate_series(1, 500000) g';
  await Promise.all([s.src.query(big), s.dst.query(big)]);
  // ANALYZE after the load's statistics reached the server (an ANALYZE in the loading transaction itself leaves the
  // load counted as changes since the ANALYZE: a stale estimate, not evidence), so both estimates are fresh.
  const flushed = `SELECT coalesce((SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'big_events'), 0) >= 500000 AS ok`;
  for (const db of [s.src, s.dst]) {
    for (let i = 0; i < 100 && !(await db.query(flushed)).rows[0].ok; i++) await new Promise((r) => setTimeout(r, 100));
    await db.query('ANALYZE big_events');
  }
  // Only the big table is counted: with a 1 ms timeout a tiny table may or may not finish in time. CHECKSUM=off: with
  // checksums on, the count rides on the checksum's full scan of the table (one scan per table) and is always exact.
  const env = { VALIDATE_TABLES: 'big_events', ROWCOUNT_TIMEOUT_MS: '1', CHECKSUM: 'off' };
  const outcomes = expectFailures(await runFamilies(s, ['row-counts'], { env }), {});
  expect(outcomes.map((o) => o.name)).toEqual(['row count public.big_events']);
  expect(evidenceOf(outcomes, 'row count public.big_events')).toEqual([
    expect.stringMatching(/^source: ~\d+ rows, estimate — count\(\*\) exceeded ROWCOUNT_TIMEOUT_MS/),
    expect.stringMatching(/^target: ~\d+ rows, estimate — count\(\*\) exceeded ROWCOUNT_TIMEOUT_MS/),
    expect.stringMatching(
      /^estimates compared: source ~\d+ estimated, target ~\d+ estimated, 0\.0% apart, within ROWCOUNT_ESTIMATE_TOLERANCE 10%$/,
    ),
  ]);
  expect(outcome(outcomes, 'row count public.big_events').warnings.join('\n')).toMatch(
    /^row count public\.big_events: passed on estimates only/,
  );
  expectFailures(await runFamilies(s, ['row-counts'], { env: { ...env, ROWCOUNT_REQUIRE_EXACT: '1' } }), {
    'row count public.big_events':
      /ROWCOUNT_REQUIRE_EXACT=1 expects exact counts, but the source and target counts timed out and are only estimates/,
  });
});
