/**
 * rw33 (Supabase layout, pgcopydb#694): the source keeps `vector` in schema `extensions` and the dump also creates the
 * trusted `pg_trgm` and `citext`. The target database is owned by a non-superuser role; the DBA ran
 * `CREATE SCHEMA extensions AUTHORIZATION <role>; CREATE EXTENSION vector SCHEMA extensions;` in it. The rehearsal is
 * green (the DBA's extension accepted where it is), and green again on a repeat with DST_DROP_SCHEMA=1: the marker-based
 * drop removes what the first restore created and keeps `vector` (the same extension, same oid), which only a DBA
 * could restore.
 */
import { expect, test } from 'vitest';
import { caseRun, ownerTarget } from '../../helpers/non-superuser.ts';
import { expectOutcome, filesContaining, junitCases, latestJunit, rehearse, stateOf } from '../../helpers/scenario.ts';

// The case has one table, no assets, no foreign keys and no sequences: those families skip (the reason is a note).
const nothingToCheck = [/^health/, /^asset census /, 'assets', 'path prefix', 'orphans', 'sequences'];

test('rw33 vector in schema extensions pre-installed by the DBA, pg_trgm/citext created by the dump: green, and green again with DST_DROP_SCHEMA=1 (vector kept)', async () => {
  const target = await ownerTarget({ vector: false });
  await target.db.query(
    `CREATE SCHEMA extensions AUTHORIZATION ${target.role}; CREATE EXTENSION vector SCHEMA extensions`,
  );
  const vectorOid = async () =>
    (
      await target.db.query(
        `SELECT e.oid::int AS oid, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'`,
      )
    ).rows[0] as { oid: number; schema: string } | undefined;
  const before = await vectorOid();
  const s = await caseRun('rw33-extensions-schema.sql', target);

  const first = await rehearse([], s.env);
  expect(first.code, first.output).toBe(0);
  expect(first.output).toMatch(/left out of the restore: EXTENSION vector/);
  expectOutcome(junitCases(latestJunit(s)), {}, { skipped: nothingToCheck });
  const created = (
    await target.db.query(
      `SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1`,
    )
  ).rows.map((r) => `${r.extname}@${r.nspname}`);
  expect(created).toEqual(expect.arrayContaining(['citext@public', 'pg_trgm@public', 'vector@extensions']));

  const repeat = await rehearse([], { ...s.env, DST_DROP_SCHEMA: '1' });
  expect(repeat.code, repeat.output).toBe(0);
  expectOutcome(junitCases(latestJunit(s)), {}, { skipped: nothingToCheck });
  expect(await vectorOid()).toEqual(before);
  expect(before?.schema).toBe('extensions');
  const restore = stateOf(s)!.phases.find((p) => p.name === 'restore')!;
  expect(restore.status).toBe('ok');
  expect((await target.db.query('SELECT count(*)::int AS n FROM docs')).rows[0].n).toBe(50);
  expect(filesContaining([s.workDir, s.reportsDir], target.password)).toEqual([]);
});
