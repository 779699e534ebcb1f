/**
 * Schema parity, one test per object kind: both sides as pg_dump renders them, object by object (./dump-schema.ts),
 * plus the catalog facts pg_dump does not render: the states a restore can leave wrong on the target, extension
 * versions, database properties (./schema-parity.ts); and `schema coverage`, the archive's object types each
 * mapped to the check that compares them (./coverage.ts).
 */
import { dbErrorMessage } from '../../../core/db.ts';
import { failed, type Entry, type Family, type Notes, type Verdict } from '../../family.ts';
import { configOf, type CheckContext } from '../../shared/context.ts';
import { catalogRows, sides } from '../../shared/deep-context.ts';
import { NO_SOURCE } from '../../shared/plan-notes.ts';
import { fail, notChecked, warn } from '../../shared/verdict.ts';
import { coverageOf } from './coverage.ts';
import { KINDS, compareObjects, parityMessage, type ParityReport, type SchemaObject } from './schema-parity.ts';
import { compareSchemaDumps, serverMajors, type DumpParity } from './dump-schema.ts';
import { dumpParityMessage } from './dump-diff.ts';
import type { Config } from '../../../core/config.ts';

type Kind = (typeof KINDS)[number];
type Subject = { kind: Kind } | { coverage: Record<string, number> };

const COVERAGE = 'schema coverage';

// Both sides rendered once by pg_dump --schema-only (one client for both majors), shared by every kind's check.
const dumps = new WeakMap<Config, Promise<DumpParity | string>>();
function dumpParity(cfg: Config): Promise<DumpParity | string> {
  let p = dumps.get(cfg);
  if (!p) {
    const s = sides(cfg);
    const major = (side: NonNullable<typeof s.src>) => serverMajors((sql) => catalogRows<{ v: number }>(side, sql));
    p = Promise.all([major(s.src!), major(s.dst)]).then(([src, dst]) =>
      compareSchemaDumps(cfg.src!, cfg.dst, { src, dst }, cfg),
    );
    dumps.set(cfg, p);
  }
  return p;
}

/**
 * The kind's differences as pg_dump renders both sides: `text` '' when none (or when there is no source: nothing to
 * render against), `unchecked` the reason when no installed client can dump both servers.
 */
async function renderedDiff(spec: Kind, cfg: Config, notes: Notes): Promise<{ text: string; unchecked?: string }> {
  if (!cfg.src || spec.catalogOnly) return { text: '' };
  const name = `schema ${spec.kind}`;
  const p = await dumpParity(cfg).catch((e: Error) => fail(`${name}: dumping the schema failed: ${e.message}`));
  if (typeof p === 'string') return { text: '', unchecked: `${name}: not compared as pg_dump renders it: ${p}` };
  await notes(p.evidence, 'evidence');
  return { text: dumpParityMessage(p.diffs.filter((d) => d.kind === spec.kind)) };
}

function subjects(ctx: CheckContext): Array<Entry<Subject>> {
  const out: Array<Entry<Subject>> = [];
  for (const kind of KINDS) {
    if (!ctx.blocked && !ctx.config?.src && !kind.stateProblem)
      out.push({
        skip: `schema ${kind.kind}`,
        reason: 'SRC_DATABASE_URL is not set: nothing to compare the target with',
      });
    else out.push({ subject: { kind } });
  }
  // The archive's TOC as the checklist: every object type the dump holds is compared by a named check, or is listed
  // here, as a warning, as compared by none (./coverage.ts; docs/checks.md).
  const toc = ctx.run.toc;
  if (!toc) out.push({ skip: COVERAGE, reason: 'no archive in this run: nothing to read object types from' });
  else out.push({ subject: { coverage: toc } });
  return out;
}

