/**
 * Progress the server itself reports while the dump and the restore run: rows and bytes inside the table being
 * copied (`pg_stat_progress_copy`, PostgreSQL 14+) and each index build as its own step
 * (`pg_stat_progress_create_index`, PostgreSQL 12+: phase, blocks and tuples done of total, any access method —
 * btree, HNSW, IVFFlat). The tool's own output says only when a table starts; the server says how far it is inside it.
 *
 * The watcher polls on ONE connection to the server that runs the COPY (the source for pg_dump's COPY TO, the target
 * for pg_restore's COPY FROM and CREATE INDEX), at a modest interval, and only the run's backends: its database and
 * its application_name (a managed role may see only its own backends anyway). It never fails the phase: a view that
 * cannot be read, a lost connection or an older server (13: no copy view; the phases' byte meters from the table
 * sizes remain) only end or thin out these lines. Lines go through lib/core/progress.ts's `Progress` (the one place
 * that decides what is printed: throttled plain lines in a log, one updating line on a terminal).
 *
 * Sources: https://www.postgresql.org/docs/current/progress-reporting.html (COPY and CREATE INDEX progress reporting).
 */
import type pg from 'pg';
import { withConnection } from '../core/db.ts';
import type { Dsn } from '../core/dsn.ts';
import { formatBytes } from '../core/format.ts';
import type { PhaseCtx } from './phase.ts';
import {
  fractionOf,
  phaseWriter,
  Progress,
  stdoutIsTty,
  type ProgressWriter,
  type ThrottleOptions,
} from '../core/progress.ts';

/** One COPY in progress, as pg_stat_progress_copy shows it (numbers as JS numbers). */
export interface CopyRow {
  pid: number;
  /** `schema.table` of the copied table (empty for a COPY of a query). */
  table: string;
  /** `COPY TO` or `COPY FROM`. */
  command: string;
  bytesProcessed: number;
  /** Size of the input file for COPY FROM a file; 0 for STDIN/STDOUT (the dump's and the restore's case). */
  bytesTotal: number;
  tuplesProcessed: number;
  /** Expected rows of the table (the source's estimate), when known. */
  tuplesExpected?: number;
}

/** One index build in progress, as pg_stat_progress_create_index shows it. */
export interface IndexRow {
  pid: number;
  /** The index (`schema.name`), or empty while it does not exist yet. */
  index: string;
  /** The table it indexes (`schema.table`). */
  table: string;
  /** The server's phase text, e.g. `building index: loading tuples in tree`. */
  phase: string;
  blocksDone: number;
  blocksTotal: number;
  tuplesDone: number;
  tuplesTotal: number;
}

const n = (x: number) => x.toLocaleString('en-US');

/** The done fraction of a COPY: bytes of a known input, else rows against the expected rows; undefined unknown. */
export function copyFraction(r: CopyRow): number | undefined {
  if (r.bytesTotal > 0) return fractionOf(r.bytesProcessed, r.bytesTotal);
  return r.tuplesExpected && r.tuplesExpected > 0 ? fractionOf(r.tuplesProcessed, r.tuplesExpected) : undefined;
}

/**
 * `table public.events: 812,345 of ~2,000,000 rows (40%), 45.2 MiB` (`~`: the source's estimate, pg_class.reltuples);
 * without an estimate `table public.events: 812,345 rows, 45.2 MiB`.
 */
export function copyLine(r: CopyRow): string {
  const f = copyFraction(r);
  const rows =
    r.tuplesExpected && r.tuplesExpected > 0
      ? `${n(r.tuplesProcessed)} of ~${n(r.tuplesExpected)} rows`
      : `${n(r.tuplesProcessed)} rows`;
  return `table ${r.table || '(query)'}: ${rows}${f !== undefined ? ` (${Math.floor(f * 100)}%)` : ''}, ${formatBytes(r.bytesProcessed)}`;
}

/** The done fraction of an index build's current phase: blocks when the server counts them, else tuples. */
export function indexFraction(r: IndexRow): number | undefined {
  if (r.blocksTotal > 0) return fractionOf(r.blocksDone, r.blocksTotal);
  if (r.tuplesTotal > 0) return fractionOf(r.tuplesDone, r.tuplesTotal);
  return undefined;
}

/**
 * `index public.events_pkey on public.events: building index: scanning table, 1,234 of 5,678 blocks (21%)`; the
 * phase alone when the server counts nothing in it (`waiting for writers before build`).
 */
export function indexLine(r: IndexRow): string {
  const head = `index ${r.index || '(new)'}${r.table ? ` on ${r.table}` : ''}: ${r.phase}`;
  if (r.blocksTotal > 0)
    return `${head}, ${n(r.blocksDone)} of ${n(r.blocksTotal)} blocks (${Math.floor(indexFraction(r)! * 100)}%)`;
  if (r.tuplesTotal > 0)
    return `${head}, ${n(r.tuplesDone)} of ${n(r.tuplesTotal)} tuples (${Math.floor(indexFraction(r)! * 100)}%)`;
  return head;
}

