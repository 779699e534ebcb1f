/**
 * PostgreSQL 18 as the target: schema parity must not go red on a correct copy because 18 records NOT NULL as
 * pg_constraint rows (contype 'n') that older majors do not have. The 18 server here runs WITHOUT pgvector:
 * pgvector 0.8.0 (Debian's source today) does not compile against 18, and a newer pgvector source is not reachable
 * from this machine's mirror; the fixture's embeddings are real[] for this test.
 */
import { expect, test } from 'vitest';
import { caseEvidence, expectOutcome, junitCases, latestJunit, rehearse } from '../helpers/scenario.ts';
import { crossScenario, useMajor } from '../helpers/majors.ts';

const major = useMajor();

test(
  'PostgreSQL 15 → 18 without pgvector (an 18 server without pgvector): schema parity green across the NOT NULL catalog change',
  { timeout: 420_000 },
  async () => {
    const s = await crossScenario(await major(15, 'source'), await major(18, 'target'), { vector: false });
    const r = await rehearse([], s.env, { timeoutMs: 300_000 });
    expect(r.code, r.output).toBe(0);
    const cases = expectOutcome(
      junitCases(latestJunit(s)),
      {},
      {
        skipped: [/^health /, 'pgvector'],
      },
    );
    expect(caseEvidence(cases, 'schema constraints').join('\n')).toMatch(
      /constraints: source \d+, target \d+; missing 0, extra 0, different 0/,
    );
    // The target really is an 18 with NOT NULL constraint rows: the normalisation was exercised, not bypassed.
    const n = await s.dst.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'n' AND connamespace = 'public'::regnamespace",
    );
    expect(n.rows[0].n).toBeGreaterThan(0);
    expect(
      (await s.dst.query("SELECT current_setting('server_version_num')::int AS v")).rows[0].v,
    ).toBeGreaterThanOrEqual(180000);

    // And a NOT NULL lost on the target is still red, as nullability of the column.
    await s.dst.query('ALTER TABLE users ALTER COLUMN email DROP NOT NULL');
    const v = await rehearse(['--verify-only'], s.env, { timeoutMs: 300_000 });
    expect(v.code, v.output).toBe(1);
    expectOutcome(
      junitCases(latestJunit(s)),
      { 'schema tables and columns': /public\.users\.email \[source: text not null \| target: text\]/ },
      { files: /^specs\/schema-parity\.spec\.ts$/, skipped: ['schema coverage'] },
    );
  },
);
