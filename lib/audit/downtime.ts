/**
 * The downtime estimate: the rehearsal's measured phase timings for the work that happens inside the cutover window
 * (final dump, restore, final sync, verify), plus a 50 % buffer. Hooks (maintenance, workers, switch) are the
 * operator's and not measured here. Lives in the audit floor because report.html draws it on the history chart; the
 * cutover's plan (lib/cutover/estimate.ts) prints the same figure.
 */
import type { Manifest } from './manifest.ts';

export const BUFFER = 0.5;

export interface Estimate {
  /** The window's parts, each with its measured milliseconds and what it stands for. */
  parts: Array<{ name: string; ms: number; note: string }>;
  /** The parts added up (ms). */
  totalMs: number;
  /** totalMs × (1 + BUFFER), rounded up (ms). */
  bufferedMs: number;
}

/** The estimate from one rehearsal's manifest (its phases' durationMs and the run's durationMs). */
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
