/**
 * Writes to a marked rehearsal copy that its write counters cannot see (issue 26, attack E6), on real clusters:
 * (i) an application's large object created after the restore; (ii) a superuser session with `SET track_counts = off`
 * updating a restored row. `DST_DROP_SCHEMA=1` is refused (exit 2) naming what was written, and the data is still
 * there; a clean repeat rehearsal is still accepted with `DST_DROP_SCHEMA=1` (a false red would be a defect too; the
 * source has a materialized view that was never populated, which the probe cannot read and need not); a
 * target too big for the row probe's budget is refused, never waved through (lib/phases/write-probe.ts).
 *
 * In-process (test/helpers/pipeline.ts): the copies are the rehearsal's own copy steps (lib/phases/pipeline.ts
 * copySteps, whose restore leaves the marker: lib/phases/restore-marker.ts markRestore), the refusals are the
 * preflight gate every run passes first (lib/phases/preflight-gate.ts; a refusal there is the run's exit 2). What only
 * a whole run shows of a marker refusal (its exit 2 through the CLI, the target untouched) is
 * test/integration/repeat-marker.test.ts "PGOPTIONS…".
 */
import fs from 'node:fs';
import { expect, test } from 'vitest';
import { parseConfig } from '../../lib/core/config.ts';
import { withConnection } from '../../lib/core/db.ts';
import { previewDrop } from '../../lib/phases/guards.ts';
import { parseMarkerComment } from '../../lib/phases/marker.ts';
import type { PhaseResult } from '../../lib/phases/phase-types.ts';
import { largeObjectsSince, rowsNewerThanMarker } from '../../lib/phases/write-probe.ts';
import { describe, failedNames } from '../helpers/family.ts';
import { copyInProcess, familiesOn, preflightOnly, statuses } from '../helpers/pipeline.ts';
import { tempDir } from '../helpers/scenario.ts';
import { freshDb, type TestDb } from '../helpers/sandbox.ts';

const SOURCE = `
CREATE TABLE public.users (id int PRIMARY KEY, email text NOT NULL);
INSERT INTO public.users SELECT g, 'u' || g || '@example.invalid' FROM generate_series(1, 40) g;
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (id int PRIMARY KEY, total numeric(10,2));
INSERT INTO billing.invoices SELECT g, g * 1.5 FROM generate_series(1, 60) g;
-- Never populated (pagila's rental_by_category): it holds no row versions, so the row probe cannot read it and need
-- not (a false red on every repeat rehearsal of pagila before).
CREATE MATERIALIZED VIEW billing.invoice_totals AS SELECT sum(total) AS s FROM billing.invoices WITH NO DATA;`;

async function setUp() {
  const src = await freshDb('source');
  await src.query(SOURCE);
  const dst = await freshDb('target');
  const tmp = tempDir('rehearsal-e6-');
  fs.mkdirSync(`${tmp}/dst-data`);
  const env = {
    SRC_DATABASE_URL: src.url,
    DST_DATABASE_URL: dst.url,
    DST_ASSETS_DIR: `${tmp}/dst-data`,
    ASSET_COLUMNS: '',
    HEALTH_CHECK: '0',
    WORK_DIR: `${tmp}/work`,
    REPORTS_DIR: `${tmp}/reports`,
  };
  return { src, dst, env };
}

const count = async (db: TestDb, sql: string) => Number((await db.query(sql)).rows[0].n);

/**
 * A copy of `env` that ran through (preflight accepted, the restore committed and left its marker; no mirror phase:
 * no SRC_ASSETS_DIR) and is correct: the row counts of every table green, as the whole runs' `--select row-counts` were.
 */
async function expectCopied(env: Record<string, string>): Promise<void> {
  const phases = await copyInProcess(env);
  expect(statuses(phases), JSON.stringify(phases, null, 2)).toEqual({ preflight: 'ok', dump: 'ok', restore: 'ok' });
  expect(phases.find((p) => p.name === 'restore')?.reason).toMatch(/; marked as a rehearsal copy$/);
  const counts = await familiesOn({ env, workDir: env.WORK_DIR }, ['row-counts']);
  expect(failedNames(counts), describe(counts)).toEqual([]);
  expect(counts.filter((o) => o.name.startsWith('row count ')).length).toBeGreaterThanOrEqual(2);
}

/** The preflight gate refused (the run's exit 2, before any write); its reason. */
function refusal(pre: PhaseResult): string {
  expect(pre, pre.reason).toMatchObject({ status: 'failed', rehearseExitCode: 2 });
  return pre.reason ?? '';
}

