/**
 * The deeper checks (issue 7), each family run in-process against the real clusters (test/helpers/family.ts): a
 * correct copy by hand, one seeded fault per check, and exactly the right check must be red with a message naming the
 * culprit. Faults that hit different checks share one copy. The whole-run side (exit code 1, junit.xml, reports) is
 * proven by the CLI tests (checks-clean, checks-orphans, cases/).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { evaluate, type Outcome } from '../../lib/checks/family.ts';
import { familyById } from '../../lib/checks/registry.ts';
import {
  describe,
  failedNames,
  failureOf,
  outcome,
  scenarioContext,
  type InProcessOptions,
} from '../helpers/family.ts';
import { migrateByHand, scenario, type Scenario } from '../helpers/scenario.ts';

/** The deep families: checksums, schema parity, sequences, pgvector, asset census. */
const MINE = ['checksums', 'schema-parity', 'sequences', 'pgvector', 'asset-census'];

async function run(s: Scenario, env: InProcessOptions['env'] = {}) {
  const ctx = await scenarioContext(s, { env });
  const outcomes: Outcome[] = [];
  for (const id of MINE) outcomes.push(...(await evaluate(familyById(id), ctx)));
  return { outcomes, ctx, output: describe(outcomes) };
}

const find = outcome;
const failedMine = failedNames;
/** What JUnit's testcase body holds: the failure text, then every note (evidence, warnings, full lists). */
const body = (o: Outcome[], name: string) =>
  [failureOf(o, name), ...outcome(o, name).notes.map((n) => n.message)].join('\n');
const warnings = (o: Outcome[], name: string) => outcome(o, name).warnings.join('\n');

/** A table of values whose text forms depend on session settings, identical on both sides. */
const EDGE_TABLE = `
CREATE TABLE edge_values (
  id int PRIMARY KEY, f4 float4, f8 float8, ts timestamptz, tsz timestamp, iv interval, j jsonb, js json, v vector(3),
  b bytea, t text, n numeric, arr float8[], m money
);
INSERT INTO edge_values VALUES
  (1, 'NaN', 'Infinity', '2024-02-29 23:59:59.999999+14', '1999-12-31 23:59:59.5', '1 year 2 mons -3 days 04:05:06.7',
   '{"b": [1, 2.50, {"x": null}], "a": "é"}', '{"b": 1,  "a": 2}', '[0.1,-0.0,3.4028235e38]', '\\x00ff10', 'Zoë 🚀 用户', 1.10, '{0.1,-0,1e-308}', 12.34),
  (2, '-Infinity', '-0', '0001-01-01 00:00:00+00', 'infinity', '-178000000 years', '[]', 'null', '[1e-45,1,2]', '', '', 'NaN', '{}', -0.01),
  (3, 1.17549435e-38, 2.2250738585072014e-308, '-infinity', '2038-01-19 03:14:08', '0', '"\\u00e9"', '"\\u00e9"', '[1,2,3]', NULL, NULL, NULL, NULL, NULL),
  (4, 0.1, 0.30000000000000004, '2024-06-01 12:00:00.000001-07:30', NULL, NULL, '{"k": 1e400}', NULL, NULL, '\\x', 'tab\\tnew
line', 123456789012345678901234567890.123456789, '{NULL}', NULL);
`;

test('clean copy: every deep check is green, including a float/timestamp/jsonb/vector/bytea/NULL/unicode table under different target defaults', async () => {
  const s = await scenario();
  await s.src.query(EDGE_TABLE);
  await migrateByHand(s);
  // The target server's defaults differ in every setting that shapes a text form: the checks must pin their own.
  await s.dst.query(`ALTER DATABASE "${s.dst.name}" SET TimeZone = 'Asia/Kolkata'`);
  await s.dst.query(`ALTER DATABASE "${s.dst.name}" SET DateStyle = 'SQL, DMY'`);
  await s.dst.query(`ALTER DATABASE "${s.dst.name}" SET extra_float_digits = -3`);
  await s.dst.query(`ALTER DATABASE "${s.dst.name}" SET bytea_output = 'escape'`);
  await s.dst.query(`ALTER DATABASE "${s.dst.name}" SET IntervalStyle = 'sql_standard'`);
  const r = await run(s);
  expect(failedMine(r.outcomes), r.output).toEqual([]);
  for (const n of [
    'checksum public.edge_values',
    'checksum public.users',
    'checksum public.gallery_items',
    'schema indexes',
    'schema constraints',
    'schema triggers',
    'schema views and materialized views',
    'schema functions',
    'schema extensions',
    'schema sequences',
    'schema tables and columns',
    'sequence public.users_id_seq (public.users.id)',
    'pgvector extension version',
    'pgvector public.material_embeddings.embedding',
    'asset census knowledge_materials.storage_path',
    'asset census gallery_items.storage_dir',
    'asset census unreferenced files under DST_ASSETS_DIR',
    'asset census sampled files size and sha256 (source = target)',
  ]) {
    expect(find(r.outcomes, n).verdict?.status, n).toBe('pass');
  }
});

