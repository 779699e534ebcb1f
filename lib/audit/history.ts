/**
 * The run history under REPORTS_DIR:
 *
 *   runs/<run-id>/   one folder per run, never overwritten (run ids are timestamps plus a random suffix)
 *   latest           symlink → runs/<newest run-id>
 *   latest.json      the same pointer as a file, for platforms and tools without symlinks
 *   junit.xml        a copy of the newest run's junit.xml, for CI systems that read a fixed path
 *
 * and the recent runs' phase durations that report.html's history chart draws.
 */
import fs from 'node:fs';
import path from 'node:path';
import { downtimeEstimate } from './downtime.ts';
import { writeAtomic, type Manifest } from './manifest.ts';

export const LATEST_LINK = 'latest';
export const LATEST_POINTER = 'latest.json';
export const FIXED_JUNIT = 'junit.xml';

export interface LatestPointer {
  runId: string;
  /** The run folder relative to REPORTS_DIR. */
  dir: string;
  finishedAt: string;
  exitCode: number;
}

/** The folder of one run: `REPORTS_DIR/runs/<run-id>`. */
export function runDirOf(reportsDir: string, runId: string): string {
  return path.join(reportsDir, 'runs', runId);
}

/** The newest run, from latest.json (or, failing that, the `latest` symlink); undefined when there is none. */
export function resolveLatest(reportsDir: string): { runId: string; runDir: string } | undefined {
  const pointer = path.join(reportsDir, LATEST_POINTER);
  if (fs.existsSync(pointer)) {
    try {
      const p = JSON.parse(fs.readFileSync(pointer, 'utf8')) as LatestPointer;
      const runDir = path.resolve(reportsDir, p.dir);
      if (p.runId && fs.existsSync(runDir)) return { runId: p.runId, runDir };
    } catch {
      // fall through to the symlink
    }
  }
  const link = path.join(reportsDir, LATEST_LINK);
  try {
    const target = fs.readlinkSync(link);
    const runDir = path.resolve(reportsDir, target);
    if (fs.existsSync(runDir)) return { runId: path.basename(runDir), runDir };
  } catch {
    // no symlink
  }
  return undefined;
}

/**
 * Point `latest` (symlink + latest.json) at this run and copy its junit.xml to the fixed path, unless a newer run
 * already finished (two rehearsals at once: the newest run id wins). Returns problems worth telling the user about.
 */
export function updateLatest(reportsDir: string, p: LatestPointer): string[] {
  const problems: string[] = [];
  const current = resolveLatest(reportsDir);
  if (current && current.runId > p.runId) {
    return [`latest stays at the newer run ${current.runId}`];
  }
  writeAtomic(path.join(reportsDir, LATEST_POINTER), JSON.stringify(p, null, 2) + '\n');

  const link = path.join(reportsDir, LATEST_LINK);
  let existing: fs.Stats | undefined;
  try {
    existing = fs.lstatSync(link);
  } catch {
    existing = undefined;
  }
  if (existing && !existing.isSymbolicLink()) {
    problems.push(`${link} exists and is not a symlink; left alone (latest.json points at ${p.dir})`);
  } else {
    const tmp = `${link}.${process.pid}.tmp`;
    try {
      fs.rmSync(tmp, { force: true });
      fs.symlinkSync(p.dir, tmp, 'dir');
      fs.renameSync(tmp, link); // atomic replacement of the old link
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      problems.push(
        `could not create the ${LATEST_LINK} symlink (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); use ${LATEST_POINTER}`,
      );
    }
  }

  const junit = path.join(reportsDir, p.dir, 'junit.xml');
  // An empty junit.xml (a run interrupted before vitest wrote it) never replaces the last complete one at the CI path.
  if (fs.existsSync(junit) && fs.statSync(junit).size > 0)
    writeAtomic(path.join(reportsDir, FIXED_JUNIT), fs.readFileSync(junit));
  return problems;
}

/** One earlier (or this) run on the history chart: its phases' durations and its downtime estimate. */
export interface HistoryRun {
  runId: string;
  /** Copy phases that ran, and `checks` (the rest of the run), each in seconds. */
  phases: Array<{ name: string; seconds: number }>;
  /** The downtime estimate from this run's timings (lib/audit/downtime.ts), buffered, in seconds. */
  estimateSeconds: number;
}

/** A full rehearsal's manifest as a history entry (phases ran + checks, estimate); undefined for other modes. */
export function historyEntry(m: Pick<Manifest, 'runId' | 'mode' | 'phases' | 'durationMs'>): HistoryRun | undefined {
  if (m.mode !== 'full') return undefined;
  const ran = m.phases.filter((p) => p.status !== 'skipped' && p.durationMs !== undefined);
  if (!ran.length) return undefined;
  const copyMs = ran.reduce((t, p) => t + (p.durationMs ?? 0), 0);
  return {
    runId: m.runId,
    phases: [
      ...ran.map((p) => ({ name: p.name, seconds: (p.durationMs ?? 0) / 1000 })),
      { name: 'checks', seconds: Math.max(0, m.durationMs - copyMs) / 1000 },
    ],
    estimateSeconds: downtimeEstimate(m).bufferedMs / 1000,
  };
}

/**
 * The last `limit` full rehearsals under REPORTS_DIR/runs that are older than `before` (run ids sort by time), oldest
 * first, read from their manifest.json; a run folder without a readable manifest is passed over.
 */
export function recentRuns(reportsDir: string, before: string, limit = 9): HistoryRun[] {
  let ids: string[];
  try {
    ids = fs.readdirSync(path.join(reportsDir, 'runs')).filter((id) => id < before);
  } catch {
    return [];
  }
  const out: HistoryRun[] = [];
  for (const id of ids.sort().reverse()) {
    if (out.length >= limit) break;
    try {
      const m = JSON.parse(fs.readFileSync(path.join(reportsDir, 'runs', id, 'manifest.json'), 'utf8')) as Manifest;
      const h = historyEntry(m);
      if (h) out.push(h);
    } catch {
      // no manifest (an interrupted run) or not JSON: not part of the history
    }
  }
  return out.reverse();
}
