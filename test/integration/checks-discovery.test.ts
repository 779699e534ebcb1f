/**
 * Discovery against real catalogs (in process, no CLI): which tables and relations, from which side, and the
 * deterministic asset sample.
 */
import { createHash } from 'node:crypto';
import { expect, test } from 'vitest';
import { parseConfig } from '../../lib/core/config.ts';
import { discoverPlan, relationDisplay } from '../../lib/checks/shared/discovery.ts';
import { displayTable } from '../../lib/core/ident.ts';
import { migrateByHand, scenario } from '../helpers/scenario.ts';

const config = (env: Record<string, string | undefined>) => parseConfig(env, { mode: 'verify-only' });

test('tables and declared relations come from the source: partitioned parents once, no partitions, other schemas qualified', async () => {
  const s = await scenario();
  await migrateByHand(s);
  await s.src.query(`
    CREATE SCHEMA app;
    CREATE TABLE app."Events" (id bigint, user_id bigint REFERENCES public.users(id), kind text, PRIMARY KEY (id, kind)) PARTITION BY LIST (kind);
    CREATE TABLE app.events_a PARTITION OF app."Events" FOR VALUES IN ('a');
    CREATE TABLE app.events_b PARTITION OF app."Events" FOR VALUES IN ('b');
  `);
  // A foreign key that failed to be created in the target is still discovered (from the source).
  await s.dst.query('ALTER TABLE ugc_assets DROP CONSTRAINT ugc_assets_user_id_fkey');
  const plan = await discoverPlan(config(s.env), { seed: 'x' });
  expect(plan.tablesFrom).toBe('source');
  expect(plan.relationsFrom).toBe('source');
  expect(plan.tables.map(displayTable)).toEqual([
    'app."Events"',
    'public.galleries',
    'public.gallery_items',
    'public.knowledge_bases',
    'public.knowledge_materials',
    'public.material_embeddings',
    'public.ugc_assets',
    'public.users',
  ]);
  expect(plan.relations.map(relationDisplay)).toEqual([
    'app."Events"(user_id) -> users(id)',
    'galleries(owner_id) -> users(id)',
    'gallery_items(owner_id, gallery_slug) -> galleries(owner_id, slug)',
    'knowledge_bases(owner_id) -> users(id)',
    'knowledge_materials(kb_id) -> knowledge_bases(id)',
    'material_embeddings(material_id) -> knowledge_materials(id)',
    'ugc_assets(user_id) -> users(id)',
  ]);
  expect(plan.relations.every((r) => r.origin === 'declared' && r.constraintName)).toBe(true);

  // Without a source, the target's catalog is all there is (and the dropped key is gone from it).
  const fromTarget = await discoverPlan(config({ ...s.env, SRC_DATABASE_URL: undefined }), { seed: 'x' });
  expect(fromTarget.tablesFrom).toBe('target');
  expect(fromTarget.tables.map(displayTable)).not.toContain('app."Events"');
  expect(fromTarget.relations.map(relationDisplay)).not.toContain('ugc_assets(user_id) -> users(id)');
});

test('VALIDATE_TABLES overrides the table list; ORPHAN_RELATIONS adds undeclared relations without repeating declared ones', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const plan = await discoverPlan(
    config({
      ...s.env,
      VALIDATE_TABLES: 'users, Ugc_Assets,users,"Odd Name"',
      ORPHAN_RELATIONS:
        'ugc_assets.user_id->users.id; gallery_items.owner_id+gallery_slug->galleries.owner_id+slug; ugc_assets.user_id->knowledge_bases.owner_id',
    }),
    { seed: 'x' },
  );
  expect(plan.tablesFrom).toBe('VALIDATE_TABLES');
  expect(plan.tables.map(displayTable)).toEqual(['public.users', 'public.ugc_assets', 'public."Odd Name"']);
  expect(plan.relations).toHaveLength(7);
  expect(plan.relations.filter((r) => r.origin === 'configured').map(relationDisplay)).toEqual([
    'ugc_assets(user_id) -> knowledge_bases(owner_id)',
  ]);
});

