/**
 * Progress of the long phases (dump, restore, mirror) and of the checks: the throttle that keeps a CI log quiet, the
 * meter that prints through it, and the parsers of the tools' progress output. The parsers and the throttle are pure
 * (the clock is injected), so they are unit-tested without a tool or a timer.
 *
 * Output rules: on a terminal one line is updated in place (carriage return, at most every 200 ms); anywhere else
 * (CI, a pipe: rehearse reads the vitest child through one) plain lines only, never a carriage return, printed when
 * BOTH about 5 s have passed and another 10% is done since the last printed line (whichever is rarer). The first and
 * the last line are always printed, so a log always shows "0/N" and "N/N".
 */
import { formatDuration } from './format.ts';
import { redact } from './redact.ts';

export interface ThrottleOptions {
  /** Least time between two printed lines. */
  minIntervalMs: number;
  /** Least growth of the done fraction between two printed lines (0.1 = 10 percentage points). */
  minStep: number;
  /**
   * A heartbeat: after this long without a printed line, print even though the fraction did not grow by `minStep`
   * (a long check or index build must not look like a hang). Absent: no heartbeat.
   */
  heartbeatMs?: number;
}

/** Plain lines in a log: every ~5 s or every 10%, whichever is rarer. */
export const LOG_THROTTLE: ThrottleOptions = { minIntervalMs: 5_000, minStep: 0.1 };
/** The updating line on a terminal: often enough to look alive, rarely enough not to cost anything. */
export const TTY_THROTTLE: ThrottleOptions = { minIntervalMs: 200, minStep: 0 };

/** The last printed update: when, and the done fraction then (undefined when the total is unknown). */
export interface Printed {
  at: number;
  fraction?: number;
}

/**
 * Whether an update at `now` with `fraction` done is printed, given the last printed one. Without a known fraction
 * (no total yet) time alone decides.
 */
export function shouldPrint(
  last: Printed | undefined,
  now: number,
  fraction: number | undefined,
  o: ThrottleOptions,
): boolean {
  if (!last) return true;
  if (now - last.at < o.minIntervalMs) return false;
  if (o.heartbeatMs !== undefined && now - last.at >= o.heartbeatMs) return true;
  if (fraction === undefined || last.fraction === undefined) return true;
  // A tiny epsilon: 0.3 - 0.2 is 0.09999999999999998 in floating point.
  return fraction - last.fraction >= o.minStep - 1e-9;
}

/** done/total as a fraction in [0, 1]; undefined without a positive total. */
export function fractionOf(done: number, total: number | undefined): number | undefined {
  if (!total || total <= 0) return undefined;
  return Math.min(1, Math.max(0, done / total));
}

/** "3/7 tables dumped (43%)"; "3 tables dumped" while the total is unknown. */
export function countLine(done: number, total: number | undefined, what: string): string {
  const f = fractionOf(done, total);
  return f === undefined ? `${done} ${what}` : `${done}/${total} ${what} (${Math.floor(f * 100)}%)`;
}

/** Where a meter's text goes: a plain line (logs, and the final line on a terminal) or an in-place update. */
export interface ProgressWriter {
  line(text: string): void;
  /** Rewrite the current terminal line (only called when the meter runs on a TTY). */
  update?(text: string): void;
}

export interface ProgressOptions<T> {
  /** The text of one update. */
  format: (value: T) => string;
  /** The done fraction of a value, for the throttle; undefined when unknown. */
  fraction: (value: T) => number | undefined;
  writer: ProgressWriter;
  /** Updating line (true) or plain lines (false). */
  tty: boolean;
  now?: () => number;
  throttle?: ThrottleOptions;
}

/** A meter: start() and finish() always print; update() prints what the throttle lets through. */
export class Progress<T> {
  private last?: Printed;
  private lastText?: string;
  private pending = false;
  private readonly now: () => number;
  private readonly throttle: ThrottleOptions;

  constructor(private readonly o: ProgressOptions<T>) {
    this.now = o.now ?? Date.now;
    this.throttle = o.throttle ?? (o.tty ? TTY_THROTTLE : LOG_THROTTLE);
  }

  start(value: T): void {
    this.print(value, false);
  }

