/**
 * The downtime estimate the cutover plan prints: every phase the window runs, in the window's order (freeze …
 * unfreeze). The copy work (final dump, restore, final sync, verify) is the measured phase timings of the latest GREEN
 * full rehearsal (lib/audit/downtime.ts; a refused or failed run's timings are never used); each hook is its latest
 * measured duration in the cutover log (an earlier cutover rehearsal), or said to be unmeasured. Plus a 50 % buffer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { formatDuration } from '../core/format.ts';
import { BUFFER, downtimeEstimate, type Estimate } from '../audit/downtime.ts';
import { readManifest, type Manifest } from '../audit/manifest.ts';
import { HOOKS, type HookName } from './config.ts';
import type { LogEntry } from './log.ts';
import { PHASES, PHASE_NAMES } from './phases.ts';

// The rehearsal part lives in lib/audit/downtime.ts (report.html draws it on the history chart).
export { BUFFER, downtimeEstimate, type Estimate } from '../audit/downtime.ts';

/** A run whose timings may be used: a full rehearsal that exited 0 with no failed check. */
export function isGreenFullRun(m: Manifest): boolean {
  return m.mode === 'full' && m.exitCode === 0 && (m.totals?.failed ?? 0) === 0;
}

/**
 * The newest green full rehearsal under REPORTS_DIR/runs (run ids sort by time), or undefined. Unreadable manifests,
 * verify-only runs, reruns, refused (exit 2) and failed runs are passed over.
 */
export function findGreenRehearsal(reportsDir: string): { manifest: Manifest; runDir: string } | undefined {
  const runs = path.join(reportsDir, 'runs');
  if (!fs.existsSync(runs)) return undefined;
  for (const id of fs.readdirSync(runs).sort().reverse()) {
    let m: Manifest | undefined;
    try {
      m = readManifest(path.join(runs, id));
    } catch {
      continue;
    }
    if (m && isGreenFullRun(m)) return { manifest: m, runDir: path.join(runs, id) };
  }
  return undefined;
}

/** Each hook's latest successful duration in the cutover log (ms), over every attempt. */
export function measuredHooks(entries: readonly LogEntry[]): Partial<Record<HookName, number>> {
  const out: Partial<Record<HookName, number>> = {};
  for (const e of entries)
    for (const h of e.hooks ?? [])
      if (h.status === 'ok' && h.durationMs !== undefined) out[h.hook as HookName] = h.durationMs;
  return out;
}

/** The rehearsal's window parts by cutover phase (lib/audit/downtime.ts names them after the cutover phases). */
const COPY_PHASES = new Set(['dump', 'restore', 'sync', 'verify']);

/**
 * The whole window's estimate: for each window phase in order, its hooks (measured in the cutover log, else 0 ms
 * with a note saying so) and its copy work (the rehearsal's timings). `unmeasured` lists the hooks' variables with no
 * measurement yet. The buffer applies to the total.
 */
export function windowEstimate(
  rehearsal: Pick<Manifest, 'phases' | 'durationMs'>,
  entries: readonly LogEntry[],
): Estimate & { unmeasured: string[] } {
  const copy = new Map(downtimeEstimate(rehearsal).parts.map((p) => [p.name, p]));
  const hooks = measuredHooks(entries);
  const parts: Estimate['parts'] = [];
  const unmeasured: string[] = [];
  for (const phase of PHASE_NAMES.filter((p) => p !== 'presync')) {
    for (const hook of PHASES[phase].hooks) {
      const spec = HOOKS.find((h) => h.name === hook)!;
      const ms = hooks[hook];
      if (ms === undefined) unmeasured.push(spec.variable);
      parts.push({
        name: `${phase}: ${spec.variable}`,
        ms: ms ?? 0,
        note: ms === undefined ? 'not measured yet (no cutover log entry has it)' : 'measured in the cutover log',
      });
    }
    if (COPY_PHASES.has(phase)) parts.push(copy.get(phase)!);
  }
  const totalMs = parts.reduce((a, p) => a + p.ms, 0);
  return { parts, totalMs, bufferedMs: Math.ceil(totalMs * (1 + BUFFER)), unmeasured };
}

/** The plan's estimate lines: which run the timings come from, each part, the measured total and the estimate. */
export function estimateLines(e: Estimate & { unmeasured?: string[] }, runId: string): string[] {
  const missing = e.unmeasured?.length ? `; plus the hooks not measured yet: ${e.unmeasured.join(', ')}` : '';
  return [
    `Downtime estimate (the window's phases; copy work from the latest green full rehearsal ${runId}, hooks from the cutover log; +${BUFFER * 100} % buffer):`,
    ...e.parts.map((p) => `  ${p.name.padEnd(36)} ${formatDuration(p.ms).padStart(12)}   ${p.note}`),
    `  ${'measured'.padEnd(36)} ${formatDuration(e.totalMs).padStart(12)}`,
    `  ESTIMATE ${formatDuration(e.bufferedMs).padStart(12)}   (measured × ${1 + BUFFER}${missing})`,
  ];
}
