/**
 * A DST_DROP_SCHEMA restore (the pg_restore | psql path) that fails at its first statement while a big table is still
 * streaming out of pg_restore: the phase fails (exit 3) with the server's error in its reason (what the console's
 * FAILED line and the summary's restore line print), and the target stays exactly as it was. The copy runs
 * in-process (test/helpers/pipeline.ts: the steps a rehearsal's global setup runs); the bug it guards against was a
 * hang of the restore step itself, which an in-process copy shows as this test's timeout. The CLI's exit 3 path is a
 * whole run elsewhere (phases-guards).
 */
import { expect, test } from 'vitest';
import { copyInProcess, statuses } from '../helpers/pipeline.ts';
import { catalogSnapshot, scenario } from '../helpers/scenario.ts';

test('DST_DROP_SCHEMA: an event trigger refusing CREATE TABLE while a big table streams fails the restore (exit 3) with the cause, target rolled back', async () => {
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
  // Before the fix: pg_restore's unread output kept the restore waiting forever (a whole run: vitest exited with its
  // global setup unfinished, exit 1, "vitest did not finish reporting", the cause only in restore.log).
  const phases = await copyInProcess({
    ...s.env,
    SRC_ASSETS_DIR: undefined,
    DST_DROP_SCHEMA: s.dst.name,
    CHECKSUM: 'off',
  });
  expect(statuses(phases), JSON.stringify(phases)).toEqual({ preflight: 'ok', dump: 'ok', restore: 'failed' });
  const restore = phases.find((p) => p.name === 'restore')!;
  expect(restore.rehearseExitCode).toBe(3);
  // The summary prints this reason on the restore's line: ROLLED BACK on its first line, then the server's error.
  expect(restore.reason).toMatch(/^[^\n]*ROLLED BACK[\s\S]*ERROR: +creating tables is not allowed here/);
  expect(await catalogSnapshot(s.dst)).toEqual(before);
}, 120_000);
