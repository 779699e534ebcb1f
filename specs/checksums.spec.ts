/**
 * Content checksums, one test per compared table: equal row count and equal order-independent checksum on source and
 * target; on a mismatch, the differing key ranges and keys (lib/checksum.ts).
 */
import { afterAll, test } from 'vitest';
import {
  compareTable,
  displayKey,
  displayRange,
  locateDifferences,
  sideRunner,
  type TableChecksumResult,
} from '../lib/checks/families/checksums/checksum.ts';
import { scanContext, tableScan, tableShapes, type ScanContext } from '../lib/checks/shared/shared-scan.ts';
import { closePools, dbErrorMessage } from '../lib/core/db.ts';
import { comparedTables, deepContext, sideName, sides } from '../lib/checks/shared/deep-context.ts';
import { fail, failNotChecked } from '../lib/checks/shared/verdict.ts';
import { displayTable, type TableRef } from '../lib/core/ident.ts';
import { writeFullList } from '../lib/checks/shared/full-list.ts';

const dc = deepContext();
afterAll(() => closePools());

const name = (t: TableRef) => `checksum ${displayTable(t)}`;

if (dc.blocked) {
  const tables = dc.ctx.plan?.tables ?? [];
  if (!tables.length) test('checksums (not checked)', () => failNotChecked(dc.blocked!));
  for (const t of tables) test(name(t), () => failNotChecked(dc.blocked!));
} else {
  const cfg = dc.cfg!;
  const s = sides(cfg);
  let subjects: TableRef[] = [];
  let discoveryError: string | undefined;
  try {
    subjects = (await comparedTables(dc, s)).tables;
  } catch (e) {
    discoveryError = dbErrorMessage(cfg.src ?? cfg.dst, e);
  }
  if (cfg.checksumTables) {
    const wanted = new Set(cfg.checksumTables.map(displayTable));
    const known = new Set(subjects.map(displayTable));
    subjects = [
      ...subjects.filter((t) => wanted.has(displayTable(t))),
      ...cfg.checksumTables.filter((t) => !known.has(displayTable(t))),
    ];
  }
  if (discoveryError) {
    test('checksums (table discovery)', () => fail(`could not list the tables to checksum: ${discoveryError}`));
  } else if (cfg.checksum === 'off') {
    test.skip('checksums (CHECKSUM=off)', () => {});
  } else if (!s.src) {
    test.skip('checksums (SRC_DATABASE_URL is not set: nothing to compare the target with)', () => {});
  } else if (subjects.length === 0) {
    test.skip('checksums (no tables to compare)', () => {});
  } else {
    const pools = { src: s.src, dst: s.dst };
    const sc: ScanContext = { ...scanContext(dc.ctx, cfg), checksumTables: subjects };
    /**
     * The checksum from the run's one fused scan per table and side (shared with the row count and path prefix);
     * the separate checksum query only if that scan was made without the checksum.
     */
    const fusedChecksum = async (t: TableRef): Promise<TableChecksumResult> => {
      const cmp = await tableShapes(sc, t);
      if (cmp.problem !== undefined) return { problem: cmp.problem, ms: {} };
      // Each side's failure is named as that side's (the scan of one side never fails for the other's sake).
      const scan = (side: 'src' | 'dst') =>
        tableScan(sc, side, t).catch((e) => {
          throw new Error(
            `the ${sideName(side)}'s scan failed: ${dbErrorMessage(side === 'src' ? cfg.src! : cfg.dst, e)}`,
          );
        });
      const [a, b] = await Promise.all([scan('src'), scan('dst')]);
      if (a.sum === undefined || b.sum === undefined) return compareTable(pools, t);
      parts.set(displayTable(t), Math.max(a.parts, b.parts));
      return {
        method: cmp.method,
        src: { rows: a.rows!, sum: a.sum },
        dst: { rows: b.rows!, sum: b.sum },
        equal: a.rows === b.rows && a.sum === b.sum,
        hasKey: cmp.hasKey,
        shape: cmp.shape,
        ms: { src: a.ms, dst: b.ms },
      };
    };
    const parts = new Map<string, number>();
    for (const t of subjects) {
      test.concurrent(name(t), async ({ expect, annotate }) => {
        let r;
        try {
          r = await fusedChecksum(t);
        } catch (e) {
          fail(`checksum of ${displayTable(t)} could not be computed: ${(e as Error).message}`);
        }
        if (r.problem) fail(`checksum ${displayTable(t)}: ${r.problem}`);
        const evidence =
          `source: ${r.src!.rows} rows, sum ${r.src!.sum} (${r.ms.src} ms); target: ${r.dst!.rows} rows, sum ${r.dst!.sum} (${r.ms.dst} ms); ` +
          `method ${r.method}${(parts.get(displayTable(t)) ?? 1) > 1 ? `; each side read as ${parts.get(displayTable(t))} block ranges at once` : ''}${r.hasKey ? '' : '; no primary key: whole-table checksum only'}`;
        await annotate(evidence, 'evidence');
        if (r.equal) return;
        const head = `checksum ${displayTable(t)} differs (rows: source ${r.src!.rows}, target ${r.dst!.rows})`;
        if (!r.hasKey)
          fail(
            `${head}; the table has no primary key (on both sides), so the difference cannot be narrowed down by key`,
          );
        const shape = r.shape!;
        const found = await locateDifferences(sideRunner(pools), t, shape, r.method!, {
          src: BigInt(r.src!.rows),
          dst: BigInt(r.dst!.rows),
        });
        const ranges = found.ranges.map((x) => displayRange(shape.key, x));
        const keys = found.keys.map((k) => `${displayKey(shape.key, k.key)} (${k.what})`);
        await annotate(
          `bisection: ${found.queries} queries; differing ranges: ${ranges.join('; ') || 'none found'}${found.truncated ? ' (stopped at the query budget)' : ''}`,
          'evidence',
        );
        await writeFullList(
          annotate,
          name(t),
          `keys that differ (${shape.key.map((k) => k.name).join(', ')}): <key> (missing on target | extra on target | changed); then ranges not narrowed further: range <range>`,
          [...keys, ...ranges.map((x) => `range ${x}`)],
          { max: cfg.fullListMax },
        );
        fail(
          `${head}: first differing key ranges: ${ranges.join('; ') || '(none isolated)'}; differing keys: ${keys.join(', ') || '(none isolated)'}`,
        );
      });
    }
  }
}
