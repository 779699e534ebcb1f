/**
 * pgvector: the extension version (one test) and one test per embedding column (vector, halfvec, sparsevec,
 * bit/varbit) (./pgvector.ts). Columns mixing dimensions are compared per dimension group.
 */
import { dbErrorMessage } from '../../../core/db.ts';
import { displayIdent, displayTable } from '../../../core/ident.ts';
import { failed, type Entry, type Family, type Notes, type Verdict } from '../../family.ts';
import { configOf, type CheckContext } from '../../shared/context.ts';
import { catalogRows, sideName, sides, withPinned, type Sides } from '../../shared/deep-context.ts';
import { fail } from '../../shared/verdict.ts';
import { judgeExtensionVersion } from '../schema-parity/schema-parity.ts';
import {
  EXTENSION_SQL,
  VECTOR_COLUMNS_SQL,
  columnStatsQuery,
  describeGroups,
  nearestQuery,
  sampleVectorsQuery,
  vectorColumnsFromRows,
  type ColumnStats,
  type VectorColumn,
} from './pgvector.ts';

/** Exact nearest-neighbour queries sort the whole column; above this many rows they are skipped (said in the evidence). */
const NN_MAX_ROWS = 200_000;
const NN_SAMPLES = 3;
const NN_K = 5;
/** Dimension groups whose nearest neighbours are compared (the largest groups first); the rest are named as skipped. */
const NN_MAX_GROUPS = 5;

type Ext = { version: string; schema: string };
/** Where the extension is, on each side (read once, at discovery). */
interface Installed {
  src?: Ext;
  dst?: Ext;
}
type Subject = { version: Installed } | { column: VectorColumn; ext: Installed };

/** `fn` on one side; its error names that side (`the target: connection to … lost or refused: …`). */
async function onSide<T>(ctx: CheckContext, which: 'src' | 'dst', fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const cfg = configOf(ctx);
    throw new Error(`the ${sideName(which)}: ${dbErrorMessage(which === 'src' ? cfg.src! : cfg.dst, e)}`);
  }
}

async function discover(ctx: CheckContext, s: Sides): Promise<{ ext: Installed; columns: VectorColumn[] }> {
  const ext = (which: 'src' | 'dst') =>
    onSide(ctx, which, async () => (await catalogRows<Ext>(which === 'src' ? s.src! : s.dst, EXTENSION_SQL))[0]);
  const [src, dst] = await Promise.all([s.src ? ext('src') : Promise.resolve(undefined), ext('dst')]);
  const from = src ? 'src' : 'dst';
  let columns = vectorColumnsFromRows(
    await onSide(ctx, from, () => catalogRows(from === 'src' ? s.src! : s.dst, VECTOR_COLUMNS_SQL)),
  );
  const planned = ctx.run.plan?.tables ?? [];
  if (planned.length) {
    const keep = new Set(planned.map(displayTable));
    columns = columns.filter((v) => keep.has(displayTable(v.table)));
  }
  return { ext: { src, dst }, columns };
}

async function subjects(ctx: CheckContext): Promise<Array<Entry<Subject>>> {
  if (ctx.blocked) return [{ name: 'pgvector (not checked)', verdict: { status: 'not-checked', reason: ctx.blocked } }];
  let found;
  try {
    found = await discover(ctx, sides(configOf(ctx)));
  } catch (e) {
    return [
      {
        name: 'pgvector (discovery)',
        verdict: failed(`could not read the pgvector catalogs: ${(e as Error).message}`),
      },
    ];
  }
  const { ext, columns } = found;
  if (!ext.src && !ext.dst) return [{ skip: 'pgvector', reason: 'the vector extension is installed on neither side' }];
  return [{ subject: { version: ext } }, ...columns.map((column) => ({ subject: { column, ext } }))];
}

