/**
 * The rehearsal gate: a cutover phase that starts or advances the migration runs only after a green, recent, full
 * rehearsal of the same source. The evidence is the rehearsal's own manifest (REPORTS_DIR/latest → manifest.json).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseDsn, sameDatabase, describeDsn, type Dsn } from '../core/dsn.ts';
import { resolveLatest } from '../audit/history.ts';
import { readManifest, type Manifest } from '../audit/manifest.ts';

export interface FoundManifest {
  manifest: Manifest;
  runDir: string;
  /** How it was found: the latest pointer, or the newest full run when latest is a verify-only/rerun run. */
  via: 'latest' | 'newest full run';
}

/**
 * The manifest of the newest full rehearsal: REPORTS_DIR/latest when that is a full run; otherwise the newest run
 * folder holding a full-mode manifest (a later --verify-only or --rerun-failed proves no copy and must not hide it).
 */
export function findRehearsal(reportsDir: string): FoundManifest | undefined {
  const latest = resolveLatest(reportsDir);
  const latestManifest = latest ? safeRead(latest.runDir) : undefined;
  if (latest && latestManifest?.mode === 'full')
    return { manifest: latestManifest, runDir: latest.runDir, via: 'latest' };
  const runs = path.join(reportsDir, 'runs');
  if (!fs.existsSync(runs)) return undefined;
  for (const id of fs.readdirSync(runs).sort().reverse()) {
    const m = safeRead(path.join(runs, id));
    if (m?.mode === 'full') return { manifest: m, runDir: path.join(runs, id), via: 'newest full run' };
  }
  return undefined;
}

function safeRead(runDir: string): Manifest | undefined {
  try {
    return readManifest(runDir);
  } catch {
    return undefined;
  }
}

export interface GateVerdict {
  ok: boolean;
  /** Why not (names the run and the fix), or what was accepted. */
  message: string;
  runId?: string;
  finishedAt?: string;
  ageDays?: number;
}

const DAY_MS = 86_400_000;

/**
 * Judge a rehearsal manifest: full mode, exit 0, no failed check, the same source database (host/port/db of the
 * redacted SRC_DATABASE_URL recorded in its effective configuration), and at most `maxAgeDays` old at `at`.
 */
export function judgeRehearsal(
  found: FoundManifest | undefined,
  src: Dsn,
  maxAgeDays: number,
  at: Date,
  reportsDir: string,
): GateVerdict {
  const rerunHint =
    'run a full rehearsal of this source into the new target (npm test, with DST_DROP_SCHEMA=1 if the target already holds one)';
  if (!found) {
    return {
      ok: false,
      message: `no rehearsal manifest in REPORTS_DIR (${reportsDir}): the cutover runs only after a green rehearsal of the same source; ${rerunHint}`,
    };
  }
  const m = found.manifest;
  const id = `rehearsal ${m.runId} (${found.runDir})`;
  const base = { runId: m.runId, finishedAt: m.finishedAt };
  const problems: string[] = [];
  if (m.exitCode !== 0 || (m.totals?.failed ?? 0) > 0) {
    problems.push(
      `it is not green (exit ${m.exitCode}, ${m.totals?.failed ?? '?'} failed check(s)${
        m.failures?.length
          ? `, e.g. ${m.failures
              .slice(0, 3)
              .map((f) => f.name)
              .join('; ')}`
          : ''
      })`,
    );
  }
  let recorded: Dsn | undefined;
  try {
    recorded = parseDsn(m.config?.SRC_DATABASE_URL ?? '', "the manifest's SRC_DATABASE_URL");
  } catch {
    recorded = undefined;
  }
  if (!recorded) {
    problems.push(`it records no source database (SRC_DATABASE_URL ${m.config?.SRC_DATABASE_URL ?? 'missing'})`);
  } else if (!sameDatabase(recorded, src)) {
    problems.push(`it rehearsed another source (${describeHostDb(recorded)}), not ${describeHostDb(src)}`);
  }
  const finished = Date.parse(m.finishedAt);
  const ageDays = Number.isFinite(finished) ? (at.getTime() - finished) / DAY_MS : Number.POSITIVE_INFINITY;
  if (ageDays > maxAgeDays) {
    problems.push(
      `it is too old: finished ${m.finishedAt}, ${ageDays.toFixed(1)} days before ${at.toISOString()}, more than CUTOVER_MAX_REHEARSAL_AGE_DAYS=${maxAgeDays}`,
    );
  }
  if (problems.length) {
    return {
      ...base,
      ok: false,
      ageDays,
      message: `${id} does not allow the cutover: ${problems.join('; ')}; ${rerunHint}`,
    };
  }
  return {
    ...base,
    ok: true,
    ageDays,
    message: `${id}: green (${m.totals.passed} checks passed), same source, ${ageDays.toFixed(1)} days old (limit ${maxAgeDays})`,
  };
}

function describeHostDb(d: Dsn): string {
  return describeDsn({ ...d, user: undefined, password: undefined, params: {} }).replace(/^postgresql:\/\//, '');
}