/** The kind's catalog facts (spec.sql) on both sides, compared; undefined when the kind has none. */
async function catalogFacts(spec: Kind, cfg: Config, notes: Notes): Promise<ParityReport | undefined> {
  const { sql } = spec;
  if (!sql) return undefined;
  const s = sides(cfg);
  const name = `schema ${spec.kind}`;
  const read = async (which: 'src' | 'dst') => {
    try {
      return await catalogRows<SchemaObject>(which === 'src' ? s.src! : s.dst, sql);
    } catch (e) {
      fail(
        `${name}: reading the ${which === 'src' ? 'source' : 'target'} catalog failed: ${dbErrorMessage(which === 'src' ? cfg.src! : cfg.dst, e)}`,
      );
    }
  };
  const [src, dst] = await Promise.all([s.src ? read('src') : Promise.resolve(undefined), read('dst')]);
  const r = compareObjects(spec, dst, src, { extensionVersionsEqual: cfg.extensionVersionsEqual });
  await notes(
    `${spec.kind} (catalog: ${spec.catalogFact?.split(':')[0]}): source ${src ? src.length : '(not configured: not compared)'}, target ${dst.length}; ` +
      `${spec.presence ? `missing ${r.missing.length}, extra ${r.extra.length}, ` : ''}different ${r.different.length}, state problems ${r.states.length}`,
    'evidence',
  );
  for (const a of r.accepted) await notes(a, 'evidence');
  return r;
}

/**
 * One kind judged: its objects as pg_dump renders them on both sides, plus the catalog facts pg_dump does not render
 * (schema-parity.ts `KINDS`). A kind that could be compared neither way fails as `not checked`.
 */
async function checkKind(spec: Kind, ctx: CheckContext, notes: Notes): Promise<Verdict | void> {
  const cfg = configOf(ctx);
  const [r, rendered] = await Promise.all([catalogFacts(spec, cfg, notes), renderedDiff(spec, cfg, notes)]);
  const diff = [r ? parityMessage(spec.kind, r) : '', rendered.text, rendered.unchecked ?? '']
    .filter(Boolean)
    .join('; ')
    .replace(/^(?!schema )(?=.)/, `schema ${spec.kind}: `);
  if (rendered.unchecked && diff === rendered.unchecked) return failed(notChecked(diff));
  if (diff) return failed(spec.hint ? `${diff}; ${spec.hint}` : diff);
}

async function checkCoverage(toc: Record<string, number>, notes: Notes): Promise<void> {
  const r = coverageOf(toc);
  await notes(
    `archive entry types: ${r.covered.map((c) => `${c.type} (${c.entries}) by ${c.check}`).join('; ') || 'none covered'}`,
    'evidence',
  );
  if (r.uncovered.length)
    await warn(
      notes,
      `in the archive but compared by no check: ${r.uncovered.map((u) => `${u.type} (${u.entries}: ${u.note})`).join('; ')}`,
    );
  if (r.unknown.length)
    await warn(
      notes,
      `in the archive with a type no check knows (not compared): ${r.unknown.map((u) => `${u.type} (${u.entries})`).join('; ')}`,
    );
}

export const schemaParity: Family<Subject> = {
  id: 'schema-parity',
  label: 'schema parity',
  spec: 'specs/schema-parity.spec.ts',
  prefixes: ['schema'],
  needsSource: true,
  reads: [],
  passesWhen: 'every object kind of the schema matches the source',
  planLines: ({ config, schedule }) => {
    const kinds = KINDS.filter((k) => config.src || k.stateProblem);
    return {
      head: config.src ? `${kinds.length} object kinds, source vs target` : `target states only ${NO_SOURCE}`,
      checks: [
        ...kinds.map((kind) => schemaParity.name({ kind })),
        schedule.find((p) => p.name === 'dump')?.wanted
          ? COVERAGE
          : `${COVERAGE} (skipped: no archive in this run: nothing to read object types from)`,
      ],
    };
  },
  concurrent: true,
  // The coverage reads the run's archive TOC only: it is judged when a copy phase failed too.
  runsWhenBlocked: (s) => 'coverage' in s,
  subjects,
  name: (s) => ('kind' in s ? `schema ${s.kind.kind}` : COVERAGE),
  check: (s, ctx, notes) => ('kind' in s ? checkKind(s.kind, ctx, notes) : checkCoverage(s.coverage, notes)),
};