// The run's backends only: this database, this application_name, not the watcher itself.
const COPY_SQL = `SELECT p.pid, coalesce(n.nspname || '.' || c.relname, '') AS "table", p.command,
  p.bytes_processed::float8 AS "bytesProcessed", p.bytes_total::float8 AS "bytesTotal",
  p.tuples_processed::float8 AS "tuplesProcessed", c.reltuples::float8 AS reltuples
FROM pg_stat_progress_copy p JOIN pg_stat_activity a ON a.pid = p.pid
LEFT JOIN pg_class c ON c.oid = p.relid LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE p.datname = current_database() AND a.application_name = $1 AND p.pid <> pg_backend_pid()`;

const INDEX_SQL = `SELECT p.pid, coalesce(ni.nspname || '.' || ci.relname, '') AS index,
  coalesce(nt.nspname || '.' || ct.relname, '') AS "table", p.phase,
  p.blocks_done::float8 AS "blocksDone", p.blocks_total::float8 AS "blocksTotal",
  p.tuples_done::float8 AS "tuplesDone", p.tuples_total::float8 AS "tuplesTotal"
FROM pg_stat_progress_create_index p JOIN pg_stat_activity a ON a.pid = p.pid
LEFT JOIN pg_class ci ON ci.oid = p.index_relid LEFT JOIN pg_namespace ni ON ni.oid = ci.relnamespace
LEFT JOIN pg_class ct ON ct.oid = p.relid LEFT JOIN pg_namespace nt ON nt.oid = ct.relnamespace
WHERE p.datname = current_database() AND a.application_name = $1 AND p.pid <> pg_backend_pid()`;

/** Expected rows per `schema.table` from a server's statistics (reltuples; -1, never analyzed, is left out). */
export const EXPECTED_ROWS_SQL = `SELECT n.nspname || '.' || c.relname AS name, c.reltuples::float8 AS rows
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND c.reltuples >= 0 AND n.nspname NOT IN ('pg_catalog', 'information_schema')`;

/** How often to poll and how to throttle; tests shorten them (a real 2M-row table takes seconds, not minutes). */
export const serverProgressDefaults: { intervalMs: number; logThrottle: ThrottleOptions } = {
  intervalMs: 1000,
  // Plain lines in a log: a table or an index every ~5 s and 10% (the phases' own meter rule), so a long COPY shows.
  logThrottle: { minIntervalMs: 5_000, minStep: 0.1 },
};

export interface ServerProgressOptions {
  /** The server that runs the COPY / CREATE INDEX, and the database the tool works in. */
  dsn: Dsn;
  /** The application_name of the tool's backends (pg_dump's default is `pg_dump`). */
  appName: string;
  /** Where the lines go (the phase's `say`: console and phase log). */
  say: (line: string) => void;
  /** `[dump] ` / `[restore] `: the prefix of the in-place terminal line. */
  prefix: string;
  /** Expected rows by `schema.table` when the server that copies cannot know them (the restore's target is empty). */
  expectedRows?: Map<string, number>;
  connectTimeoutMs?: number;
  tty?: boolean;
  intervalMs?: number;
  throttle?: ThrottleOptions;
  /** Told once when the watcher gives up (a view it may not read, a lost connection); the phase goes on. */
  onGiveUp?: (why: string) => void;
}

/** One line of server progress: which COPY or index build (`key`), its text and its done fraction. */
export interface Step {
  key: string;
  text: string;
  fraction?: number;
}

/** One meter per COPY or index build (by pid and relation), each throttled on its own by `Progress`. */
class Meters {
  private readonly live = new Map<string, Progress<Step>>();
  constructor(private readonly make: () => Progress<Step>) {}

  /** Feed this poll's lines with their fractions; a step that is gone is forgotten (the tool says what follows). */
  feed(steps: Step[]): void {
    const seen = new Set<string>();
    for (const s of steps) {
      seen.add(s.key);
      let m = this.live.get(s.key);
      if (!m) {
        m = this.make();
        this.live.set(s.key, m);
        m.start(s);
      } else m.update(s);
    }
    for (const k of [...this.live.keys()]) if (!seen.has(k)) this.live.delete(k);
  }
}

/** Rows of one poll as the lines' steps; `expected` fills in the row totals the server cannot know. */
export function stepsOf(
  copies: CopyRow[],
  indexes: IndexRow[],
  expected?: Map<string, number>,
  said: ToolSaid = {},
): Step[] {
  const steps: Step[] = [];
  for (const c of copies) {
    // A table created in the restore's own (single) transaction is invisible to the watcher's catalog: the tool's
    // last "processing data for table" names it (one table at a time in that mode).
    const table = c.table || said.table || '';
    const r = { ...c, table, tuplesExpected: c.tuplesExpected || expected?.get(table) || undefined };
    steps.push({ key: `copy ${c.pid} ${table}`, text: copyLine(r), fraction: copyFraction(r) });
  }
  for (const i of indexes) {
    const r = { ...i, index: i.index || said.index || '', table: i.table || said.table || '' };
    steps.push({ key: `index ${i.pid} ${r.index} ${r.table}`, text: indexLine(r), fraction: indexFraction(r) });
  }
  return steps;
}