test('seeded faults, one per check: changed value, dropped index, NOT VALID constraint, disabled trigger, unpopulated matview, reset sequence, vector dims; an unreferenced file only warns', async () => {
  const s = await scenario();
  await s.src.query(`
    CREATE FUNCTION touch_user() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.display_name := coalesce(NEW.display_name, ''); RETURN NEW; END $$;
    CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch_user();
    CREATE TABLE loose_vectors (id int PRIMARY KEY, v vector);
    INSERT INTO loose_vectors SELECT g, ('[' || g || ',1,2]')::vector FROM generate_series(1, 20) g;`);
  await migrateByHand(s);
  const viewdef = (await s.dst.query(`SELECT pg_get_viewdef('user_asset_counts'::regclass) AS d`)).rows[0].d;
  await s.dst.query(`
    UPDATE knowledge_bases SET title = title || ' (edited)' WHERE id = 7;
    DROP INDEX ugc_assets_user_id_idx;
    ALTER TABLE knowledge_materials DROP CONSTRAINT knowledge_materials_kb_id_fkey;
    ALTER TABLE knowledge_materials ADD CONSTRAINT knowledge_materials_kb_id_fkey FOREIGN KEY (kb_id) REFERENCES knowledge_bases(id) NOT VALID;
    ALTER TABLE users DISABLE TRIGGER users_touch;
    DROP MATERIALIZED VIEW user_asset_counts;
    CREATE MATERIALIZED VIEW user_asset_counts AS ${viewdef.replace(/;\s*$/, '')} WITH NO DATA;
    SELECT setval('knowledge_bases_id_seq', 1, false);
    UPDATE loose_vectors SET v = '[1,2]' WHERE id = 2;`);
  fs.writeFileSync(path.join(s.dstAssets, 'ugc', 'stray upload.bin'), 'nobody references me');
  const r = await run(s);
  expect(failedMine(r.outcomes), r.output).toEqual([
    'checksum public.knowledge_bases',
    'checksum public.loose_vectors',
    'pgvector public.loose_vectors.v',
    'schema constraints',
    'schema indexes',
    'schema triggers',
    'schema views and materialized views',
    'sequence public.knowledge_bases_id_seq (public.knowledge_bases.id)',
  ]);
  expect(body(r.outcomes, 'checksum public.knowledge_bases')).toMatch(/differing keys: id=7 \(changed\)/);
  expect(body(r.outcomes, 'checksum public.knowledge_bases')).toMatch(/first differing key ranges: id in \[7, 7\]/);
  expect(body(r.outcomes, 'checksum public.loose_vectors')).toMatch(/id=2 \(changed\)/);
  expect(body(r.outcomes, 'schema indexes')).toMatch(/INDEX public\.ugc_assets_user_id_idx missing on target/);
  expect(body(r.outcomes, 'schema constraints')).toMatch(
    /public\.knowledge_materials\.knowledge_materials_kb_id_fkey NOT VALID on the target but validated on the source/,
  );
  expect(body(r.outcomes, 'schema triggers')).toMatch(
    /public\.users\.users_touch disabled on the target but enabled on the source/,
  );
  expect(body(r.outcomes, 'schema views and materialized views')).toMatch(
    /public\.user_asset_counts not populated on the target but populated on the source/,
  );
  expect(body(r.outcomes, 'sequence public.knowledge_bases_id_seq (public.knowledge_bases.id)')).toMatch(
    /next value 1 &lt;= max\(column\) 30|next value 1 <= max\(column\) 30/,
  );
  expect(body(r.outcomes, 'pgvector public.loose_vectors.v')).toMatch(/vector_dims: source 3\.\.3, target 2\.\.3/);
  const tree = 'asset census unreferenced files under DST_ASSETS_DIR';
  expect(find(r.outcomes, tree).verdict?.status).toBe('pass');
  expect(warnings(r.outcomes, tree)).toMatch(/1 of \d+ files .* ugc\/stray upload\.bin/);
  // The false-positive guard: untouched tables stay green.
  expect(find(r.outcomes, 'checksum public.users').verdict?.status).toBe('pass');
});

