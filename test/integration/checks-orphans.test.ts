/**
 * Seeded orphan faults on a correct hand-made copy, the families run in-process against the real clusters
 * (test/helpers/family.ts): a foreign key dropped in the target plus an orphan row, a composite-key orphan (next to a
 * NULL key, which MATCH SIMPLE does not count), an undeclared relation from ORPHAN_RELATIONS; plus, hitting other
 * checks, a deleted row and a health endpoint that answers too late. Exactly those checks go red, naming the culprit.
 */
import { expect, test } from 'vitest';
import { evidenceOf, expectFailures, runFamilies } from '../helpers/family.ts';
import { migrateByHand, scenario } from '../helpers/scenario.ts';

test('dropped FK + orphan, composite orphan, undeclared relation, deleted row, slow health endpoint: exactly those checks fail', async () => {
  const s = await scenario();
  await migrateByHand(s);
  await s.dst.query(`
    ALTER TABLE knowledge_materials DROP CONSTRAINT knowledge_materials_kb_id_fkey;
    UPDATE knowledge_materials SET kb_id = 999999 WHERE id = (SELECT min(id) FROM knowledge_materials);

    ALTER TABLE gallery_items DROP CONSTRAINT gallery_items_gallery_fkey;
    ALTER TABLE gallery_items ALTER COLUMN gallery_slug DROP NOT NULL;
    UPDATE gallery_items SET gallery_slug = 'no-such-gallery' WHERE id = 1;
    UPDATE gallery_items SET owner_id = 999999, gallery_slug = NULL WHERE id = 2;

    UPDATE knowledge_bases SET owner_id = 8 WHERE owner_id = 7;

    DELETE FROM material_embeddings WHERE material_id = (SELECT max(material_id) FROM material_embeddings);
  `);
  s.health.setDelay(5000); // and a health endpoint slower than HEALTH_TIMEOUT_MS
  const outcomes = await runFamilies(s, ['row-counts', 'orphans', 'health'], {
    env: { ORPHAN_RELATIONS: 'ugc_assets.user_id->knowledge_bases.owner_id', HEALTH_TIMEOUT_MS: '500' },
  });
  expectFailures(outcomes, {
    'orphans knowledge_materials(kb_id) -> knowledge_bases(id)':
      /expected 0 rows of knowledge_materials whose key has no knowledge_bases row, found 1; example keys \(kb_id\): \(999999\)/,
    'orphans gallery_items(owner_id, gallery_slug) -> galleries(owner_id, slug)':
      /found 1; example keys \(owner_id, gallery_slug\): \(1, no-such-gallery\)$/,
    'orphans ugc_assets(user_id) -> knowledge_bases(owner_id)': /found 2; example keys \(user_id\): \(7\); \(7\)/,
    'health GET /health':
      /health GET http:\/\/127\.0\.0\.1:\d+\/health: expected a 2xx answer, got no answer within HEALTH_TIMEOUT_MS=500 ms \(timed out\)/,
    'row count public.material_embeddings':
      /table public\.material_embeddings: expected the target to have 90 rows like the source \(ROWCOUNT_MAX_DIFF 0\), it has 89 \(difference -1\)/,
  });
  expect(evidenceOf(outcomes, 'orphans ugc_assets(user_id) -> knowledge_bases(owner_id)')).toContain(
    'configured in ORPHAN_RELATIONS, checked in the target',
  );
  expect(evidenceOf(outcomes, 'orphans knowledge_materials(kb_id) -> knowledge_bases(id)')[0]).toMatch(
    /declared foreign key knowledge_materials_kb_id_fkey \(read from the source\)/,
  );
  expect(evidenceOf(outcomes, 'orphans ugc_assets(user_id) -> users(id)').join('\n')).toMatch(/^0 orphan row/m);
});
