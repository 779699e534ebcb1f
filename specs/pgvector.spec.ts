/**
 * pgvector: the extension version (one test) and one test per embedding column (vector, halfvec, sparsevec,
 * bit/varbit) (lib/checks/families/pgvector/pgvector.ts). Columns mixing dimensions are compared per dimension group.
 */
import { afterAll, test } from 'vitest';
import { closePools, dbErrorMessage } from '../lib/core/db.ts';
import { catalogRows, deepContext, sideName, sides, withPinned } from '../lib/checks/shared/deep-context.ts';
import { fail, failNotChecked } from '../lib/checks/shared/verdict.ts';
import { displayTable } from '../lib/core/ident.ts';
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
} from '../lib/checks/families/pgvector/pgvector.ts';
import { judgeExtensionVersion } from '../lib/checks/families/schema-parity/schema-parity.ts';

/** Exact nearest-neighbour queries sort the whole column; above this many rows they are skipped (said in the evidence). */
const NN_MAX_ROWS = 200_000;
const NN_SAMPLES = 3;
const NN_K = 5;
/** Dimension groups whose nearest neighbours are compared (the largest groups first); the rest are named as skipped. */
const NN_MAX_GROUPS = 5;

const dc = deepContext();
afterAll(() => closePools());

const name = (v: VectorColumn) => `pgvector ${displayTable(v.table)}.${v.column}`;