test('seeded asset faults with ASSETS_SAMPLE_N=1: dangling references outside the sample, an unreferenced file (ASSETS_UNREFERENCED_FAIL=1), same-size different bytes; an invalid index; CHECKSUM=off skips visibly', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const gone = ['knowledge/4/10-report.pdf', 'knowledge/5/13-report.pdf'];
  for (const g of gone) fs.rmSync(path.join(s.dstAssets, g));
  fs.writeFileSync(path.join(s.dstAssets, 'knowledge', 'left-over.tmp'), 'x');
  // Flip one byte of every ugc file: whichever one the sample picks has the same size and different bytes.
  for (const dir of fs.readdirSync(path.join(s.dstAssets, 'ugc'))) {
    for (const f of fs.readdirSync(path.join(s.dstAssets, 'ugc', dir))) {
      const p = path.join(s.dstAssets, 'ugc', dir, f);
      const b = fs.readFileSync(p);
      b[0] ^= 0xff;
      fs.writeFileSync(p, b);
      // A later mtime, whatever the clock's granularity (the copy and this change may fall in the same tick).
      const later = new Date(fs.statSync(p).mtimeMs + 60_000);
      fs.utimesSync(p, later, later);
    }
  }
  // A concurrent unique index build that hits duplicates leaves an invalid index behind.
  await expect(
    s.dst.query('CREATE UNIQUE INDEX CONCURRENTLY ugc_assets_user_uq ON ugc_assets (user_id)'),
  ).rejects.toThrow(/could not create unique index/);
  const r = await run(s, {
    ASSETS_SAMPLE_N: '1',
    ASSETS_SAMPLE_SEED: 'deep-checks',
    ASSETS_UNREFERENCED_FAIL: '1',
    CHECKSUM: 'off',
  });
  expect(failedMine(r.outcomes), r.output).toEqual([
    'asset census every file size, mtime (source = target)',
    'asset census knowledge_materials.storage_path',
    'asset census sampled files size and sha256 (source = target)',
    'asset census unreferenced files under DST_ASSETS_DIR',
    'schema indexes',
  ]);
  // every file, not just the sample: the deleted files and the flipped bytes (the copy's mtimes differ, so bytes decide)
  const every = body(r.outcomes, 'asset census every file size, mtime (source = target)');
  for (const g of gone) expect(every).toContain(`${g}: missing on the target`);
  expect(every).toMatch(/ugc\/\S+: same size \(\d+ B\), other mtime .* and different bytes/);
  const census = body(r.outcomes, 'asset census knowledge_materials.storage_path');
  expect(census).toMatch(/2 of 82 paths do not resolve/);
  for (const g of gone) expect(census).toContain(`/app/.data/${g} (expected a file, found nothing (missing))`);
  const sampled = new Set<string>(r.ctx.run.plan!.assetSample.items.map((i) => i.value));
  expect(gone.some((g) => !sampled.has(`/app/.data/${g}`))).toBe(true);
  expect(body(r.outcomes, 'asset census unreferenced files under DST_ASSETS_DIR')).toMatch(
    /1 of \d+ files .*knowledge\/left-over\.tmp/,
  );
  expect(body(r.outcomes, 'asset census sampled files size and sha256 (source = target)')).toMatch(
    /\/app\/\.data\/ugc\/.*same size \(\d+ B\) but different bytes/,
  );
  expect(body(r.outcomes, 'schema indexes')).toMatch(
    /public\.ugc_assets_user_uq invalid on the target \(indisvalid\/indisready false/,
  );
  expect(find(r.outcomes, 'checksums')).toMatchObject({ verdict: undefined, skipReason: 'CHECKSUM=off' });
});

test('without a source: comparisons are skipped visibly, target-only judgements still run and catch a reset sequence', async () => {
  const s = await scenario();
  await migrateByHand(s);
  await s.dst.query(`SELECT setval('users_id_seq', 1, false)`);
  const r = await run(s, { SRC_DATABASE_URL: undefined, SRC_ASSETS_DIR: undefined });
  expect(failedMine(r.outcomes), r.output).toEqual(['sequence public.users_id_seq (public.users.id)']);
  for (const name of ['checksums', 'schema functions'])
    expect(find(r.outcomes, name), name).toMatchObject({
      verdict: undefined,
      skipReason: 'SRC_DATABASE_URL is not set: nothing to compare the target with',
    });
  expect(body(r.outcomes, 'schema indexes')).toMatch(/source \(not configured: not compared\)/);
  expect(find(r.outcomes, 'asset census sampled files size and sha256 (source = target)')).toMatchObject({
    verdict: undefined,
    skipReason: 'SRC_ASSETS_DIR is not set: no local source to compare with',
  });
  expect(body(r.outcomes, 'sequence public.users_id_seq (public.users.id)')).toMatch(
    /next value 1 &lt;= max\(column\) 30|next value 1 <= max\(column\) 30/,
  );
});
