/**
 * report.html's pictures, drawn at report time as inline SVG by Observable Plot (server-side, on a linkedom DOM): no
 * script reaches the page, and the SVG needs nothing from the network. Each function takes the numbers of
 * lib/audit/report-data.ts and returns an `<svg>` (or Plot's `<figure>` with a legend) as a string; the page wraps it
 * in a `<figure class="chart" data-chart=…>` with a caption that says the same in words.
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import { formatBytes, formatDuration } from '../core/format.ts';
import type { HistoryRun } from './history.ts';
import { CENSUS_PARTS, type CensusCounts, type PhaseSpan, type TableRow } from './report-data.ts';

/** Plot's drawing width in px; the SVG scales down with the page (max-width: 100%), never wider. */
export const CHART_WIDTH = 1000;

/** Colours by state, shared by every chart (failures red). */
export const STATE_COLORS: Record<string, string> = {
  ok: '#2e7d32',
  passed: '#2e7d32',
  warning: '#d9a400',
  failed: '#c62828',
  'not run': '#9e9e9e',
  skipped: '#9e9e9e',
  interrupted: '#c62828',
};

const PHASE_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#17becf'];

function documentFor(): Document {
  return parseHTML('<!doctype html><html><body></body></html>').document as unknown as Document;
}

function render(options: Plot.PlotOptions): string {
  const el = Plot.plot({ document: documentFor(), width: CHART_WIDTH, style: { fontSize: '12px' }, ...options });
  return (el as unknown as { outerHTML: string }).outerHTML;
}

function seconds(s: number): string {
  return formatDuration(Math.round(s * 1000));
}

/** The copy phases and the checks as bars on one time axis (seconds), coloured by status, labelled with durations. */
export function phaseTimelineSvg(spans: PhaseSpan[]): string {
  return render({
    height: 50 + 34 * spans.length,
    marginLeft: 90,
    marginRight: 110,
    x: { label: 'seconds since the run started', grid: true },
    y: { label: null, domain: spans.map((s) => s.name) },
    color: { domain: Object.keys(STATE_COLORS), range: Object.values(STATE_COLORS) },
    marks: [
      Plot.barX(spans, { x1: 'start', x2: 'end', y: 'name', fill: 'status', insetTop: 4, insetBottom: 4 }),
      Plot.text(spans, {
        x: 'end',
        y: 'name',
        text: (s: PhaseSpan) => `${seconds(s.end - s.start)}${s.status === 'ok' ? '' : ` ${s.status}`}`,
        textAnchor: 'start',
        dx: 4,
      }),
      Plot.ruleX([0]),
    ],
  });
}

/** Tables largest first: a bar per table (bytes, else rows), coloured by status, labelled rows · size · seconds. */
export function tableChartSvg(rows: TableRow[]): string {
  const bySize = rows.some((r) => r.bytes !== undefined);
  const value = (r: TableRow) => (bySize ? (r.bytes ?? 0) : (r.rows ?? 0));
  const label = (r: TableRow) =>
    [
      r.rows !== undefined ? `${r.rows.toLocaleString('en-US')} rows` : 'rows ?',
      r.bytes !== undefined ? formatBytes(r.bytes) : undefined,
      `${r.seconds.toFixed(2)} s`,
      r.status === 'passed' ? undefined : r.status.toUpperCase(),
    ]
      .filter(Boolean)
      .join(' · ');
  return render({
    height: 50 + 26 * rows.length,
    marginLeft: 230,
    marginRight: 260,
    x: {
      label: bySize ? 'size in the target (pg_table_size)' : 'rows in the target',
      grid: true,
      ...(bySize ? { tickFormat: (b: number) => formatBytes(b) } : {}),
    },
    y: { label: null, domain: rows.map((r) => r.table) },
    color: { domain: Object.keys(STATE_COLORS), range: Object.values(STATE_COLORS) },
    marks: [
      Plot.barX(rows, { x: value, y: 'table', fill: 'status', insetTop: 3, insetBottom: 3 }),
      Plot.text(rows, { x: value, y: 'table', text: label, textAnchor: 'start', dx: 4 }),
      Plot.ruleX([0]),
    ],
  });
}

/** The asset census as one stacked bar (matched / differing / missing / already missing / unreferenced), with a key. */
export function censusBarSvg(c: CensusCounts): string {
  const parts = CENSUS_PARTS.map(([k, label]) => ({ part: label, n: c[k] }));
  const colors = ['#2e7d32', '#ef6c00', '#c62828', '#8d6e63', '#1565c0'];
  return render({
    height: 110,
    marginLeft: 20,
    x: { label: 'files / referenced paths', grid: true },
    color: { domain: parts.map((p) => p.part), range: colors, legend: true },
    marks: [
      Plot.barX(parts, Plot.stackX({ x: 'n', fill: 'part', insetTop: 2, insetBottom: 2 })),
      Plot.text(
        parts.filter((p) => p.n > 0),
        Plot.stackX({ x: 'n', text: (p: { n: number }) => String(p.n), fill: 'white' }),
      ),
    ],
  });
}

/**
 * The last runs' phase durations as stacked bars (one per run, oldest at the top), with each run's downtime estimate
 * (measured × 1.5) drawn as a black tick and labelled.
 */
export function historyChartSvg(runs: HistoryRun[]): string {
  const rows = runs.flatMap((r) => r.phases.map((p) => ({ run: r.runId, phase: p.name, s: p.seconds })));
  const phases = [...new Set(rows.map((r) => r.phase))];
  return render({
    height: 80 + 30 * runs.length,
    marginLeft: 190,
    marginRight: 120,
    x: { label: 'seconds (bars: measured phases; tick: downtime estimate)', grid: true },
    y: { label: null, domain: runs.map((r) => r.runId) },
    color: { domain: phases, range: PHASE_COLORS, legend: true },
    marks: [
      Plot.barX(rows, Plot.stackX({ x: 's', y: 'run', fill: 'phase', order: phases, insetTop: 4, insetBottom: 4 })),
      Plot.tickX(runs, { x: 'estimateSeconds', y: 'runId', stroke: 'black', strokeWidth: 3 }),
      Plot.text(runs, {
        x: 'estimateSeconds',
        y: 'runId',
        text: (r: HistoryRun) => `estimate ${seconds(r.estimateSeconds)}`,
        textAnchor: 'start',
        dx: 6,
      }),
      Plot.ruleX([0]),
    ],
  });
}
