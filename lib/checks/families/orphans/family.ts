/**
 * Orphans: one test per relation (`orphans ugc_assets(user_id) -> users(id)`): every foreign key declared in the source
 * (else the target) plus ORPHAN_RELATIONS, checked in the target (MATCH SIMPLE: a key with a NULL is not an orphan).
 * This catches foreign keys whose creation failed during the restore.
 *
 * Where it can, a side's orphans are counted inside the run's fused scan of the child table, the parent probed by its
 * unique index (lib/checks/shared/orphan-fold.ts, ./folded.ts): `--verify-only` then reads each table once per side.
 * Where it cannot (a bounded count-only scan, no unique index on the parent, ...), the NOT EXISTS anti-join of
 * ./sql.ts runs, and the evidence says which and why. The anti-join also runs when the scan's sample cannot answer:
 * more than FOLD_SAMPLE orphans in the target, or orphans on both sides (their keys are told apart).
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
import { foldedSide, foldNote, type SideFold } from './folded.ts';
import { FOLD_SAMPLE } from '../../shared/orphan-fold.ts';

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

/**
 * The source's side: the fused scan's count when it is all that is needed (no source orphan, or none in the target to
 * tell apart), else the source's orphan keys by the anti-join (orphanKeysQuery), as before the fold.
 */
async function sourceSide(
  ctx: CheckContext,
  rel: Relation,
  src: SideFold | undefined,
  dst: SideFold,
): Promise<SourceOrphans> {
  if (!src) return { status: 'none' };
  if (src.status === 'folded' && (src.n === 0 || (dst.status === 'folded' && dst.n === 0)))
    return { status: 'read', orphans: src.n, distinctKeys: 0, keys: [] };
  return sourceOrphans(ctx, rel);
}

/**
 * The target's side: from the fused scan when its sample holds every orphan key (at most FOLD_SAMPLE orphans; split
 * by the source's keys here, the rule of newOrphansQuery), else by the anti-join (newOrphansQuery). `all`: every
 * orphan key when the scan's sample holds them all (the full list needs no query then).
 */
async function targetSide(
  ctx: CheckContext,
  rel: Relation,
  dst: SideFold,
  src: SourceOrphans,
): Promise<{ orphans: TargetOrphans; all?: string[] }> {
  const known = src.status === 'read' ? src.keys : [];
  if (dst.status === 'folded' && dst.n <= FOLD_SAMPLE) {
    const all = [...dst.keys].sort();
    const old = new Set(known);
    const fresh = all.filter((k) => !old.has(k));
    return {
      orphans: {
        orphans: dst.n,
        newOrphans: fresh.length,
        newExamples: fresh,
        oldExamples: all.filter((k) => old.has(k)),
      },
      all,
    };
  }
  return { orphans: await targetOrphans(ctx, rel, known) };
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
  const t0 = performance.now();
  const [sf, df] = await Promise.all([
    config.src ? foldedSide(ctx, 'src', rel) : undefined,
    foldedSide(ctx, 'dst', rel),
  ]);
  if (sf) await notes(foldNote('src', sf), 'evidence');
  await notes(foldNote('dst', df), 'evidence');
  const src = await sourceSide(ctx, rel, sf, df);
  let dst: { orphans: TargetOrphans; all?: string[] };
  try {
    dst = await targetSide(ctx, rel, df, src);
  } catch (e) {
    return failed(`orphans ${name}: cannot check in the target: ${dbErrorMessage(config.dst, e)}`);
  }
  const j = judgeOrphans(rel, name, src, dst.orphans, {
    preexistingDefectsFail: config.preexistingDefectsFail,
    ms: Math.round(performance.now() - t0),
  });
  for (const line of j.evidence) await notes(line, 'evidence');
  if (dst.orphans.orphans > 0) await fullList(ctx, rel, name, notes, dst.orphans.orphans, dst.all);
  if (j.warning) await warn(notes, j.warning);
  if (j.failure) return failed(j.failure);
}

/** The complete list (to repair or re-sync from), each line `<table> <key>`: `all` when known, else read. */
async function fullList(
  ctx: CheckContext,
  rel: Relation,
  name: string,
  notes: Notes,
  total: number,
  all: string[] | undefined,
): Promise<void> {
  const config = configOf(ctx);
  let keys = all;
  if (!keys) {
    const q = orphanKeyListQuery(rel, config.fullListMax);
    keys = (await poolOf(ctx, 'dst').query<{ key: string }>(q.text, q.values)).rows.map((r) => r.key);
  }
  await writeFullList(
    notes,
    `orphans ${name}`,
    `orphan rows: <child table> ${keyColumns(rel)}`,
    orphanListLines(rel, keys),
    {
      max: config.fullListMax,
      total,
    },
  );
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
