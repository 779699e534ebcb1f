/**
 * Orphans: one test per relation (`orphans ugc_assets(user_id) -> users(id)`): every foreign key declared in the source
 * (else the target) plus ORPHAN_RELATIONS, checked in the target with a NOT EXISTS anti-join (MATCH SIMPLE: a key
 * with a NULL is not an orphan). This catches foreign keys whose creation failed during the restore.
 *
 * The same check runs on the source first; the rule that splits the target's orphans into new and already in the
 * source is ./judge.ts (pure, unit-tested).
 */
import type { Relation } from '../../../core/config.ts';
import { whyMissing } from '../../../core/configured-subjects.ts';
import { dbErrorMessage, getPool, withClient } from '../../../core/db.ts';
import { displayIdent, displayTable } from '../../../core/ident.ts';
import { failed, type Entry, type Family, type Notes, type Verdict } from '../../family.ts';
import { configOf, whyNotChecked, type CheckContext } from '../../shared/context.ts';
import { withPinned } from '../../shared/deep-context.ts';
import { relationDisplay } from '../../shared/discovery.ts';
import { writeFullList } from '../../shared/full-list.ts';
import { warn } from '../../shared/verdict.ts';
import { judgeOrphans, keyColumns, orphanListLines, type SourceOrphans, type TargetOrphans } from './judge.ts';
import { newOrphansQuery, orphanKeyListQuery, orphanKeysQuery } from './sql.ts';

const poolOf = (ctx: CheckContext, side: 'src' | 'dst') => {
  const config = configOf(ctx);
  return getPool(side === 'src' ? config.src! : config.dst, {
    max: config.checkConcurrency,
    connectTimeoutMs: config.connectTimeoutMs,
  });
};

/** A relation from ORPHAN_RELATIONS that does not exist: the configuration error, named as such. */
async function misconfigured(ctx: CheckContext, rel: Relation): Promise<string | undefined> {
  if (rel.origin !== 'configured') return undefined;
  return withClient(poolOf(ctx, 'dst'), async (c) => {
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
}

/** The source's orphan keys of `rel` (same rule, same key text form), or why they could not be read. */
async function sourceOrphans(ctx: CheckContext, rel: Relation): Promise<SourceOrphans> {
  const config = configOf(ctx);
  if (!config.src) return { status: 'none' };
  const kq = orphanKeysQuery(rel);
  try {
    const src = await withPinned(
      poolOf(ctx, 'src'),
      async (c) =>
        (await c.query<{ orphans: string; distinct_keys: number; keys: string[] | null }>(kq.text, kq.values)).rows[0],
    );
    return { status: 'read', orphans: Number(src.orphans), distinctKeys: src.distinct_keys, keys: src.keys ?? [] };
  } catch (e) {
    return { status: 'error', message: dbErrorMessage(config.src, e) };
  }
}

/** The target's orphans of `rel`, split by the source's keys. */
async function targetOrphans(ctx: CheckContext, rel: Relation, known: string[]): Promise<TargetOrphans> {
  const q = newOrphansQuery(rel, known);
  const row = await withPinned(poolOf(ctx, 'dst'), async (c) => {
    const r = await c.query<{
      orphans: string;
      new_orphans: string;
      new_examples: string[] | null;
      old_examples: string[] | null;
    }>(q.text, q.values);
    return r.rows[0];
  });
  return {
    orphans: Number(row.orphans),
    newOrphans: Number(row.new_orphans),
    newExamples: row.new_examples ?? [],
    oldExamples: row.old_examples ?? [],
  };
}

async function check(rel: Relation, ctx: CheckContext, notes: Notes): Promise<Verdict | void> {
  const config = configOf(ctx);
  const name = relationDisplay(rel);
  await notes(
    rel.origin === 'declared'
      ? `declared foreign key ${rel.constraintName ?? ''} (read from the ${ctx.run.plan?.relationsFrom ?? 'catalog'}), checked in the target`
      : 'configured in ORPHAN_RELATIONS, checked in the target',
    'evidence',
  );
  const why = await misconfigured(ctx, rel);
  if (why) return failed(`orphans ${name}: ${why}; fix ORPHAN_RELATIONS`);
  const src = await sourceOrphans(ctx, rel);
  const t0 = performance.now();
  let dst: TargetOrphans;
  try {
    dst = await targetOrphans(ctx, rel, src.status === 'read' ? src.keys : []);
  } catch (e) {
    return failed(`orphans ${name}: cannot check in the target: ${dbErrorMessage(config.dst, e)}`);
  }
  const j = judgeOrphans(rel, name, src, dst, {
    preexistingDefectsFail: config.preexistingDefectsFail,
    ms: Math.round(performance.now() - t0),
  });
  for (const line of j.evidence) await notes(line, 'evidence');
  if (dst.orphans > 0) {
    // The complete list (to repair or re-sync from), each line `<table> <key>`.
    const all = orphanKeyListQuery(rel, config.fullListMax);
    const keys = (await poolOf(ctx, 'dst').query<{ key: string }>(all.text, all.values)).rows.map((r) => r.key);
    await writeFullList(
      notes,
      `orphans ${name}`,
      `orphan rows: <child table> ${keyColumns(rel)}`,
      orphanListLines(rel, keys),
      {
        max: config.fullListMax,
        total: dst.orphans,
      },
    );
  }
  if (j.warning) await warn(notes, j.warning);
  if (j.failure) return failed(j.failure);
}

function subjects(ctx: CheckContext): Array<Entry<Relation>> {
  const plan = ctx.run.plan;
  if (!plan)
    return [{ name: 'orphans (not checked)', verdict: { status: 'not-checked', reason: whyNotChecked(ctx.run)! } }];
  if (plan.relations.length === 0)
    return [
      { skip: `orphans (no foreign keys declared in the ${plan.relationsFrom ?? 'database'} and no ORPHAN_RELATIONS)` },
    ];
  return plan.relations.map((subject) => ({ subject }));
}

export const orphans: Family<Relation> = {
  id: 'orphans',
  label: 'orphans',
  spec: 'specs/orphans.spec.ts',
  prefixes: ['orphans'],
  needsSource: false,
  reads: ['ORPHAN_RELATIONS', 'PREEXISTING_DEFECTS_FAIL'],
  passesWhen:
    'no new child row without its parent (declared FKs, composite keys, ORPHAN_RELATIONS); orphans the source already has warn',
  planLines: ({ plan }) => ({
    head: `${plan.relations.length} relations${plan.relationsFrom ? `, declared in the ${plan.relationsFrom}` : ''} and ORPHAN_RELATIONS`,
    checks: plan.relations.map((r) => orphans.name(r)),
  }),
  concurrent: true,
  subjects,
  name: (r) => `orphans ${relationDisplay(r)}`,
  check,
};
