/**
 * The fused table scans (lib/checks/shared/table-scan.ts), computed once per run and read by the row-count, checksum and
 * path-prefix checks, whichever spec file and worker process asks first.
 *
 * Sharing: within a process, a promise per key; across vitest's worker processes, a file per key in
 * WORK_DIR/scans/<run id>/: the first process to create `<key>.lock` (O_EXCL) computes and writes `<key>.json`
 * (atomically, by rename); the others wait for that file. The lock is lib/core/run-lock.ts's `lockFile` (a lock whose
 * process is gone is taken over); a failure is
 * written as `{ "error": ... }` so every reader reports the same error. The files hold counts, sums and timings (no
 * value of any row), and also let the bench see when each scan ran.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { AssetColumn, Config, Relation } from '../../core/config.ts';
import { displayTable, type TableRef } from '../../core/ident.ts';
import { dbErrorMessage, keepPoolsFor } from '../../core/db.ts';
import { lockFile } from '../../core/run-lock.ts';
import type { CheckPlan } from '../../core/state.ts';
import {
  compareShapes,
  shapeFromRows,
  shapeQuery,
  type ShapeComparison,
  type ShapeRow,
} from '../families/checksums/checksum.ts';
import type { RehearsalContext } from './context.ts';
import { sideName, sides, withPinned } from './deep-context.ts';
import { runScan, type ScanResult, type ScanSpec } from './table-scan.ts';
import { mkdirPrivate } from '../../core/files.ts';

const memo = new Map<string, Promise<unknown>>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `compute()` once per `key` and run directory, shared by every process of the run (see the module doc).
 * @param dir WORK_DIR/scans/<run id> (created when missing).
 * @throws the computing process's error (as an Error with its message) in every process.
 */
export function shared<T>(dir: string, key: string, compute: () => Promise<T>): Promise<T> {
  const id = createHash('sha256').update(key).digest('hex').slice(0, 24);
  const file = path.join(dir, `${id}.json`);
  let p = memo.get(file) as Promise<T> | undefined;
  if (!p) {
    p = sharedViaFiles(dir, file, key, compute);
    memo.set(file, p);
  }
  return p;
}

async function sharedViaFiles<T>(dir: string, file: string, key: string, compute: () => Promise<T>): Promise<T> {
  mkdirPrivate(dir); // WORK_DIR/scans/<run id>: 0700 like every directory of WORK_DIR
  const lock = `${file}.lock`;
  const read = (): T => {
    const x = JSON.parse(fs.readFileSync(file, 'utf8')) as { key: string; value?: T; error?: string; code?: string };
    if (x.error !== undefined) throw Object.assign(new Error(x.error), x.code ? { code: x.code } : {});
    return x.value as T;
  };
  for (;;) {
    if (fs.existsSync(file)) return read();
    // One lock-file implementation (lib/core/run-lock.ts): O_EXCL, the holder's pid, a dead holder's lock taken over.
    const held = lockFile(lock, { key }, () => 'busy', 'busy');
    if (!held.ok) {
      await sleep(20);
      continue;
    }
    try {
      if (fs.existsSync(file)) return read();
      let body: string;
      try {
        body = JSON.stringify({ key, value: await keepPoolsFor(compute()) });
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        body = JSON.stringify({
          key,
          error: (e as Error).message ?? String(e),
          code: typeof code === 'string' ? code : undefined,
        });
      }
      fs.writeFileSync(`${file}.tmp${process.pid}`, body, { mode: 0o600 });
      fs.renameSync(`${file}.tmp${process.pid}`, file);
    } finally {
      held.release();
    }
    return read();
  }
}

/** What the checks need to know to build the same scans in every process (from the plan and the configuration). */
export interface ScanContext {
  cfg: Config;
  /** Absent when discovery made no plan (then no asset column rides on the scans). */
  plan?: CheckPlan;
  /** WORK_DIR/scans/<run id>. */
  dir: string;
  pools: { src?: pg.Pool; dst: pg.Pool };
  /** Tables the checksum family compares (the plan's tables filtered by CHECKSUM_TABLES). */
  checksumTables: TableRef[];
}

const same = (a: TableRef, b: TableRef) => a.schema === b.schema && a.name === b.name;

/** The asset columns of `t` that exist on the target (their path-prefix counts ride on the target's scan). */
export function prefixColumnsOf(plan: CheckPlan | undefined, t: TableRef): string[] {
  if (!plan) return [];
  return plan.assetColumns.filter((c) => c.exists && same(c.table, t)).map((c) => c.column);
}

/**
 * The relations whose orphans may fold into the scan of `t` (lib/checks/shared/orphan-fold.ts): those whose child is
 * `t`, and those whose child is not a table of the plan (a partition: each side's catalog tells whether it is one of
 * `t`'s). In plan order; the same list in every process.
 */
export function orphanCandidates(plan: CheckPlan | undefined, t: TableRef): Relation[] {
  if (!plan) return [];
  return plan.relations.filter((r) => same(r.child, t) || !plan.tables.some((x) => same(x, r.child)));
}

/**
 * Whether the scan of `t` on `side` can carry folded orphan checks: only a scan that runs to the end anyway (with a
 * checksum, or on the target with path-prefix counts); a count-only scan keeps its ROWCOUNT_TIMEOUT_MS bound and folds
 * nothing. The scan may still drop the checksum (shapes that differ): its result then carries no folded relation.
 */
export function scanFoldsOrphans(sc: ScanContext, side: 'src' | 'dst', t: TableRef): boolean {
  return checksummed(sc, t) || (side === 'dst' && prefixColumnsOf(sc.plan, t).length > 0);
}