/** What pg_restore --verbose last said it works on: the table whose data it loads, the index it creates. */
export interface ToolSaid {
  table?: string;
  index?: string;
}

/**
 * Follow pg_restore --verbose: `processing data for table "public.t"` names the table being loaded, `creating INDEX
 * "public.i"` / `creating CONSTRAINT "public.t t_pkey"` the index being built. Returns whether the line was one.
 */
export function followToolLine(said: ToolSaid, line: string): boolean {
  const data = /^pg_restore: processing data for table "(.*)"$/.exec(line);
  if (data) {
    said.table = data[1];
    return true;
  }
  const index = /^pg_restore: creating (?:INDEX|CONSTRAINT) "(.*)"$/.exec(line);
  if (!index) return false;
  // `public.t t_pkey`: the table, then the constraint; `public.i`: the index alone (its table is not said).
  const [first, name] = index[1].split(' ');
  said.index = name ? `${first.split('.')[0]}.${name}` : first;
  said.table = name ? first : undefined;
  return true;
}

async function pollOnce(c: pg.Client, o: ServerProgressOptions, withCopy: boolean, said: ToolSaid) {
  const copies = withCopy
    ? (await c.query<CopyRow & { reltuples: number }>(COPY_SQL, [o.appName])).rows.map((r) => ({
        ...r,
        // On the source (COPY TO) the table's own statistics are the expected rows; on an empty target they are 0.
        tuplesExpected: r.command === 'COPY TO' && r.reltuples > 0 ? r.reltuples : undefined,
      }))
    : [];
  const indexes = (await c.query<IndexRow>(INDEX_SQL, [o.appName])).rows;
  return stepsOf(copies, indexes, o.expectedRows, said);
}

/**
 * Watch the server's progress views until the returned stop() is called (stop resolves once the connection is
 * closed). Never throws and never rejects: when the server cannot be read the watcher stops quietly (`onGiveUp`).
 */
export function watchServerProgress(o: ServerProgressOptions): ServerWatch {
  let stopped = false;
  const said: ToolSaid = {};
  let wake: (() => void) | undefined;
  const tty = o.tty ?? stdoutIsTty();
  const writer: ProgressWriter = phaseWriter(o.say, o.prefix);
  const throttle = o.throttle ?? (tty ? undefined : serverProgressDefaults.logThrottle);
  const meters = new Meters(
    () =>
      new Progress<Step>({
        format: (v) => v.text,
        fraction: (v) => v.fraction,
        writer,
        tty,
        throttle,
      }),
  );
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  const loop = withConnection(
    o.dsn,
    async (c) => {
      await c.query("SET application_name = 'migration-rehearsal progress'");
      const v = Number((await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0].v);
      while (!stopped) {
        meters.feed(await pollOnce(c, o, v >= 140000, said));
        if (!stopped) await sleep(o.intervalMs ?? serverProgressDefaults.intervalMs);
      }
    },
    { connectTimeoutMs: o.connectTimeoutMs },
  ).catch((e: Error) => {
    if (!stopped) o.onGiveUp?.(`server progress not available: ${e.message}`);
  });
  return {
    line: (line) => void followToolLine(said, line),
    stop: async () => {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}

/** A running watcher: `line` takes the tool's verbose lines (names what the catalog cannot see yet), `stop` ends it. */
export interface ServerWatch {
  line(line: string): void;
  stop(): Promise<void>;
}

/** Expected rows by `schema.table` from `dsn`'s statistics; undefined when it cannot be read (lines then count rows). */
export async function expectedRows(dsn: Dsn, connectTimeoutMs?: number): Promise<Map<string, number> | undefined> {
  try {
    return await withConnection(
      dsn,
      async (c) => {
        await c.query("SET statement_timeout = '30s'");
        const rows = (await c.query<{ name: string; rows: number }>(EXPECTED_ROWS_SQL)).rows;
        return new Map(rows.map((r) => [r.name, r.rows]));
      },
      { connectTimeoutMs },
    );
  } catch {
    return undefined;
  }
}

/**
 * The server progress of a copy phase: the dump watches the source (pg_dump's backends are `pg_dump` unless the DSN
 * names another application_name), the restore watches the target's backends of `appName` with the source's row
 * estimates as the totals. Returns the watch (feed it the tool's lines; stop it with the phase); never throws (a watcher that gives up says so in the phase log only).
 */
export async function watchPhaseProgress(
  ctx: Pick<PhaseCtx, 'config' | 'say' | 'log'>,
  phase: 'dump' | 'restore',
  appName?: string,
): Promise<ServerWatch> {
  const { config } = ctx;
  const dsn = phase === 'dump' ? config.src : config.dst;
  if (!dsn) return { line: () => {}, stop: async () => {} };
  const expected =
    phase === 'restore' && config.src ? await expectedRows(config.src, config.connectTimeoutMs) : undefined;
  return watchServerProgress({
    dsn,
    appName: appName ?? dsn.params.application_name ?? 'pg_dump',
    say: ctx.say,
    prefix: `[${phase}] `,
    expectedRows: expected,
    connectTimeoutMs: config.connectTimeoutMs,
    onGiveUp: (why) => ctx.log.line(why),
  });
}
