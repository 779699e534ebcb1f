/**
 * Orphans: one test per relation (`orphans ugc_assets(user_id) -> users(id)`): every foreign key declared in the source
 * (else the target) plus ORPHAN_RELATIONS, checked in the target with a NOT EXISTS anti-join (MATCH SIMPLE: a key
 * with a NULL is not an orphan). This catches foreign keys whose creation failed during the restore.
 *
 * The same check runs on the source: an orphan whose key the source has too is a defect the source already has, not a
 * migration failure. The evidence says "in source N, in target M, new K"; only new ones fail, pre-existing ones are a
 * warning (PREEXISTING_DEFECTS_FAIL=1 makes them fail).
 */
import { afterAll, test } from 'vitest';
import { checkConfig, rehearsalContext, whyNotChecked } from '../lib/checks/shared/context.ts';
import { failNotChecked } from '../lib/checks/shared/verdict.ts';
import { closePools, dbErrorMessage, getPool, withClient } from '../lib/core/db.ts';
import { whyMissing } from '../lib/core/configured-subjects.ts';
import { relationDisplay } from '../lib/checks/shared/discovery.ts';
import { displayIdent, displayTable } from '../lib/core/ident.ts';
import { newOrphansQuery, orphanKeyListQuery, orphanKeysQuery } from '../lib/checks/shared/sql.ts';
import { writeFullList } from '../lib/checks/shared/full-list.ts';
import { withPinned } from '../lib/checks/shared/deep-context.ts';
import { warn } from '../lib/checks/shared/verdict.ts';

const ctx = rehearsalContext();
const config = checkConfig();
afterAll(closePools);

/** `["2","nope"]` → `(2, nope)`; NULL shows as NULL. */
function formatKey(json: string): string {
  const parts = JSON.parse(json) as Array<string | null>;
  return `(${parts.map((p) => (p === null ? 'NULL' : p)).join(', ')})`;
}

if (!ctx.plan) {
  test('orphans (not checked)', () => failNotChecked(whyNotChecked(ctx)!));
} else if (ctx.plan.relations.length === 0) {
  test.skip(`orphans (no foreign keys declared in the ${ctx.plan.relationsFrom ?? 'database'} and no ORPHAN_RELATIONS)`, () => {});
} else {
  for (const rel of ctx.plan.relations) {
    const name = relationDisplay(rel);
    test.concurrent(`orphans ${name}`, async ({ annotate, expect }) => {
      const blocked = whyNotChecked(ctx);
      if (blocked) failNotChecked(blocked);
      await annotate(
        rel.origin === 'declared'
          ? `declared foreign key ${rel.constraintName ?? ''} (read from the ${ctx.plan!.relationsFrom ?? 'catalog'}), checked in the target`
          : 'configured in ORPHAN_RELATIONS, checked in the target',
        'evidence',
      );
      // A relation from ORPHAN_RELATIONS that does not exist is a configuration error, named as such.
      if (rel.origin === 'configured') {
        const dstPool = getPool(config.dst, {
          max: config.checkConcurrency,
          connectTimeoutMs: config.connectTimeoutMs,
        });
        const why = await withClient(dstPool, async (c) => {
          for (const [t, cols] of [
            [rel.child, rel.childColumns],
            [rel.parent, rel.parentColumns],
          ] as const)
            for (const col of cols) {
              const w = await whyMissing(c, t, col, 'target');
              if (w) return `ORPHAN_RELATIONS names ${displayTable(t)}.${displayIdent(col)}, but ${w}`;
            }
          return undefined;
        }).catch(() => undefined);
        if (why) return expect.fail(`orphans ${name}: ${why}; fix ORPHAN_RELATIONS`);
      }
      // The source's orphans first (same rule, same key text form): what the target has beyond them is new.
      let known: string[] | undefined;
      let srcOrphans = 0;
      let sourceNote: string;
      if (!config.src) sourceNote = 'no source configured: every orphan in the target counts as new';
      else {
        const kq = orphanKeysQuery(rel);
        try {
          const src = await withPinned(
            getPool(config.src, { max: config.checkConcurrency, connectTimeoutMs: config.connectTimeoutMs }),
            async (c) =>
              (await c.query<{ orphans: string; distinct_keys: number; keys: string[] | null }>(kq.text, kq.values))
                .rows[0],
          );
          known = src.keys ?? [];
          srcOrphans = Number(src.orphans);
          sourceNote = `${src.orphans} orphan row(s) in the source${src.distinct_keys > known.length ? ` (only the first ${known.length} of ${src.distinct_keys} keys are told apart: orphans beyond them count as new)` : ''}`;
        } catch (e) {
          sourceNote = `could not check the source (${dbErrorMessage(config.src, e)}): every orphan in the target counts as new`;
        }
      }
      const pool = getPool(config.dst, { max: config.checkConcurrency, connectTimeoutMs: config.connectTimeoutMs });
      const q = newOrphansQuery(rel, known ?? []);
      const t0 = performance.now();
      let row: { orphans: string; new_orphans: string; new_examples: string[] | null; old_examples: string[] | null };
      try {
        row = await withPinned(pool, async (c) => (await c.query<typeof row>(q.text, q.values)).rows[0]);
      } catch (e) {
        return expect.fail(`orphans ${name}: cannot check in the target: ${dbErrorMessage(config.dst, e)}`);
      }
      const orphans = Number(row.orphans);
      const fresh = Number(row.new_orphans);
      const old = orphans - fresh;
      const keys = `(${rel.childColumns.map(displayIdent).join(', ')})`;
      const examples = (row.new_examples ?? []).map(formatKey);
      const oldExamples = (row.old_examples ?? []).map(formatKey);
      await annotate(`${orphans} orphan row(s) in the target (${Math.round(performance.now() - t0)} ms)`, 'evidence');
      await annotate(sourceNote, 'evidence');
      await annotate(
        known
          ? `orphans: in source ${srcOrphans}, in target ${orphans}, new ${fresh}`
          : `orphans: in target ${orphans}, new ${fresh} (source not compared)`,
        'evidence',
      );
      if (examples.length) await annotate(`example keys ${keys}: ${examples.join('; ')}`, 'evidence');
      if (orphans > 0) {
        // The complete list (to repair or re-sync from), each line `<table> <key>`.
        const all = orphanKeyListQuery(rel, config.fullListMax);
        const keysAll = (await pool.query<{ key: string }>(all.text, all.values)).rows.map(
          (r) => `${displayTable(rel.child)} ${formatKey(r.key)}`,
        );
        await writeFullList(annotate, `orphans ${name}`, `orphan rows: <child table> ${keys}`, keysAll, {
          max: config.fullListMax,
          total: orphans,
        });
      }
      if (old > 0) {
        const pre = `${old} orphan row(s) already in the source, e.g. keys ${keys}: ${oldExamples.join('; ')}`;
        if (config.preexistingDefectsFail)
          return expect.fail(`orphans ${name}: ${pre}; failing because PREEXISTING_DEFECTS_FAIL=1`);
        await warn(
          annotate,
          `orphans ${name}: ${pre}: not a migration failure (PREEXISTING_DEFECTS_FAIL=1 makes it fail)`,
        );
      }
      if (fresh > 0) {
        expect.fail(
          `orphans ${name}: expected 0 rows of ${rel.child.name} whose key has no ${rel.parent.name} row, found ${fresh}` +
            `${old ? ` new (besides ${old} already in the source)` : ''}; example keys ${keys}: ${examples.join('; ')}`,
        );
      }
    });
  }
}