test('a large object created after the restore, then a track_counts=off UPDATE: DST_DROP_SCHEMA=1 refused (exit 2) naming each, data kept; a clean repeat is accepted', async () => {
  const { dst, env } = await setUp();
  await expectCopied(env);

  // (i) The application stores a document as a large object: no user table's counters move.
  const oid = (await dst.query("SELECT lo_from_bytea(0, 'live invoice pdf'::bytea)::text AS oid")).rows[0].oid;
  const lo = refusal(await preflightOnly({ ...env, DST_DROP_SCHEMA: '1' }));
  expect(lo).toMatch(/DST_DROP_SCHEMA=1 refused: .* was written since this tool restored it .*large objects/);
  expect(lo).toContain(`DST_DROP_SCHEMA=${dst.name}`);
  expect(await count(dst, `SELECT count(*) AS n FROM pg_largeobject_metadata WHERE oid = ${oid}`)).toBe(1);

  // The operator confirms by name: the copy is replaced (the large object goes, as the refusal said it would).
  await expectCopied({ ...env, DST_DROP_SCHEMA: dst.name });
  expect(await count(dst, `SELECT count(*) AS n FROM pg_largeobject_metadata WHERE oid = ${oid}`)).toBe(0);
  // A clean repeat rehearsal: nothing written since, DST_DROP_SCHEMA=1 is accepted (every probe ran and found nothing).
  await expectCopied({ ...env, DST_DROP_SCHEMA: '1' });

  // (ii) A superuser session with the statistics switched off updates a row: no counter moves.
  await dst.query(
    "SET track_counts = off; UPDATE public.users SET email = email || '.live' WHERE ctid = (SELECT min(ctid) FROM public.users)",
  );
  const marker = parseMarkerComment(
    (
      await dst.query("SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1", [
        dst.name,
      ])
    ).rows[0].c,
  ).marker!;
  const config = parseConfig(
    { DST_DATABASE_URL: dst.url, DST_ASSETS_DIR: env.DST_ASSETS_DIR },
    { mode: 'verify-only' },
  );
  const p = await previewDrop(config.dst, config);
  // The counters alone saw nothing: only the row probe names the table.
  expect(p.written).toEqual([expect.stringMatching(/^public\.users \(rows inserted or updated since the restore/)]);
  expect(marker.writes['public.users']).toBeDefined();
  const off = refusal(await preflightOnly({ ...env, DST_DROP_SCHEMA: '1' }));
  expect(off).toMatch(/was written since this tool restored it .*public\.users \(rows inserted or updated/);
  expect(await count(dst, "SELECT count(*) AS n FROM public.users WHERE email LIKE '%.live'")).toBe(1);

  // The row probe is bounded: a budget too small to read a table leaves it unproven, named, never waved through.
  const tiny = await withConnection(config.dst, (c) => rowsNewerThanMarker(c, marker.xid!, ['billing'], 0), config);
  expect(tiny.written).toEqual([]);
  expect(tiny.unproven).toEqual([{ table: 'billing.invoices', why: 'the probe budget ran out' }]);

  // A large object created with the statistics off is still seen, by its metadata row's transaction id.
  const probe = { xid: marker.xid!, largeObjects: marker.largeObjects };
  expect(await withConnection(config.dst, (c) => largeObjectsSince(c, probe), config)).toEqual([]);
  const hidden = await dst.query("SET track_counts = off; SELECT lo_from_bytea(0, 'x'::bytea)::text AS oid");
  const oid2 = (hidden as unknown as Array<{ rows: Array<{ oid: string }> }>)[1].rows[0].oid;
  expect(await withConnection(config.dst, (c) => largeObjectsSince(c, probe), config)).toEqual([
    `large objects (1 created or changed since the restore, e.g. oid ${oid2})`,
  ]);
}, 300_000);

test('re-run N3: a function, an enum and a domain made on the marked copy after the restore: DST_DROP_SCHEMA=1 refused naming each; none before (no false red)', async () => {
  const { dst, env } = await setUp();
  await expectCopied(env);
  const config = parseConfig(
    { DST_DATABASE_URL: dst.url, DST_ASSETS_DIR: env.DST_ASSETS_DIR },
    { mode: 'verify-only' },
  );
  // Clean: the restore's own functions and types (none here but the tables' row types) are not "since".
  expect((await previewDrop(config.dst, config)).written).toEqual([]);
  await dst.query(`CREATE FUNCTION public.hotfix_n3(a int) RETURNS int LANGUAGE sql AS 'SELECT a';
    CREATE TYPE public.mood AS ENUM ('ok', 'sad');
    CREATE DOMAIN billing.posint AS int CHECK (VALUE > 0)`);
  const p = await previewDrop(config.dst, config);
  expect(p.written).toEqual(
    expect.arrayContaining([
      'public.hotfix_n3(a integer) (function created or altered since the restore)',
      'public.mood (type created or altered since the restore)',
      'billing.posint (type created or altered since the restore)',
    ]),
  );
  // Not the array types that come with them, nor anything else.
  expect(p.written).toHaveLength(3);
  const refused = refusal(await preflightOnly({ ...env, DST_DROP_SCHEMA: '1' }));
  expect(refused).toMatch(/was written since this tool restored it .*public\.hotfix_n3\(a integer\) \(function/);
  expect(await count(dst, "SELECT count(*) AS n FROM pg_proc WHERE proname = 'hotfix_n3'")).toBe(1);
});