/** Whether the checksum family compares `t` in this run. */
export function checksummed(sc: Pick<ScanContext, 'cfg' | 'pools' | 'checksumTables'>, t: TableRef): boolean {
  return sc.cfg.checksum === 'full' && !!sc.pools.src && sc.checksumTables.some((x) => same(x, t));
}

/**
 * The shape rows of `t` on one side (lib/checks/families/checksums/checksum.ts shapeQuery), shared by the run.
 * @throws that side's error, unchanged (its SQLSTATE/errno code kept), so the caller can say which side failed.
 */
export function sideShape(sc: ScanContext, side: 'src' | 'dst', t: TableRef): Promise<ShapeRow[]> {
  return shared(sc.dir, `shape ${side} ${displayTable(t)}`, async () => {
    const pool = side === 'src' ? sc.pools.src : sc.pools.dst;
    if (!pool) throw new Error(`no ${sideName(side)} database is configured`);
    const q = shapeQuery(t);
    return withPinned(pool, async (c) => (await c.query<ShapeRow>(q.text, q.values as unknown[])).rows);
  });
}

/**
 * The shapes of `t` on both sides, compared (lib/checks/families/checksums/checksum.ts compareShapes); shared by the run.
 * @throws `the <side>'s columns of <table> could not be read: <dbErrorMessage>`, naming the side that failed (the
 *   source's error when both fail).
 */
export function tableShapes(sc: ScanContext, t: TableRef): Promise<ShapeComparison> {
  return shared(sc.dir, `shape ${displayTable(t)}`, async () => {
    const read = async (side: 'src' | 'dst') => {
      try {
        return await sideShape(sc, side, t);
      } catch (e) {
        const dsn = side === 'src' ? sc.cfg.src : sc.cfg.dst;
        const why = dsn ? dbErrorMessage(dsn, e) : (e as Error).message;
        const code = (e as { code?: unknown }).code;
        throw Object.assign(
          new Error(`the ${sideName(side)}'s columns of ${displayTable(t)} could not be read: ${why}`),
          code ? { code } : {},
        );
      }
    };
    const [s, d] = await Promise.allSettled([read('src'), read('dst')]);
    if (s.status === 'rejected') throw s.reason;
    if (d.status === 'rejected') throw d.reason;
    return compareShapes(shapeFromRows(s.value), shapeFromRows(d.value));
  });
}

/**
 * The fused scan of `t` on one side, shared by the run: count, plus the checksum when the checksum family compares
 * `t` and the shapes allow it, plus (target only) the path-prefix counts of the table's asset columns, plus the orphan
 * counts of the relations folded into it (orphanCandidates; lib/checks/shared/orphan-fold.ts).
 *
 * Only this side's failures fail this scan. The checksum needs the shapes of both sides: when the OTHER side's shape
 * cannot be read (that server is down), this side's scan goes on without the checksum (a plain count, bounded by
 * ROWCOUNT_TIMEOUT_MS when nothing else rides on it), and the checksum check reports the other side's error itself.
 * @throws this side's error with its code (reading this side's shape, or the scan).
 */
export function tableScan(sc: ScanContext, side: 'src' | 'dst', t: TableRef): Promise<ScanResult> {
  return shared(sc.dir, `scan ${side} ${displayTable(t)}`, async () => {
    const pool = side === 'src' ? sc.pools.src : sc.pools.dst;
    if (!pool) throw new Error(`no ${sideName(side)} database is configured`);
    let checksum: ScanSpec['checksum'];
    if (checksummed(sc, t)) {
      await sideShape(sc, side, t);
      const cmp = await sideShape(sc, side === 'src' ? 'dst' : 'src', t).then(
        () => tableShapes(sc, t),
        () => undefined,
      );
      if (cmp && cmp.problem === undefined) checksum = { columns: cmp.shape.columns, method: cmp.method };
    }
    const prefixColumns = side === 'dst' ? prefixColumnsOf(sc.plan, t) : [];
    const spec: ScanSpec = {
      table: t,
      checksum,
      prefixColumns,
      prefix: sc.cfg.assetsDbPathPrefix,
      countTimeoutMs: sc.cfg.rowcountTimeoutMs,
      orphans: orphanCandidates(sc.plan, t),
    };
    return runScan(pool, spec, {
      splitBytes: sc.cfg.checksumSplitMb * 1024 * 1024,
      parts: sc.cfg.checkConcurrency,
    });
  });
}

/** WORK_DIR/scans/<run id>: where a run's shared scans are kept. */
export function scansDir(workDir: string, runId: string): string {
  return path.join(workDir, 'scans', runId);
}

/** Every scan file of a run directory (the bench reads when each scan ran). */
export function readScans(dir: string): Array<{ key: string; value?: ScanResult; error?: string }> {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')))
    .filter((x) => typeof x.key === 'string' && x.key.startsWith('scan '));
}

/**
 * The scan context of a spec process: pools of both sides (bounded by CHECK_CONCURRENCY), the plan, and the tables
 * the checksum family compares (CHECKSUM_TABLES, else the plan's tables).
 */
export function scanContext(ctx: RehearsalContext, cfg: Config): ScanContext {
  const s = sides(cfg);
  return {
    cfg,
    plan: ctx.plan,
    dir: scansDir(ctx.workDir, ctx.runId),
    pools: { src: s.src, dst: s.dst },
    checksumTables: cfg.checksumTables ?? ctx.plan?.tables ?? [],
  };
}

export type { AssetColumn };