test('the asset sample is deterministic per seed, ordered by md5(seed || path), and never larger than ASSETS_SAMPLE_N', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const env = { ...s.env, ASSETS_SAMPLE_N: '5' };
  const a1 = await discoverPlan(config(env), { seed: 'seed-a' });
  const a2 = await discoverPlan(config(env), { seed: 'seed-a' });
  const b = await discoverPlan(config(env), { seed: 'seed-b' });
  expect(a2.assetSample).toEqual(a1.assetSample);
  expect(a1.assetSample).toMatchObject({ seed: 'seed-a', perColumn: 5 });
  expect(b.assetSample.items).not.toEqual(a1.assetSample.items);
  for (const col of ['knowledge_materials.storage_path', 'ugc_assets.storage_path', 'gallery_items.storage_dir']) {
    expect(
      a1.assetSample.items.filter((i) => i.column === col),
      col,
    ).toHaveLength(5);
  }
  // The definition, recomputed in Node from every non-NULL value.
  const all = (
    await s.dst.query<{ p: string }>('SELECT storage_path AS p FROM knowledge_materials WHERE storage_path IS NOT NULL')
  ).rows.map((r) => r.p);
  const md5 = (v: string) =>
    createHash('md5')
      .update('seed-a' + v)
      .digest('hex');
  const expected = all
    .sort((x, y) => (md5(x) < md5(y) ? -1 : md5(x) > md5(y) ? 1 : Buffer.compare(Buffer.from(x), Buffer.from(y))))
    .slice(0, 5);
  expect(
    a1.assetSample.items.filter((i) => i.column === 'knowledge_materials.storage_path').map((i) => i.value),
  ).toEqual(expected);
  expect(a1.assetColumns.map((c) => [c.display, c.kind, c.exists])).toEqual([
    ['knowledge_materials.storage_path', 'file', true],
    ['ugc_assets.storage_path', 'file', true],
    ['gallery_items.storage_dir', 'dir', true],
  ]);
});

test('a path stored in many rows counts once: the sample still holds ASSETS_SAMPLE_N distinct paths, in the same order', async () => {
  const s = await scenario();
  await migrateByHand(s);
  // 500 rows share each of the 3 paths with the smallest hashes for this seed, crowding the bounded read.
  const all = (await s.dst.query<{ p: string }>('SELECT storage_path AS p FROM ugc_assets')).rows.map((r) => r.p);
  const md5 = (v: string) =>
    createHash('md5')
      .update('seed-d' + v)
      .digest('hex');
  const order = (x: string, y: string) =>
    md5(x) < md5(y) ? -1 : md5(x) > md5(y) ? 1 : Buffer.compare(Buffer.from(x), Buffer.from(y));
  const distinct = [...new Set(all)].sort(order);
  await s.dst.query(
    `INSERT INTO ugc_assets (user_id, storage_path) SELECT 1, p FROM unnest($1::text[]) p CROSS JOIN generate_series(1, 500)`,
    [distinct.slice(0, 3)],
  );
  const plan = await discoverPlan(
    config({ ...s.env, ASSETS_SAMPLE_N: '5', ASSET_COLUMNS: 'ugc_assets.storage_path:file' }),
    { seed: 'seed-d' },
  );
  expect(plan.assetSample.items.map((i) => i.value)).toEqual(distinct.slice(0, 5));
});

test('an unreachable source fails discovery with a message naming the database, never the password', async () => {
  const s = await scenario();
  const url = s.env.SRC_DATABASE_URL.replace(/:(\d+)\//, ':1/');
  const err = await discoverPlan(config({ ...s.env, SRC_DATABASE_URL: url, CONNECT_TIMEOUT_MS: '2000' }), {
    seed: 'x',
  }).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err?.message).toMatch(/cannot connect to .*:1\//);
  expect(err?.message).not.toContain(s.password);
});
