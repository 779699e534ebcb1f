/**
 * Content checksums, one test per compared table: equal row count and equal order-independent checksum on source and
 * target; on a mismatch, the differing key ranges and keys (./checksum.ts).
 */
import { dbErrorMessage } from '../../../core/db.ts';
import { displayTable, type TableRef } from '../../../core/ident.ts';
import { failed, type Entry, type Family, type Notes, type Verdict } from '../../family.ts';
import { configOf, type CheckContext } from '../../shared/context.ts';
import { comparedTables, sideName, sides } from '../../shared/deep-context.ts';
import { writeFullList } from '../../shared/full-list.ts';
import { detachedChildrenHint } from '../../shared/inheritance.ts';
import { NO_SOURCE } from '../../shared/plan-notes.ts';
import { scanContext, tableScan, tableShapes, type ScanContext } from '../../shared/shared-scan.ts';
import {
  compareTable,
  displayKey,
  displayRange,
  locateDifferences,
  sideRunner,
  type TableChecksumResult,
} from './checksum.ts';

/** A compared table and the scan context every table of the run shares (the CHECKSUM_TABLES subset included). */
interface Subject {
  table: TableRef;
  sc: ScanContext;
}

/** The tables to checksum: the compared tables, narrowed (and extended) by CHECKSUM_TABLES. */
async function tablesToCompare(ctx: CheckContext): Promise<TableRef[]> {
  const cfg = configOf(ctx);
  let tables = (await comparedTables(ctx, sides(cfg))).tables;
  if (cfg.checksumTables) {
    const wanted = new Set(cfg.checksumTables.map(displayTable));
    const known = new Set(tables.map(displayTable));
    tables = [
      ...tables.filter((t) => wanted.has(displayTable(t))),
      ...cfg.checksumTables.filter((t) => !known.has(displayTable(t))),
    ];
  }
  return tables;
}

async function subjects(ctx: CheckContext): Promise<Array<Entry<Subject>>> {
  if (ctx.blocked || !ctx.config) {
    const tables = ctx.run.plan?.tables ?? [];
    const reason = ctx.blocked ?? 'no configuration';
    if (!tables.length) return [{ name: 'checksums (not checked)', verdict: { status: 'not-checked', reason } }];
    return tables.map((table) => ({
      name: checksums.name({ table } as Subject),
      verdict: { status: 'not-checked', reason },
    }));
  }
  const cfg = ctx.config;
  let tables: TableRef[];
  try {
    tables = await tablesToCompare(ctx);
  } catch (e) {
    const msg = dbErrorMessage(cfg.src ?? cfg.dst, e);
    return [{ name: 'checksums (table discovery)', verdict: failed(`could not list the tables to checksum: ${msg}`) }];
  }
  if (cfg.checksum === 'off') return [{ skip: 'checksums', reason: 'CHECKSUM=off' }];
  if (!cfg.src)
    return [{ skip: 'checksums', reason: 'SRC_DATABASE_URL is not set: nothing to compare the target with' }];
  if (tables.length === 0) return [{ skip: 'checksums', reason: 'no tables to compare' }];
  const sc: ScanContext = { ...scanContext(ctx.run, cfg), checksumTables: tables };
  return tables.map((table) => ({ subject: { table, sc } }));
}

/**
 * The checksum from the run's one fused scan per table and side (shared with the row count and path prefix); the
 * separate checksum query only if that scan was made without the checksum. `parts`: block ranges read at once.
 */
async function fusedChecksum(
  ctx: CheckContext,
  { table: t, sc }: Subject,
): Promise<TableChecksumResult & { parts?: number }> {
  const cfg = configOf(ctx);
  const s = sides(cfg);
  const pools = { src: s.src!, dst: s.dst };
  const cmp = await tableShapes(sc, t);
  if (cmp.problem !== undefined) return { problem: cmp.problem, ms: {} };
  // Each side's failure is named as that side's (the scan of one side never fails for the other's sake).
  const scan = (side: 'src' | 'dst') =>
    tableScan(sc, side, t).catch((e) => {
      throw new Error(`the ${sideName(side)}'s scan failed: ${dbErrorMessage(side === 'src' ? cfg.src! : cfg.dst, e)}`);
    });
  const [a, b] = await Promise.all([scan('src'), scan('dst')]);
  if (a.sum === undefined || b.sum === undefined) return compareTable(pools, t);
  return {
    method: cmp.method,
    src: { rows: a.rows!, sum: a.sum },
    dst: { rows: b.rows!, sum: b.sum },
    equal: a.rows === b.rows && a.sum === b.sum,
    hasKey: cmp.hasKey,
    shape: cmp.shape,
    ...(cmp.orderNote ? { orderNote: cmp.orderNote } : {}),
    ms: { src: a.ms, dst: b.ms },
    parts: Math.max(a.parts, b.parts),
  };
}

