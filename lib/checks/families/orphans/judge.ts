/**
 * The orphans rule, pure: what the target's orphans of one relation mean once the source's are known. An orphan whose
 * key the source has too is a defect the source already has (a warning, failing only with PREEXISTING_DEFECTS_FAIL=1);
 * one the source lacks is new (a failure). Without a source every orphan counts as new.
 */
import { displayIdent, displayTable } from '../../../core/ident.ts';
import type { Relation as OrphanRelation } from '../../../core/config.ts';

/** The source's side of one relation: its orphan count and the keys told apart, or why it could not be read. */
export type SourceOrphans =
  | { status: 'none' }
  | { status: 'error'; message: string }
  | { status: 'read'; orphans: number; distinctKeys: number; keys: string[] };

/** The target's side of one relation: all orphans, those whose key the source lacks, examples of each (JSON keys). */
export interface TargetOrphans {
  orphans: number;
  newOrphans: number;
  newExamples: string[];
  oldExamples: string[];
}

/** What the rule concludes: evidence lines in order, a warning, or the failure message. */
export interface OrphansJudgement {
  evidence: string[];
  warning?: string;
  failure?: string;
}

/** `["2","nope"]` → `(2, nope)`; NULL shows as NULL. */
export function formatKey(json: string): string {
  const parts = JSON.parse(json) as Array<string | null>;
  return `(${parts.map((p) => (p === null ? 'NULL' : p)).join(', ')})`;
}

/** The key columns of a relation as the messages show them: `(user_id)`. */
export function keyColumns(rel: Pick<OrphanRelation, 'childColumns'>): string {
  return `(${rel.childColumns.map(displayIdent).join(', ')})`;
}

/** The evidence line about the source. */
export function sourceNote(src: SourceOrphans): string {
  if (src.status === 'none') return 'no source configured: every orphan in the target counts as new';
  if (src.status === 'error')
    return `could not check the source (${src.message}): every orphan in the target counts as new`;
  return `${src.orphans} orphan row(s) in the source${src.distinctKeys > src.keys.length ? ` (only the first ${src.keys.length} of ${src.distinctKeys} keys are told apart: orphans beyond them count as new)` : ''}`;
}

/**
 * Judge one relation (`name` is its display, `ugc_assets(user_id) -> users(id)`) from both sides' orphans.
 * @param ms how long the target's query took (evidence only).
 */
export function judgeOrphans(
  rel: OrphanRelation,
  name: string,
  src: SourceOrphans,
  dst: TargetOrphans,
  opts: { preexistingDefectsFail: boolean; ms: number },
): OrphansJudgement {
  const old = dst.orphans - dst.newOrphans;
  const keys = keyColumns(rel);
  const examples = dst.newExamples.map(formatKey);
  const evidence = [
    `${dst.orphans} orphan row(s) in the target (${opts.ms} ms)`,
    sourceNote(src),
    src.status === 'read'
      ? `orphans: in source ${src.orphans}, in target ${dst.orphans}, new ${dst.newOrphans}`
      : `orphans: in target ${dst.orphans}, new ${dst.newOrphans} (source not compared)`,
  ];
  if (examples.length) evidence.push(`example keys ${keys}: ${examples.join('; ')}`);
  const out: OrphansJudgement = { evidence };
  if (old > 0) {
    const pre = `${old} orphan row(s) already in the source, e.g. keys ${keys}: ${dst.oldExamples.map(formatKey).join('; ')}`;
    if (opts.preexistingDefectsFail)
      return { evidence, failure: `orphans ${name}: ${pre}; failing because PREEXISTING_DEFECTS_FAIL=1` };
    out.warning = `orphans ${name}: ${pre}: not a migration failure (PREEXISTING_DEFECTS_FAIL=1 makes it fail)`;
  }
  if (dst.newOrphans > 0)
    out.failure =
      `orphans ${name}: expected 0 rows of ${rel.child.name} whose key has no ${rel.parent.name} row, found ${dst.newOrphans}` +
      `${old ? ` new (besides ${old} already in the source)` : ''}; example keys ${keys}: ${examples.join('; ')}`;
  return out;
}

/** The full list's lines: `<child table> <key>` per orphan row. */
export function orphanListLines(rel: OrphanRelation, keys: string[]): string[] {
  return keys.map((k) => `${displayTable(rel.child)} ${formatKey(k)}`);
}
