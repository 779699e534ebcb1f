/**
 * The downtime estimate: the rehearsal's measured phase timings for the work that happens inside the window (final
 * dump, restore, final sync, verify), plus a 50 % buffer. Hooks (maintenance, workers, switch) are the operator's and
 * not measured here; the plan says so.
 */
import { formatDuration } from '../core/format.ts';
import { BUFFER, type Estimate } from '../audit/downtime.ts';

// The estimate itself lives in lib/audit/downtime.ts (report.html draws it on the history chart).
export { BUFFER, downtimeEstimate, type Estimate } from '../audit/downtime.ts';

export function estimateLines(e: Estimate, runId: string): string[] {
  return [
    `Downtime estimate (from rehearsal ${runId}'s phase timings, +${BUFFER * 100} % buffer):`,
    ...e.parts.map((p) => `  ${p.name.padEnd(8)} ${formatDuration(p.ms).padStart(12)}   ${p.note}`),
    `  ${'measured'.padEnd(8)} ${formatDuration(e.totalMs).padStart(12)}`,
    `  ESTIMATE ${formatDuration(e.bufferedMs).padStart(12)}   (measured × ${1 + BUFFER}; plus the time your hooks take: maintenance, workers, switch, smoke list)`,
  ];
}
