/**
 * Orphans: one test per relation (`orphans ugc_assets(user_id) -> users(id)`): every foreign key declared in the source
 * (else the target) plus ORPHAN_RELATIONS, checked in the target with a NOT EXISTS anti-join (MATCH SIMPLE: a key
 * with a NULL is not an orphan). This catches foreign keys whose creation failed during the restore.
 */
import { afterAll, test } from 'vitest';
import { checkConfig, rehearsalContext, whyNotChecked } from '../lib/checks/context.ts';
import { failNotChecked } from '../lib/checks/verdict.ts';
import { closePools, dbErrorMessage, getPool } from '../lib/core/db.ts';
import { relationDisplay } from '../lib/checks/discovery.ts';
import { displayIdent, displayTable } from '../lib/core/ident.ts';
import { orphanKeysQuery, orphanQuery } from '../lib/checks/sql/index.ts';
import { writeFullList } from '../lib/checks/full-list.ts';

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
      const pool = getPool(config.dst, { max: config.checkConcurrency, connectTimeoutMs: config.connectTimeoutMs });
      const q = orphanQuery(rel);
      const t0 = performance.now();
      let row: { orphans: string; examples: string[] | null };
      try {
        row = (await pool.query<{ orphans: string; examples: string[] | null }>(q.text, q.values)).rows[0];
      } catch (e) {
        return expect.fail(`orphans ${name}: cannot check in the target: ${dbErrorMessage(config.dst, e)}`);
      }
      const orphans = Number(row.orphans);
      const keys = `(${rel.childColumns.map(displayIdent).join(', ')})`;
      const examples = (row.examples ?? []).map(formatKey);
      await annotate(`${orphans} orphan row(s) in the target (${Math.round(performance.now() - t0)} ms)`, 'evidence');
      if (examples.length) await annotate(`example keys ${keys}: ${examples.join('; ')}`, 'evidence');
      if (orphans > 0) {
        // The complete list (to repair or re-sync from), each line `<table> <key>`.
        const all = orphanKeysQuery(rel, config.fullListMax);
        const keysAll = (await pool.query<{ key: string }>(all.text, all.values)).rows.map(
          (r) => `${displayTable(rel.child)} ${formatKey(r.key)}`,
        );
        await writeFullList(annotate, `orphans ${name}`, `orphan rows: <child table> ${keys}`, keysAll, {
          max: config.fullListMax,
          total: orphans,
        });
        expect.fail(
          `orphans ${name}: expected 0 rows of ${rel.child.name} whose key has no ${rel.parent.name} row, found ${orphans}; ` +
            `example keys ${keys}: ${examples.join('; ')}`,
        );
      }
    });
  }
}
