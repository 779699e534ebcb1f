/**
 * A DST_DROP_SCHEMA restore (the pg_restore | psql path) that fails at its first statement while a big table is still
 * streaming out of pg_restore: the phase fails (exit 3) with the server's error on the console and in the summary,
 * and the target stays exactly as it was.
 */
import { expect, test } from 'vitest';
import { catalogSnapshot, phaseStatuses, rehearse, scenario, stateOf } from '../helpers/scenario.ts';

test('DST_DROP_SCHEMA: an event trigger refusing CREATE TABLE while a big table streams gives exit 3 with the cause, target rolled back', async () => {
  const s = await scenario();
  // Big enough that pg_restore is still writing its COPY data when psql stops at the first CREATE TABLE.
  await s.src.query(
    `CREATE TABLE public.big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS pad FROM generate_series(1, 1000000) g`,
  );
  await s.dst.query(`CREATE TABLE public.old_stuff (id int); INSERT INTO public.old_stuff VALUES (1), (2)`);
  await s.dst.query(`CREATE SCHEMA guard; CREATE FUNCTION guard.no_tables() RETURNS event_trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'creating tables is not allowed here (event trigger no_tables)'; END $$`);
  await s.dst.query(
    `CREATE EVENT TRIGGER no_tables ON ddl_command_start WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION guard.no_tables()`,
  );
  // (In its own schema: the restore's DROP SCHEMA public CASCADE would take the trigger with it.)
  const before = await catalogSnapshot(s.dst);
  // Only the phases family: after a failed restore every other check is `not checked` anyway.
  const r = await rehearse(['--select', 'phases'], {
    ...s.env,
    SRC_ASSETS_DIR: undefined,
    DST_DROP_SCHEMA: s.dst.name,
    CHECKSUM: 'off',
  });
  // Before the fix: pg_restore's unread output kept the restore waiting forever, vitest exited with its global setup
  // unfinished (exit 1, "vitest did not finish reporting", the cause only in restore.log).
  expect(r.output, r.output).not.toMatch(/vitest did not finish reporting/);
  expect(r.code, r.output.slice(-6000)).toBe(3);
  expect(phaseStatuses(s)).toMatchObject({ preflight: 'ok', dump: 'ok', restore: 'failed' });
  const restore = stateOf(s)!.phases.find((p) => p.name === 'restore')!;
  expect(restore.reason).toMatch(/creating tables is not allowed here/);
  expect(restore.reason).toMatch(/ROLLED BACK/);
  const summary = r.output.slice(r.output.indexOf('── summary'));
  expect(summary).toMatch(/restore +failed[^\n]*ROLLED BACK[\s\S]*ERROR: +creating tables is not allowed here/);
  expect(await catalogSnapshot(s.dst)).toEqual(before);
});
