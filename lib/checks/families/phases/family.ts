/**
 * The copy phases as checks: one test per copy phase (what was copied, how, and why a phase failed), then `check
 * discovery` (what the run found to verify; a run that finds nothing cannot pass).
 */
import { fromEnv } from '../../../core/run-protocol.ts';
import type { StepResult } from '../../../core/state.ts';
import { failed, unchecked, type Entry, type Family, type Notes, type Verdict } from '../../family.ts';
import type { CheckContext } from '../../shared/context.ts';
import { FAMILIES } from '../../registry.ts';
import { warn } from '../../shared/verdict.ts';

/** A copy phase that ran, or the discovery step. */
type Subject = { phase: StepResult } | { discovery: true };

/** A refused run (rehearse ran only this family: the run protocol's `onlyPhases`): every other family listed as not run. */
function refusedEntries(ctx: CheckContext): Array<Entry<Subject>> | undefined {
  const refused = ctx.run.phases.find((p) => p.name === 'preflight' && p.status === 'failed');
  if (!refused || !fromEnv(process.env)?.onlyPhases) return undefined;
  const notRun = 'not run: the preflight refused the run';
  return [
    { skip: 'check discovery', reason: notRun },
    ...FAMILIES.filter((x) => x.id !== 'phases').map((f) => ({ skip: f.prefixes[0], reason: notRun })),
  ];
}

function subjects(ctx: CheckContext): Array<Entry<Subject>> {
  const out: Array<Entry<Subject>> = [];
  for (const name of ctx.run.phaseNames) {
    const result = ctx.run.phases.find((p) => p.name === name);
    if (!result || result.status === 'skipped')
      out.push({ skip: `phase ${name}`, reason: result?.reason ?? 'not run' });
    else out.push({ subject: { phase: result } });
  }
  return [...out, ...(refusedEntries(ctx) ?? [{ subject: { discovery: true } }])];
}

async function checkPhase(result: StepResult, notes: Notes): Promise<Verdict | void> {
  const name = result.name;
  if (result.durationMs !== undefined)
    await notes(
      `${name}: ${result.status} in ${result.durationMs} ms${result.reason ? ` — ${result.reason}` : ''}`,
      'evidence',
    );
  // The exact (redacted) commands the phase ran and its log, so the audit trail shows how the copy was made.
  const commands = [result.details?.command, ...((result.details?.commands as unknown[] | undefined) ?? [])].filter(
    (c): c is string => typeof c === 'string',
  );
  for (const c of commands) await notes(`command: ${c}`, 'evidence');
  // What the restore neutralised or left out (staging isolation, TOC rules): in the audit trail, not only the log.
  for (const l of [
    ...((result.details?.isolation as string[] | undefined) ?? []),
    ...((result.details?.excluded as string[] | undefined) ?? []),
  ])
    await notes(l, 'evidence');
  if (result.logFile) await notes(`log: ${result.logFile}`, 'evidence');
  if (result.status !== 'ok') return failed(`phase ${name} ${result.status}: ${result.reason ?? ''}`);
  // A phase that succeeded with a WARNING in its reason (the restore ran as a superuser, its marker could not be
  // left): the test passes with a warning, so the run counts and lists it like a check's (lib/audit/totals.ts).
  for (const w of phaseWarnings(result.reason)) await warn(notes, `${name}: ${w}`);
}

/** The `WARNING: …` parts of a phase's reason, each up to the next one (`restore ok: WARNING: a; WARNING: b`). */
export function phaseWarnings(reason: string | undefined): string[] {
  return [...(reason ?? '').matchAll(/WARNING: [\s\S]*?(?=[;,]?\s*WARNING: |$)/g)].map((m) => m[0].trim());
}

async function checkDiscovery(ctx: CheckContext, notes: Notes): Promise<Verdict | void> {
  if (ctx.run.blockedBy) return unchecked(ctx.run.blockedBy);
  if (ctx.run.planError || !ctx.run.plan) return failed(`could not discover what to check: ${ctx.run.planError}`);
  const plan = ctx.run.plan;
  await notes(
    `tables from ${plan.tablesFrom}: ${plan.tables.length}; relations${plan.relationsFrom ? ` from ${plan.relationsFrom}` : ''}: ${plan.relations.length}; asset columns: ${plan.assetColumns.length}; sampled paths: ${plan.assetSample.items.length} (seed ${plan.assetSample.seed})`,
    'evidence',
  );
  for (const col of plan.assetColumns.filter((c) => !c.exists))
    await notes(`asset column ${col.display} not checked: ${col.reason}`, 'evidence');
  if (plan.tables.length === 0 && plan.relations.length === 0 && plan.assetSample.items.length === 0)
    return failed(
      'this run found nothing to verify (no tables, no relations, no assets): a rehearsal that checks nothing cannot pass',
    );
}

export const phases: Family<Subject> = {
  id: 'phases',
  label: 'copy phases',
  spec: 'specs/phases.spec.ts',
  prefixes: ['phase', 'check discovery'],
  needsSource: false,
  reads: [],
  passesWhen: 'each copy phase ran and succeeded (a failed phase is a red test with the reason)',
  planLines: ({ schedule }) => ({
    head: 'one test per copy phase, then discovery',
    checks: [
      ...schedule.map((p) => (p.wanted ? `phase ${p.name}` : `phase ${p.name} (skipped: ${p.whyNot})`)),
      'check discovery',
    ],
  }),
  concurrent: false,
  runsWhenBlocked: true,
  subjects,
  name: (s) => ('phase' in s ? `phase ${s.phase.name}` : 'check discovery'),
  check: (s, ctx, notes) => ('phase' in s ? checkPhase(s.phase, notes) : checkDiscovery(ctx, notes)),
};