async function checkVersion(ext: Installed, ctx: CheckContext, notes: Notes): Promise<Verdict | void> {
  const cfg = configOf(ctx);
  await notes(
    `source: ${cfg.src ? (ext.src ? `${ext.src.version} in ${displayIdent(ext.src.schema)}` : 'not installed') : '(not configured)'}; target: ${ext.dst ? `${ext.dst.version} in ${displayIdent(ext.dst.schema)}` : 'not installed'}`,
    'evidence',
  );
  if (!ext.dst) return failed('pgvector (extension "vector") is not installed on the target');
  if (!cfg.src) return;
  if (!ext.src) return failed(`pgvector version: source not installed, target ${ext.dst.version}`);
  // A newer target version is what preflight accepted ("at least the source's"): evidence, not a failure, unless
  // EXTENSION_VERSIONS_EQUAL=1.
  const j = judgeExtensionVersion('pgvector', ext.src.version, ext.dst.version, cfg.extensionVersionsEqual);
  await notes(j.evidence, 'evidence');
  if (!j.ok) return failed(`pgvector version: ${j.evidence}`);
}

/** Differences between the two sides' statistics of one column (types, counts, dimensions, indexes). */
export function columnProblems(src: ColumnStats | undefined, dst: ColumnStats): string[] {
  const problems: string[] = [];
  for (const i of dst.indexes)
    if (!i.valid || !i.ready)
      problems.push(`index ${i.name} (${i.am}) is not valid on the target (rebuild it: REINDEX INDEX)`);
  if (!src) return problems;
  if (src.declared !== dst.declared) problems.push(`declared type: source ${src.declared}, target ${dst.declared}`);
  if (src.non_null !== dst.non_null) problems.push(`non-null vectors: source ${src.non_null}, target ${dst.non_null}`);
  if (src.min_dims !== dst.min_dims || src.max_dims !== dst.max_dims)
    problems.push(`vector_dims: source ${src.min_dims}..${src.max_dims}, target ${dst.min_dims}..${dst.max_dims}`);
  else if (describeGroups(src.groups, src.groups_total) !== describeGroups(dst.groups, dst.groups_total))
    problems.push(
      `vectors per dimension: source ${describeGroups(src.groups, src.groups_total)}, target ${describeGroups(dst.groups, dst.groups_total)}`,
    );
  for (const i of src.indexes) {
    const d = dst.indexes.find((x) => x.name === i.name && x.am === i.am);
    if (!d) problems.push(`vector index ${i.name} (${i.am}) is missing on the target`);
    else if (d.def !== i.def)
      problems.push(`vector index ${i.name} (${i.am}) differs: source ${i.def}; target ${d.def}`);
  }
  return problems;
}

/** Exact nearest neighbours of a few sampled vectors per dimension group, source vs target (no index used). */
async function nearestNeighbours(
  s: Sides,
  v: VectorColumn,
  ext: Required<Installed>,
  src: ColumnStats & { pk: string },
  notes: Notes,
): Promise<string[]> {
  const problems: string[] = [];
  const noIndex: Array<[string, string]> = [
    ['enable_indexscan', 'off'],
    ['enable_bitmapscan', 'off'],
    ['enable_indexonlyscan', 'off'],
  ];
  // Distances exist only between vectors of one dimension: compare within each dimension group.
  const groups = [...src.groups].sort((a, b) => Number(b.n) - Number(a.n) || a.dims - b.dims);
  const compared = groups.slice(0, NN_MAX_GROUPS);
  const mixed = src.groups_total > 1;
  let samples: Array<{ id: string; vec: string }> = [];
  for (const g of compared) {
    const sq = sampleVectorsQuery(v, src.pk, NN_SAMPLES, ext.src.schema, mixed ? g.dims : undefined);
    const groupSamples = await withPinned(
      s.src!,
      async (c) => (await c.query<{ id: string; vec: string }>(sq.text, sq.values)).rows,
    );
    samples = samples.concat(groupSamples);
    for (const x of groupSamples) {
      const [a, b] = await Promise.all(
        (
          [
            ['src', ext.src.schema],
            ['dst', ext.dst.schema],
          ] as const
        ).map(([which, schema]) => {
          const q = nearestQuery(v, src.pk, schema, x.vec, NN_K, mixed ? g.dims : undefined);
          return withPinned(
            which === 'src' ? s.src! : s.dst,
            async (c) => (await c.query<{ id: string }>(q.text, q.values)).rows.map((r) => r.id),
            noIndex,
          );
        }),
      );
      if (a.join() !== b.join())
        problems.push(
          `nearest ${NN_K} neighbours of ${src.pk}=${x.id}${mixed ? ` (among ${g.dims}-dimensional vectors)` : ''}: source [${a.join(', ')}], target [${b.join(', ')}]`,
        );
    }
  }
  if (mixed)
    await notes(
      `mixed dimensions in one column (${describeGroups(src.groups, src.groups_total)}): distances exist only within one dimension, so nearest neighbours were compared per dimension group` +
        (src.groups_total > compared.length
          ? `; ${compared.length} largest groups compared, ${src.groups_total - compared.length} not (skipped: more than ${NN_MAX_GROUPS} dimension groups)`
          : ` (all ${compared.length} groups)`),
      'evidence',
    );
  await notes(`exact nearest neighbours (k=${NN_K}) of ${samples.length} sampled vectors compared`, 'evidence');
  return problems;
}

