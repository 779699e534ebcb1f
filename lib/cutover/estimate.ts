/**
 * The downtime estimate: the rehearsal's measured phase timings for the work that happens inside the window (final
 * dump, restore, final sync, verify), plus a 50 % buffer. Hooks (maintenance, workers, switch) are the operator's and
 * not measured here; the plan says so.
 */
import type { Manifest } from '../audit/manifest.ts';
import { formatDuration } from '../core/format.ts';

export const BUFFER = 0.5;

export interface Estimate {
  parts: Array<{ name: string; ms: number; note: string }>;
  totalMs: number;
  bufferedMs: number;
}

export function downtimeEstimate(m: Pick<Manifest, 'phases' | 'durationMs'>): Estimate {
  const ms = (name: string) => m.phases.find((p) => p.name === name)?.durationMs ?? 0;
  const copy = ['preflight', 'dump', 'restore', 'mirror'].reduce((a, n) => a + ms(n), 0);
  const checks = Math.max(0, m.durationMs - copy);
  const parts = [
    { name: 'dump', ms: ms('dump'), note: 'final pg_dump' },
    { name: 'restore', ms: ms('restore'), note: 'restore + ANALYZE' },
    {
      name: 'sync',
      ms: ms('mirror'),
      note: 'the rehearsal copied the whole tree; the final sync after presync moves only what changed, so this is an upper bound',
    },
    { name: 'verify', ms: checks + ms('preflight'), note: 'the full check suite (with its preflight)' },
  ];
  const totalMs = parts.reduce((a, p) => a + p.ms, 0);
  return { parts, totalMs, bufferedMs: Math.ceil(totalMs * (1 + BUFFER)) };
}

export function estimateLines(e: Estimate, runId: string): string[] {
  return [
    `Downtime estimate (from rehearsal ${runId}'s phase timings, +${BUFFER * 100} % buffer):`,
    ...e.parts.map((p) => `  ${p.name.padEnd(8)} ${formatDuration(p.ms).padStart(12)}   ${p.note}`),
    `  ${'measured'.padEnd(8)} ${formatDuration(e.totalMs).padStart(12)}`,
    `  ESTIMATE ${formatDuration(e.bufferedMs).padStart(12)}   (measured × ${1 + BUFFER}; plus the time your hooks take: maintenance, workers, switch, smoke list)`,
  ];
}
