/**
 * Row-count rules end to end: ROWCOUNT_MAX_DIFF tolerance (with a 500 health endpoint in the same run), and a count(*)
 * that really times out on the server (ROWCOUNT_TIMEOUT_MS=1 on a table of half a million rows) → estimate, not
 * compared; red under ROWCOUNT_REQUIRE_EXACT=1.
 */
import { expect, test } from 'vitest';
import {
  CORE_CHECK_FILES,
  caseEvidence,
  expectOutcome,
  junitCases,
  latestJunit,
  migrateByHand,
  rehearse,
  scenario,
} from '../helpers/scenario.ts';

test('ROWCOUNT_MAX_DIFF tolerates a difference up to it and fails beyond; a 500 health endpoint fails', async () => {
  const s = await scenario();
  await migrateByHand(s);
  await s.dst.query(`
    DELETE FROM material_embeddings WHERE material_id = (SELECT max(material_id) FROM material_embeddings);
    DELETE FROM gallery_items WHERE id IN (SELECT id FROM gallery_items ORDER BY id DESC LIMIT 2);
  `);
  s.health.setStatus(500);
  const r = await rehearse(['--verify-only'], { ...s.env, ROWCOUNT_MAX_DIFF: '1' });
  expect(r.code, r.output).toBe(1);
  const cases = expectOutcome(
    junitCases(latestJunit(s)),
    {
      'row count public.gallery_items':
        /expected the target to have 60 rows like the source \(ROWCOUNT_MAX_DIFF 1\), it has 58 \(difference -2\)/,
      'health GET /health': /expected a 2xx status, got HTTP 500; body: \{"status":"error"\}/,
    },
    { files: CORE_CHECK_FILES },
  );
  expect(caseEvidence(cases, 'row count public.material_embeddings')).toEqual([
    expect.stringMatching(/^source: 90 rows, exact/),
    expect.stringMatching(/^target: 89 rows, exact/),
    'difference -1 within ROWCOUNT_MAX_DIFF 1',
  ]);
});

test('a count(*) that times out falls back to the estimate, compared within ROWCOUNT_ESTIMATE_TOLERANCE (a pass with a warning), and fails under ROWCOUNT_REQUIRE_EXACT=1', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const big = 'CREATE TABLE big_events AS SELECT g AS id FROM generate_series(1, 500000) g; ANALYZE big_events;';
  await Promise.all([s.src.query(big), s.dst.query(big)]);
  // Only the big table is counted: with a 1 ms timeout a tiny table may or may not finish in time. CHECKSUM=off: with
  // checksums on, the count rides on the checksum's full scan of the table (one scan per table) and is always exact.
  const env = { ...s.env, VALIDATE_TABLES: 'big_events', ROWCOUNT_TIMEOUT_MS: '1', CHECKSUM: 'off' };

  const r = await rehearse(['--verify-only'], env);
  expect(r.output).toMatch(/rehearsal .*verify-only/);
  let cases = expectOutcome(junitCases(latestJunit(s)), {}, { files: CORE_CHECK_FILES });
  expect(cases.filter((c) => c.name.startsWith('row count ')).map((c) => c.name)).toEqual([
    'row count public.big_events',
  ]);
  expect(caseEvidence(cases, 'row count public.big_events')).toEqual([
    expect.stringMatching(/^source: ~\d+ rows, estimate — count\(\*\) exceeded ROWCOUNT_TIMEOUT_MS/),
    expect.stringMatching(/^target: ~\d+ rows, estimate — count\(\*\) exceeded ROWCOUNT_TIMEOUT_MS/),
    expect.stringMatching(
      /^estimates compared: source ~\d+ estimated, target ~\d+ estimated, 0\.0% apart, within ROWCOUNT_ESTIMATE_TOLERANCE 10%$/,
    ),
    expect.stringMatching(/^row count public\.big_events: passed on estimates only/),
  ]);
  expect(cases.find((c) => c.name === 'row count public.big_events')!.body).toMatch(
    /name="warning(?:\.\d+)?" value="row count public\.big_events: passed on estimates only/,
  );

  const strict = await rehearse(['--verify-only'], { ...env, ROWCOUNT_REQUIRE_EXACT: '1' });
  expect(strict.code, strict.output).toBe(1);
  cases = expectOutcome(
    junitCases(latestJunit(s)),
    {
      'row count public.big_events':
        /ROWCOUNT_REQUIRE_EXACT=1 expects exact counts, but the source and target counts timed out and are only estimates/,
    },
    { files: CORE_CHECK_FILES },
  );
});