async function checkColumn(v: VectorColumn, ext: Installed, ctx: CheckContext, notes: Notes): Promise<Verdict | void> {
  const cfg = configOf(ctx);
  const s = sides(cfg);
  const name = pgvector.name({ column: v, ext });
  if (!ext.dst) fail(`${name}: pgvector is not installed on the target`);
  const stats = async (which: 'src' | 'dst', schema: string): Promise<ColumnStats> => {
    const q = columnStatsQuery(v, schema);
    try {
      return await withPinned(
        which === 'src' ? s.src! : s.dst,
        async (c) => (await c.query<ColumnStats>(q.text, q.values)).rows[0],
      );
    } catch (e) {
      fail(
        `${name}: reading the ${sideName(which)} failed: ${dbErrorMessage(which === 'src' ? cfg.src! : cfg.dst, e)}`,
      );
    }
  };
  const [src, dst] = await Promise.all([
    s.src && ext.src ? stats('src', ext.src.schema) : Promise.resolve(undefined),
    stats('dst', ext.dst.schema),
  ]);
  const show = (x: ColumnStats) =>
    `${x.declared}, ${x.non_null} non-null, dims ${x.min_dims ?? '-'}..${x.max_dims ?? '-'} (per dimension: ${describeGroups(x.groups, x.groups_total)}), indexes ${x.indexes.map((i) => `${i.name} (${i.am}${i.valid && i.ready ? '' : ', INVALID'})`).join(', ') || 'none'}`;
  await notes(`target: ${show(dst)}${src ? `; source: ${show(src)}` : '; no source: not compared'}`, 'evidence');
  if (dst.declared === null) return failed(`${name}: the column is missing on the target`);
  const problems = columnProblems(src, dst);
  // Exact nearest neighbours: only when everything above agrees (different dims would make the query fail).
  if (src && !problems.length && !(src.pk && src.pk === dst.pk))
    await notes(
      `exact nearest-neighbour check skipped: ${src.pk ? `the primary key differs (source ${src.pk}, target ${dst.pk ?? 'none'})` : 'the table has no single-column primary key to name neighbours by'}`,
      'evidence',
    );
  if (src && !problems.length && src.pk && src.pk === dst.pk) {
    if (Math.max(src.rows_estimate, dst.rows_estimate) > NN_MAX_ROWS)
      await notes(`exact nearest-neighbour check skipped: more than ${NN_MAX_ROWS} rows`, 'evidence');
    else problems.push(...(await nearestNeighbours(s, v, ext as Required<Installed>, { ...src, pk: src.pk }, notes)));
  }
  if (problems.length) return failed(`${name}: ${problems.join('; ')}`);
}

export const pgvector: Family<Subject> = {
  id: 'pgvector',
  label: 'pgvector',
  spec: 'specs/pgvector.spec.ts',
  prefixes: ['pgvector'],
  needsSource: false,
  reads: [],
  passesWhen:
    'vector/halfvec/sparsevec/bit: extension version, counts per dimension, HNSW/IVFFlat indexes alike and valid, exact nearest neighbours agree (per dimension group)',
  planLines: () => ({
    head: 'the extension version, then one per vector column of the compared tables (read from the catalogs when the checks run)',
    checks: ['pgvector extension version', '(pgvector <schema.table>.<column>; exact names: rehearse --list)'],
  }),
  concurrent: true,
  subjects,
  name: (s) =>
    'version' in s ? 'pgvector extension version' : `pgvector ${displayTable(s.column.table)}.${s.column.column}`,
  check: (s, ctx, notes) =>
    'version' in s ? checkVersion(s.version, ctx, notes) : checkColumn(s.column, s.ext, ctx, notes),
};
