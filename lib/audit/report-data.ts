/**
 * The numbers behind report.html's pictures and summary.md's matching text, shaped from what the audit trail already
 * holds (the manifest, the check records, earlier runs' manifests). Pure: no file or database is read here.
 *
 * - `tableRows`: one row per table of the plan: rows (the row-count check's target count), bytes (the target's
 *   pg_table_size, measured at the end of the run), the worst state of the checks that name the table, and the
 *   seconds those checks took; largest first.
 * - `censusCounts`: the asset census in five numbers, read from the census checks' evidence lines.
 * - `phaseSpans`: the copy phases and the checks as spans on one time axis (seconds from the run's start).
 */
import type { Manifest } from './manifest.ts';
import type { CheckRecord } from './reporter.ts';
import { isWarning } from './totals.ts';

export type TableStatus = 'failed' | 'warning' | 'passed' | 'not run';

export interface TableRow {
  /** `schema.table`. */
  table: string;
  /** Rows in the target, from the row-count check's evidence (`target: N rows`). */
  rows?: number;
  /** pg_table_size of the target table, in bytes. */
  bytes?: number;
  status: TableStatus;
  /** Seconds the table's checks took, summed. */
  seconds: number;
  /** The table's failed checks, by name. */
  failedChecks: string[];
}

const RANK: Record<TableStatus, number> = { failed: 3, warning: 2, passed: 1, 'not run': 0 };

function stateOf(c: CheckRecord): TableStatus {
  if (c.state === 'failed') return 'failed';
  if (isWarning(c)) return 'warning';
  return c.state === 'passed' ? 'passed' : 'not run';
}

/** Whether a check's name names `table` as a whole word (`row count public.users`, not `public.users_old`). */
function names(check: string, table: string): boolean {
  const at = check.indexOf(table);
  if (at < 0) return false;
  const after = check[at + table.length];
  const before = check[at - 1];
  return (after === undefined || /[\s(,;:]/.test(after)) && (before === undefined || /[\s(]/.test(before));
}

/**
 * One row per table (see the module comment), largest first (bytes, then rows, then name).
 * @param tables `schema.table` names, as the plan lists them
 * @param sizes pg_table_size per `schema.table`, when the target could say
 */
export function tableRows(tables: string[], checks: CheckRecord[], sizes: Record<string, number> = {}): TableRow[] {
  const rows = tables.map((table): TableRow => {
    const mine = checks.filter((c) => names(c.name, table));
    const count = mine.find((c) => c.name.startsWith('row count '));
    const rowsText = count?.annotations.map((a) => /^target: (\d+) rows/.exec(a.message)?.[1]).find(Boolean);
    const status = mine.map(stateOf).reduce<TableStatus>((w, s) => (RANK[s] > RANK[w] ? s : w), 'not run');
    return {
      table,
      ...(rowsText ? { rows: Number(rowsText) } : {}),
      ...(sizes[table] !== undefined ? { bytes: sizes[table] } : {}),
      status,
      seconds: mine.reduce((t, c) => t + (c.durationMs ?? 0), 0) / 1000,
      failedChecks: mine.filter((c) => c.state === 'failed').map((c) => c.name),
    };
  });
  return rows.sort(
    (a, b) => (b.bytes ?? -1) - (a.bytes ?? -1) || (b.rows ?? -1) - (a.rows ?? -1) || a.table.localeCompare(b.table),
  );
}

export interface CensusCounts {
  /** Files compared source = target with no difference (every-file census; else the sample). */
  matched: number;
  /** Files whose size, mtime or bytes differ. */
  differing: number;
  /** Referenced paths missing on the target that the source has (new dangling paths). */
  missing: number;
  /** Referenced paths missing on the target that were already missing in the source. */
  alreadyMissing: number;
  /** Files on the target that no row references. */
  unreferenced: number;
}

/** The census bar's segments, in drawing order, with their labels. */
export const CENSUS_PARTS: Array<[keyof CensusCounts, string]> = [
  ['matched', 'matched'],
  ['differing', 'differing'],
  ['missing', 'missing'],
  ['alreadyMissing', 'already missing in the source'],
  ['unreferenced', 'unreferenced'],
];

function num(re: RegExp, texts: string[]): number | undefined {
  for (const t of texts) {
    const m = re.exec(t);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/**
 * The asset census in five numbers, from the census checks' evidence (lib/checks/families/asset-census words them); undefined
 * when the run has no census check that ran. A number the evidence does not state counts 0.
 */
export function censusCounts(checks: CheckRecord[]): CensusCounts | undefined {
  const census = checks.filter((c) => c.family === 'asset-census' && (c.state === 'passed' || c.state === 'failed'));
  if (!census.length) return undefined;
  const text = (c: CheckRecord) => [...c.annotations.map((a) => a.message), ...c.errors];
  const every = census.find((c) => c.name.startsWith('asset census every file'));
  const sample = census.find((c) => c.name.startsWith('asset census sampled files'));
  const compared = every ?? sample;
  const t = compared ? text(compared) : [];
  const total = num(/(\d+) (?:source|sampled) files compared/, t) ?? 0;
  const differing = num(/(\d+) differ\b/, t) ?? 0;
  let missing = 0;
  let alreadyMissing = 0;
  for (const c of census) {
    const m = /dangling paths: in source (\d+), in target (\d+), new (\d+)/.exec(text(c).join('\n'));
    if (m) {
      missing += Number(m[3]);
      alreadyMissing += Number(m[2]) - Number(m[3]);
    }
  }
  const unref = census.find((c) => c.name.startsWith('asset census unreferenced'));
  const unreferenced = (unref && num(/^(\d+) of \d+ files under/, text(unref))) ?? 0;
  const notOnTarget = num(/(\d+) missing on the target/, t) ?? 0;
  return {
    matched: Math.max(0, total - differing - notOnTarget),
    differing,
    missing: Math.max(missing, notOnTarget),
    alreadyMissing: Math.max(0, alreadyMissing),
    unreferenced,
  };
}

export interface PhaseSpan {
  name: string;
  status: string;
  /** Seconds from the run's start. */
  start: number;
  end: number;
}

/**
 * The copy phases and the checks on one time axis (seconds from the run's start): each phase from its `startedAt`
 * (or the end of the one before) for its duration; then `checks`, from the last phase's end to the run's end.
 * Skipped phases take no time and are left out.
 */
export function phaseSpans(m: Pick<Manifest, 'phases' | 'startedAt' | 'durationMs' | 'exitCode'>): PhaseSpan[] {
  const t0 = Date.parse(m.startedAt);
  const spans: PhaseSpan[] = [];
  let cursor = 0;
  for (const p of m.phases) {
    if (p.status === 'skipped' || p.durationMs === undefined) continue;
    const at = p.startedAt ? (Date.parse(p.startedAt) - t0) / 1000 : cursor;
    const start = Number.isFinite(at) && at >= 0 ? at : cursor;
    spans.push({ name: p.name, status: p.status, start, end: start + p.durationMs / 1000 });
    cursor = Math.max(cursor, start + p.durationMs / 1000);
  }
  const end = m.durationMs / 1000;
  if (end > cursor) spans.push({ name: 'checks', status: m.exitCode === 1 ? 'failed' : 'ok', start: cursor, end });
  return spans;
}