  update(value: T): void {
    const fraction = this.o.fraction(value);
    if (!shouldPrint(this.last, this.now(), fraction, this.throttle)) return;
    this.print(value, this.o.tty);
  }

  /** The closing line (on a terminal it ends the updating line); not repeated when it is the last printed text. */
  finish(value: T): void {
    const text = this.o.format(value);
    if (text === this.lastText && !this.pending) return;
    this.lastText = text;
    this.pending = false;
    this.o.writer.line(text);
  }

  private print(value: T, inPlace: boolean): void {
    const text = this.o.format(value);
    this.last = { at: this.now(), fraction: this.o.fraction(value) };
    if (text === this.lastText) return;
    this.lastText = text;
    if (inPlace && this.o.writer.update) {
      this.pending = true;
      this.o.writer.update(text);
    } else {
      this.pending = false;
      this.o.writer.line(text);
    }
  }
}

/** Whether this process prints to a terminal (else: plain lines only). */
export function stdoutIsTty(): boolean {
  return process.stdout.isTTY === true;
}

/**
 * The writer of a copy phase: plain lines through the phase's `say` (redacted, into the phase log and the console);
 * on a terminal the in-place updates go straight to stdout, redacted, and the final line through `say` again.
 */
export function phaseWriter(
  say: (line: string) => void,
  prefix: string,
  out: NodeJS.WriteStream = process.stdout,
): ProgressWriter {
  let open = false;
  return {
    line(text) {
      if (open) out.write('\r\x1b[K');
      open = false;
      say(`progress: ${text}`);
    },
    update(text) {
      open = true;
      out.write(`\r${redact(`${prefix}progress: ${text}`)}\x1b[K`);
    },
  };
}

