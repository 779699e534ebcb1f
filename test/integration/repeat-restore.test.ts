/**
 * Repeat rehearsals of a database with ≥ 10,000 rows per table (issue 24): with DST_DROP_SCHEMA=1 the restore is
 * `pg_restore --file=- | psql` in one transaction, ended by a `\echo <marker>` that psql must reach before COMMIT.
 * The marker may only follow the LAST byte of the script: written when pg_restore exits, it used to land inside a
 * COPY still in the pipe (`COPY track, line 3219: invalid input syntax for type integer: ""`). Ten restores in a row
 * through the restore pipeline itself, then two through the real CLI.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect, test } from 'vitest';
import { parseConfig } from '../../lib/core/config.ts';
import { libpqEnv, parseDsn } from '../../lib/core/dsn.ts';
import { DROP_PUBLIC_SQL, pgRestoreViaPsql, restoreMode, restorePipeline } from '../../lib/phases/restore-commands.ts';
import { phaseStatuses, rehearse, scenario, tempDir } from '../helpers/scenario.ts';
import { freshDb, type TestDb } from '../helpers/sandbox.ts';

/** Rows per table: more than pg_restore's pipe and node's stream buffers hold, so pg_restore exits before psql has read it all. */
const ROWS = 12_000;
const TABLES = ['artist', 'album', 'track', 'zz_slow'];

/**
 * The tables, and a last one whose every row costs the server some work (a CHECK calling a plpgsql loop), so psql falls
 * behind pg_restore at the end of the script: pg_restore exits while the last COPY's rows still wait in the pipe.
 */
async function bigTables(db: TestDb): Promise<void> {
  await db.query(`CREATE FUNCTION public.slow_ok(n int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE s bigint := 0; BEGIN FOR i IN 1..300 LOOP s := s + i; END LOOP; RETURN n > 0; END $$;`);
  for (const t of TABLES)
    await db.query(`CREATE TABLE public.${t} (id int PRIMARY KEY ${t === 'zz_slow' ? 'CHECK (public.slow_ok(id))' : ''},
      name text NOT NULL, ref int, price numeric(10,2));
      INSERT INTO public.${t} SELECT g, repeat(md5(g::text), ${t === 'zz_slow' ? 40 : 3}), CASE WHEN g % 7 = 0 THEN NULL ELSE g % 997 END, g / 100.0
      FROM generate_series(1, ${ROWS}) g;`);
}

/**
 * A tail of the script that psql reads only after a slow statement: the first index (by name) runs the slow function
 * over every row, and 300 commented indexes on an empty table follow it (≈ 100 kB of SQL). pg_restore writes that
 * tail into the pipe and exits while psql is still building the slow index, so the tail is not yet consumed then.
 */
async function slowTail(db: TestDb): Promise<void> {
  await db.query(`CREATE INDEX aa_slow_idx ON public.zz_slow ((public.slow_ok(id)));
    CREATE TABLE public.zz_many (${Array.from({ length: 10 }, (_, i) => `c${i} int`).join(', ')});
    DO $$ BEGIN FOR i IN 1..300 LOOP
      EXECUTE format('CREATE INDEX zz_many_idx_%s ON public.zz_many (c%s, c%s)', i, i % 10, (i + 3) % 10);
      EXECUTE format('COMMENT ON INDEX public.zz_many_idx_%s IS %L', i, repeat('tail of the script ', 10) || i);
    END LOOP; END $$;`);
}

async function indexComments(db: TestDb): Promise<number> {
  return Number(
    (
      await db.query(`SELECT count(*) AS n FROM pg_catalog.pg_class c
        WHERE c.relname LIKE 'zz\\_many\\_idx\\_%' AND pg_catalog.obj_description(c.oid, 'pg_class') IS NOT NULL`)
    ).rows[0].n,
  );
}

async function counts(db: TestDb): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) out[t] = Number((await db.query(`SELECT count(*) AS n FROM public.${t}`)).rows[0].n);
  return out;
}

const expected = Object.fromEntries(TABLES.map((t) => [t, ROWS]));

test('DST_DROP_SCHEMA=1: ten restores in a row of 4 × 12,000 rows through pg_restore | psql are all committed whole', async () => {
  const src = await freshDb('source');
  const dst = await freshDb('target');
  await bigTables(src);
  await slowTail(src);
  const archive = path.join(tempDir(), 'source.dump');
  execFileSync('pg_dump', ['--format=custom', '--no-owner', '--no-acl', `--file=${archive}`], {
    env: { PATH: process.env.PATH ?? '', ...libpqEnv(parseDsn(src.url)) },
  });
  const config = parseConfig(
    { DST_DATABASE_URL: dst.url, DST_DROP_SCHEMA: '1', DST_ASSETS_DIR: tempDir() },
    { mode: 'verify-only' },
  );
  const mode = restoreMode(config);
  expect(mode).toBe('single-transaction-with-drop');
  const { render, apply } = restorePipeline(config, archive);
  for (let i = 1; i <= 10; i++) {
    // Before the fix a restore never finished (the tail was written after psql's stdin had ended): bound each one.
    const r = await Promise.race([
      pgRestoreViaPsql(render, apply, DROP_PUBLIC_SQL, mode, { phase: 'restore' }),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`restore #${i} did not finish within 60 s`)), 60_000).unref(),
      ),
    ]);
    expect(r.code, `restore #${i}`).toBe(0);
    expect(await counts(dst), `restore #${i}`).toEqual(expected);
    expect(await indexComments(dst), `restore #${i}`).toBe(300);
  }
}, 700_000);

test('the real CLI: a first rehearsal and two repeats with DST_DROP_SCHEMA=1 of 4 × 12,000 rows are green', async () => {
  const s = await scenario();
  await bigTables(s.src);
  // The row-counts family judges each copy (every table's rows, exactly); the other families have their own tests.
  const first = await rehearse(['--select', 'row-counts'], { ...s.env, CHECKSUM: 'off' });
  expect(first.code, first.output).toBe(0);
  for (let i = 1; i <= 2; i++) {
    const r = await rehearse(['--select', 'row-counts'], { ...s.env, CHECKSUM: 'off', DST_DROP_SCHEMA: '1' });
    expect(r.code, `repeat #${i}: ${r.output}`).toBe(0);
    expect(phaseStatuses(s)).toMatchObject({ restore: 'ok' });
    expect(await counts(s.dst)).toEqual(expected);
  }
}, 600_000);