if (dc.blocked) {
  test('pgvector (not checked)', () => failNotChecked(dc.blocked!));
} else {
  const cfg = dc.cfg!;
  const s = sides(cfg);
  /** `fn` on one side; its error names that side (`the target: connection to … lost or refused: …`). */
  const onSide = async <T>(which: 'src' | 'dst', fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      throw new Error(`the ${sideName(which)}: ${dbErrorMessage(which === 'src' ? cfg.src! : cfg.dst, e)}`);
    }
  };
  const ext = async (which: 'src' | 'dst') =>
    onSide(
      which,
      async () =>
        (await catalogRows<{ version: string; schema: string }>(which === 'src' ? s.src! : s.dst, EXTENSION_SQL))[0],
    );
  let srcExt: { version: string; schema: string } | undefined;
  let dstExt: { version: string; schema: string } | undefined;
  let columns: VectorColumn[] = [];
  let error: string | undefined;
  try {
    [srcExt, dstExt] = await Promise.all([s.src ? ext('src') : Promise.resolve(undefined), ext('dst')]);
    const from = srcExt ? 'src' : 'dst';
    columns = vectorColumnsFromRows(
      await onSide(from, () => catalogRows(from === 'src' ? s.src! : s.dst, VECTOR_COLUMNS_SQL)),
    );
  } catch (e) {
    error = (e as Error).message;
  }
  const planned = dc.ctx.plan?.tables ?? [];
  if (planned.length) {
    const keep = new Set(planned.map(displayTable));
    columns = columns.filter((v) => keep.has(displayTable(v.table)));
  }
  if (error) {
    test('pgvector (discovery)', () => fail(`could not read the pgvector catalogs: ${error}`));
  } else if (!srcExt && !dstExt) {
    test.skip('pgvector (the vector extension is installed on neither side)', () => {});
  } else {
    test('pgvector extension version', async ({ expect, annotate }) => {
      await annotate(
        `source: ${s.src ? (srcExt ? `${srcExt.version} in ${srcExt.schema}` : 'not installed') : '(not configured)'}; target: ${dstExt ? `${dstExt.version} in ${dstExt.schema}` : 'not installed'}`,
        'evidence',
      );
      expect(dstExt, 'pgvector (extension "vector") is not installed on the target').toBeDefined();
      if (s.src) {
        expect(srcExt, `pgvector version: source not installed, target ${dstExt!.version}`).toBeDefined();
        // A newer target version is what preflight accepted ("at least the source's"): evidence, not a failure,
        // unless EXTENSION_VERSIONS_EQUAL=1.
        const j = judgeExtensionVersion('pgvector', srcExt!.version, dstExt!.version, cfg.extensionVersionsEqual);
        await annotate(j.evidence, 'evidence');
        expect(j.ok, `pgvector version: ${j.evidence}`).toBe(true);
      }
    });
    for (const v of columns) {
      test.concurrent(name(v), async ({ expect, annotate }) => {
        if (!dstExt) fail(`${name(v)}: pgvector is not installed on the target`);
        const stats = async (which: 'src' | 'dst', schema: string): Promise<ColumnStats> => {
          const q = columnStatsQuery(v, schema);
          try {
            return await withPinned(
              which === 'src' ? s.src! : s.dst,
              async (c) => (await c.query<ColumnStats>(q.text, q.values)).rows[0],
            );
          } catch (e) {
            fail(
              `${name(v)}: reading the ${which === 'src' ? 'source' : 'target'} failed: ${dbErrorMessage(which === 'src' ? cfg.src! : cfg.dst, e)}`,
            );
          }
        };
        const [src, dst] = await Promise.all([
          s.src && srcExt ? stats('src', srcExt.schema) : Promise.resolve(undefined),
          stats('dst', dstExt!.schema),
        ]);
        const show = (x: ColumnStats) =>
          `${x.declared}, ${x.non_null} non-null, dims ${x.min_dims ?? '-'}..${x.max_dims ?? '-'} (per dimension: ${describeGroups(x.groups, x.groups_total)}), indexes ${x.indexes.map((i) => `${i.name} (${i.am}${i.valid && i.ready ? '' : ', INVALID'})`).join(', ') || 'none'}`;
        await annotate(
          `target: ${show(dst)}${src ? `; source: ${show(src)}` : '; no source: not compared'}`,
          'evidence',
        );
        const problems: string[] = [];
        if (dst.declared === null) fail(`${name(v)}: the column is missing on the target`);
        for (const i of dst.indexes)
          if (!i.valid || !i.ready)
            problems.push(`index ${i.name} (${i.am}) is not valid on the target (rebuild it: REINDEX INDEX)`);
        if (src) {
          if (src.declared !== dst.declared)
            problems.push(`declared type: source ${src.declared}, target ${dst.declared}`);
          if (src.non_null !== dst.non_null)
            problems.push(`non-null vectors: source ${src.non_null}, target ${dst.non_null}`);
          if (src.min_dims !== dst.min_dims || src.max_dims !== dst.max_dims) {
            problems.push(
              `vector_dims: source ${src.min_dims}..${src.max_dims}, target ${dst.min_dims}..${dst.max_dims}`,
            );
          } else if (describeGroups(src.groups, src.groups_total) !== describeGroups(dst.groups, dst.groups_total)) {
            problems.push(
              `vectors per dimension: source ${describeGroups(src.groups, src.groups_total)}, target ${describeGroups(dst.groups, dst.groups_total)}`,
            );
          }
          for (const i of src.indexes) {
            const d = dst.indexes.find((x) => x.name === i.name && x.am === i.am);
            if (!d) problems.push(`vector index ${i.name} (${i.am}) is missing on the target`);
            else if (d.def !== i.def)
              problems.push(`vector index ${i.name} (${i.am}) differs: source ${i.def}; target ${d.def}`);
          }
        }
        // Exact nearest neighbours: only when everything above agrees (different dims would make the query fail).
        if (src && !problems.length && !(src.pk && src.pk === dst.pk))
          await annotate(
            `exact nearest-neighbour check skipped: ${src.pk ? `the primary key differs (source ${src.pk}, target ${dst.pk ?? 'none'})` : 'the table has no single-column primary key to name neighbours by'}`,
            'evidence',
          );
        if (src && !problems.length && src.pk && src.pk === dst.pk) {
          if (Math.max(src.rows_estimate, dst.rows_estimate) > NN_MAX_ROWS) {
            await annotate(`exact nearest-neighbour check skipped: more than ${NN_MAX_ROWS} rows`, 'evidence');
          } else {
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
              const sq = sampleVectorsQuery(v, src.pk, NN_SAMPLES, srcExt!.schema, mixed ? g.dims : undefined);
              const groupSamples = await withPinned(
                s.src!,
                async (c) => (await c.query<{ id: string; vec: string }>(sq.text, sq.values)).rows,
              );
              samples = samples.concat(groupSamples);
              for (const x of groupSamples) {
                const [a, b] = await Promise.all(
                  (
                    [
                      ['src', srcExt!.schema],
                      ['dst', dstExt!.schema],
                    ] as const
                  ).map(([which, schema]) => {
                    const q = nearestQuery(v, src.pk!, schema, x.vec, NN_K, mixed ? g.dims : undefined);
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
              await annotate(
                `mixed dimensions in one column (${describeGroups(src.groups, src.groups_total)}): distances exist only within one dimension, so nearest neighbours were compared per dimension group` +
                  (src.groups_total > compared.length
                    ? `; ${compared.length} largest groups compared, ${src.groups_total - compared.length} not (skipped: more than ${NN_MAX_GROUPS} dimension groups)`
                    : ` (all ${compared.length} groups)`),
                'evidence',
              );
            await annotate(
              `exact nearest neighbours (k=${NN_K}) of ${samples.length} sampled vectors compared`,
              'evidence',
            );
          }
        }
        expect(problems.length === 0, `${name(v)}: ${problems.join('; ')}`).toBe(true);
      });
    }
  }
}