/** A counting meter ("3/7 tables dumped (43%)") for a phase. */
export function countingProgress(
  say: (line: string) => void,
  prefix: string,
  what: string,
  opts: { tty?: boolean; now?: () => number } = {},
): Progress<{ done: number; total?: number }> {
  const now = opts.now ?? Date.now;
  const t0 = now();
  return new Progress({
    format: (v) => `${countLine(v.done, v.total, what)}, ${timing(fractionOf(v.done, v.total), now() - t0)}`,
    fraction: (v) => fractionOf(v.done, v.total),
    writer: phaseWriter(say, prefix),
    tty: opts.tty ?? stdoutIsTty(),
    now: opts.now,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Parsers of the tools' output

/** `pg_dump: dumping contents of table "public.users"` (pg_dump --verbose) → `public.users`. */
export function dumpedTable(line: string): string | undefined {
  return /^pg_dump: dumping contents of table "(.*)"$/.exec(line)?.[1];
}

/** `pg_restore: processing data for table "public.users"` (pg_restore --verbose) → `public.users`. */
export function restoredTable(line: string): string | undefined {
  return /^pg_restore: processing data for table "(.*)"$/.exec(line)?.[1];
}

/**
 * An informational line of pg_dump/pg_restore --verbose ("reading schemas", "creating TABLE ..."): it belongs in the
 * phase log but not in the stderr tail an error message quotes. Errors, warnings, their details/hints and the
 * "from TOC entry" context are never informational.
 */
export function isVerboseInfo(line: string): boolean {
  return /^pg_(dump|restore): (?!(error|warning|detail|hint|fatal):|from TOC entry)/.test(line);
}

export interface RsyncProgress {
  /** Bytes transferred so far (whole run). */
  bytes: number;
  /** rsync's own percentage of the whole run. */
  percent: number;
  /** Files transferred so far (xfr#). */
  files?: number;
  /** Entries checked so far, out of `total` (to-chk=remaining/total). */
  checked?: number;
  total?: number;
  /** false while rsync is still scanning (incremental recursion, "ir-chk"): `total` may grow. */
  totalFinal?: boolean;
}

/**
 * One update of `rsync --info=progress2` (rsync separates them with carriage returns; a line reader splits on those):
 * `    200,000  20%  159.48MB/s    0:00:00 (xfr#1, to-chk=4/7)`.
 */
export function parseRsyncProgress2(line: string): RsyncProgress | undefined {
  const m = /^\s*([\d,]+)\s+(\d+)%\s+\S+\s+\d+:\d{2}:\d{2}(?:\s+\(xfr#(\d+),\s*(to|ir)-chk=(\d+)\/(\d+)\))?\s*$/.exec(
    line,
  );
  if (!m) return undefined;
  const p: RsyncProgress = { bytes: Number(m[1].replace(/,/g, '')), percent: Number(m[2]) };
  if (m[3] !== undefined) {
    const total = Number(m[6]);
    Object.assign(p, { files: Number(m[3]), total, checked: total - Number(m[5]), totalFinal: m[4] === 'to' });
  }
  return p;
}

/** `12.3 MiB transferred, 5 files, 7/7 entries checked (100%)`. */
export function mirrorLine(p: RsyncProgress, formatBytes: (n: number) => string): string {
  const parts = [`${formatBytes(p.bytes)} transferred`, `${p.files ?? 0} files`];
  if (p.total !== undefined) parts.push(`${p.checked}/${p.total}${p.totalFinal === false ? '+' : ''} entries checked`);
  return `${parts.join(', ')} (${p.percent}%)`;
}

// ---------------------------------------------------------------------------------------------------------------
// Byte progress: elapsed, rate and ETA

/** What a byte meter knows at one moment. */
export interface ByteProgress {
  /** Bytes done so far (written, transferred, restored). */
  bytes: number;
  /** The expected total in the same unit, when known (source size, TOC data sizes, rsync's estimate). */
  total?: number;
  /** The done fraction when it is known better than bytes/total (e.g. weighted by table size); else bytes/total. */
  fraction?: number;
  elapsedMs: number;
  /** Words after the numbers (`of the source tables' size`), shown once. */
  of?: string;
}

/** The done fraction of a byte progress, in [0, 1], or undefined. */
export function byteFraction(p: ByteProgress): number | undefined {
  if (p.fraction !== undefined) return Math.min(1, Math.max(0, p.fraction));
  return fractionOf(p.bytes, p.total);
}

/**
 * `12.3 MiB of 183.2 MiB source tables (6%), 4.1 MiB/s, elapsed 3.0 s, ETA 42.0 s`: bytes against the total, the
 * average rate since the start, the time spent and what remains at that pace (ETA unknown until something is done).
 */
export function byteLine(
  p: ByteProgress,
  formatBytes: (n: number) => string,
  formatDuration: (ms: number) => string,
): string {
  const f = byteFraction(p);
  const rate = p.elapsedMs > 0 ? (p.bytes * 1000) / p.elapsedMs : 0;
  const parts = [
    `${formatBytes(p.bytes)}${p.total !== undefined ? ` of ${formatBytes(p.total)}${p.of ? ` ${p.of}` : ''}` : ''}${f !== undefined ? ` (${Math.floor(f * 100)}%)` : ''}`,
    `${formatBytes(Math.round(rate))}/s`,
    `elapsed ${formatDuration(p.elapsedMs)}`,
  ];
  if (f !== undefined && f >= 1) parts.push('done');
  else if (f !== undefined && f > 0) parts.push(`ETA ${formatDuration((p.elapsedMs * (1 - f)) / f)}`);
  else parts.push('ETA unknown');
  return parts.join(', ');
}

/**
 * Call `sample()` every `intervalMs` until stopped (a file's growing size, a database's size); errors are ignored
 * (the file may not exist yet). Returns the stop function.
 */
export function pollEvery(sample: () => void | Promise<void>, intervalMs = 1000): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    if (stopped) return;
    try {
      await sample();
    } catch {
      /* not there yet */
    }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  timer = setTimeout(tick, intervalMs);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}

/** `elapsed 3.0 s, ETA 9.4 s` (ETA from the done fraction at the average pace so far; `done` at 100%). */
export function timing(fraction: number | undefined, elapsedMs: number): string {
  const e = `elapsed ${formatDuration(elapsedMs)}`;
  if (fraction === undefined || fraction <= 0) return `${e}, ETA unknown`;
  if (fraction >= 1) return `${e}, done`;
  return `${e}, ETA ${formatDuration((elapsedMs * (1 - fraction)) / fraction)}`;
}
