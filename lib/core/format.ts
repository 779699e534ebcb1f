/**
 * Human-readable quantities for console lines and reports. One home for each, so a duration or a size reads the same
 * in the progress lines, the run summary, the cutover estimate and the report.
 */

/**
 * A duration for people: `850 ms`, `12.3 s`, `15 min 00 s`, `1 h 30 min`.
 * @param ms milliseconds; `undefined` gives `''` (nothing measured, nothing shown).
 */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const min = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h} h ${String(min).padStart(2, '0')} min` : `${min} min ${String(sec).padStart(2, '0')} s`;
}

/**
 * A size in binary units: `512 B`, `1.5 KiB`, `183.2 MiB`.
 * @param n bytes; `undefined` gives `''`.
 */
export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/**
 * Compare dotted versions numerically, component by component ("0.8.10" > "0.8.9"; "1.0" = "1.0.0"; a non-numeric
 * tail such as "-beta" counts as 0). Negative when a < b, 0 when equal, positive when a > b.
 */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

/** `1 warning`, `2 warnings`, `0 warnings`: `n` and `word`, with an English plural `s` unless n is 1. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