/** A differing table with a key: bisect to the differing ranges and keys, write the full list, fail naming them. */
async function narrowDown(
  ctx: CheckContext,
  subject: Subject,
  r: TableChecksumResult,
  head: string,
  notes: Notes,
): Promise<Verdict> {
  const cfg = configOf(ctx);
  const s = sides(cfg);
  const t = subject.table;
  const shape = r.shape!;
  const found = await locateDifferences(sideRunner({ src: s.src!, dst: s.dst }), t, shape, r.method!, {
    src: BigInt(r.src!.rows),
    dst: BigInt(r.dst!.rows),
  });
  const ranges = found.ranges.map((x) => displayRange(shape.key, x));
  const keys = found.keys.map((k) => `${displayKey(shape.key, k.key)} (${k.what})`);
  await notes(
    `bisection: ${found.queries} queries; differing ranges: ${ranges.join('; ') || 'none found'}${found.truncated ? ' (stopped at the query budget)' : ''}`,
    'evidence',
  );
  await writeFullList(
    notes,
    checksums.name(subject),
    `keys that differ (${shape.key.map((k) => k.name).join(', ')}): <key> (missing on target | extra on target | changed); then ranges not narrowed further: range <range>`,
    [...keys, ...ranges.map((x) => `range ${x}`)],
    { max: cfg.fullListMax },
  );
  return failed(
    `${head}: first differing key ranges: ${ranges.join('; ') || '(none isolated)'}; differing keys: ${keys.join(', ') || '(none isolated)'}`,
  );
}

async function check(subject: Subject, ctx: CheckContext, notes: Notes): Promise<Verdict | void> {
  const t = subject.table;
  let r;
  try {
    r = await fusedChecksum(ctx, subject);
  } catch (e) {
    return failed(`checksum of ${displayTable(t)} could not be computed: ${(e as Error).message}`);
  }
  if (r.problem) return failed(`checksum ${displayTable(t)}: ${r.problem}`);
  const parts = r.parts ?? 1;
  if (r.orderNote) await notes(r.orderNote, 'evidence');
  await notes(
    `source: ${r.src!.rows} rows, sum ${r.src!.sum} (${r.ms.src} ms); target: ${r.dst!.rows} rows, sum ${r.dst!.sum} (${r.ms.dst} ms); ` +
      `method ${r.method}${parts > 1 ? `; each side read as ${parts} block ranges at once` : ''}${r.hasKey ? '' : '; no primary key: whole-table checksum only'}`,
    'evidence',
  );
  if (r.equal) return;
  const moved = BigInt(r.dst!.rows) < BigInt(r.src!.rows) ? await detachedChildrenHint(configOf(ctx), t) : undefined;
  const head = `checksum ${displayTable(t)} differs (rows: source ${r.src!.rows}, target ${r.dst!.rows}${moved ? `; ${moved}` : ''})`;
  if (!r.hasKey)
    return failed(
      `${head}; the table has no primary key (on both sides), so the difference cannot be narrowed down by key`,
    );
  return narrowDown(ctx, subject, r, head, notes);
}

export const checksums: Family<Subject> = {
  id: 'checksums',
  label: 'checksums',
  spec: 'specs/checksums.spec.ts',
  prefixes: ['checksum', 'checksums'],
  needsSource: true,
  reads: ['CHECKSUM', 'CHECKSUM_TABLES'],
  passesWhen: 'order-independent row hashes equal on both sides; a mismatch is narrowed to keys',
  planLines: ({ config, plan }) => {
    if (config.checksum === 'off') return { head: 'skipped (CHECKSUM=off)', checks: [] };
    if (!config.src) return { head: NO_SOURCE, checks: [] };
    const tables = config.checksumTables ?? plan.tables;
    return {
      head: `${tables.length} tables${config.checksumTables ? ' (CHECKSUM_TABLES)' : ''}`,
      checks: tables.map((table) => checksums.name({ table } as Subject)),
    };
  },
  concurrent: true,
  subjects,
  name: (s) => `checksum ${displayTable(s.table)}`,
  check,
};
