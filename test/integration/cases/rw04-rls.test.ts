/**
 * rw04: row-level security with a tenant-isolation policy. After a green rehearsal, the policy dropped and RLS
 * disabled on the target: `--verify-only` is red in `schema row-level security` only, naming the policy and the
 * table's row-security flag.
 */
import { expect, test } from 'vitest';
import { afterTheCopy, verifyInProcess } from '../../helpers/cases.ts';
import { bodyOf, describe, failedNames } from '../../helpers/family.ts';

test('rw04 RLS: a dropped policy and a disabled row-security flag are red in schema parity, both named', async () => {
  const { s } = await afterTheCopy('rw04-rls.sql', ['schema row-level security']);
  await s.dst.query(`DROP POLICY tenant_isolation ON notes; ALTER TABLE notes DISABLE ROW LEVEL SECURITY;`);
  const r = await verifyInProcess(s);
  expect(failedNames(r), describe(r)).toEqual(['schema row-level security']);
  const body = bodyOf(r, 'schema row-level security');
  // The policy as pg_dump renders it; the row-security flag as the catalog states it (and pg_dump's entry for it).
  expect(body).toMatch(/POLICY public\.notes tenant_isolation missing on target/);
  expect(body).toMatch(
    /table public\.notes row security disabled, not forced on the target but enabled, not forced on the source/,
  );
  expect(body).toMatch(/ROW SECURITY public\.notes missing on target/);
});
