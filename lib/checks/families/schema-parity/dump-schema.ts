/**
 * The runner of dump-based schema parity: `pg_dump --schema-only` of source and target, both rendered by ONE client
 * (the smallest installed major that can dump both servers: pg_dump reads servers of its own major and older), split
 * per TOC entry and compared (dump-parse.ts, dump-normalise.ts, dump-diff.ts). Secrets travel in the environment
 * (PGPASSWORD from the DSN), never in argv. The client is picked by the rule the copy phases use too
 * (lib/core/pg-clients.ts `clientForMajors`).
 */
import path from 'node:path';
import type { Config } from '../../../core/config.ts';
import type { Dsn } from '../../../core/dsn.ts';
import { clientDirCandidates, clientForMajors, installedClientDirs } from '../../../core/pg-clients.ts';
import { dbnameArg } from '../../../core/dsn.ts';
import { lockHolders, withConnection } from '../../../core/db.ts';
import { pgEnv, runCommand } from '../../../core/tools.ts';
import { parseDump, type DumpEntry } from './dump-parse.ts';
import { diffDumps, type DumpDifference } from './dump-diff.ts';

/** How long the schema dump waits for a table lock (pg_dump --lock-wait-timeout, milliseconds). */
export const SCHEMA_DUMP_LOCK_WAIT_MS = 10_000;

/** A pg_dump that can render both servers: its file and major. */
export interface DumpClient {
  file: string;
  version: string;
  major: number;
}

/**
 * The one pg_dump for both sides: the smallest installed major ≥ every server's major (a configured PG_BIN_DIR /
 * SRC_PG_BIN_DIR wins when it fits). Returns a sentence saying what to install when none fits.
 */
export async function chooseDumpClient(
  serverMajors: number[],
  cfg: Pick<Config, 'pgBinDir' | 'srcPgBinDir'>,
): Promise<DumpClient | string> {
  const need = Math.max(...serverMajors);
  const configured = [cfg.srcPgBinDir, cfg.pgBinDir];
  const dirs = await installedClientDirs(clientDirCandidates({ first: configured }), ['pg_dump']);
  const dir = clientForMajors(dirs, serverMajors, configured);
  const best = dir && { file: path.join(dir.dir, 'pg_dump'), version: dir.version, major: dir.major };
  return (
    best ??
    `no installed pg_dump can render both servers (PostgreSQL ${serverMajors.join(' and ')}): install postgresql-client-${need} or set PG_BIN_DIR to a client of major ${need} or newer`
  );
}

/** A server with no connection slot free for this role right now (SQLSTATE 53300, said in pg_dump's words). */
const NO_FREE_SLOT = /too many clients already|remaining connection slots are reserved/i;
/**
 * How long a schema dump refused for want of a slot keeps trying (ms): longer than the checks' pools keep an idle
 * connection (lib/core/db.ts, idleTimeoutMillis 10 s), so the run's own idle connections give their slots back.
 */
const SLOT_RETRY_BUDGET_MS = 20_000;

/**
 * `pg_dump --schema-only --no-owner --no-acl` of `dsn` with `client`: its entries and the time it took (ms). A dump
 * refused because the server has no free connection slot this instant (3 free slots for the role, the run's own lock
 * and idle pooled connections among their users: issue 26, where one such refusal failed all 28 schema checks) is
 * retried after 0.5, 1, 2, then every 4 s for up to SLOT_RETRY_BUDGET_MS; any other failure, or a refusal after
 * that, throws with pg_dump's words.
 */
export async function dumpSchema(
  dsn: Dsn,
  client: DumpClient,
  cfg: Pick<Config, 'connectTimeoutMs'>,
): Promise<{ entries: DumpEntry[]; ms: number; bytes: number }> {
  const until = Date.now() + SLOT_RETRY_BUDGET_MS;
  for (let wait = 500; ; wait = Math.min(wait * 2, 4000)) {
    try {
      return await dumpSchemaOnce(dsn, client, cfg);
    } catch (e) {
      if (Date.now() + wait > until || !NO_FREE_SLOT.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

async function dumpSchemaOnce(
  dsn: Dsn,
  client: DumpClient,
  cfg: Pick<Config, 'connectTimeoutMs'>,
): Promise<{ entries: DumpEntry[]; ms: number; bytes: number }> {
  const r = await runCommand(
    {
      tool: 'pg_dump',
      bin: client.file,
      // A table locked on a side must fail the dump in bounded time naming the lock, never hang the schema checks
      // (pg_dump takes ACCESS SHARE on every table; the checks' own catalog reads use the same 10 s lock timeout).
      args: [
        '--schema-only',
        '--no-owner',
        '--no-acl',
        '--no-security-labels',
        `--lock-wait-timeout=${SCHEMA_DUMP_LOCK_WAIT_MS}`,
        dbnameArg(dsn),
      ],
      env: pgEnv(dsn, cfg),
    },
    { phase: 'dump', captureStdout: true, timeoutMs: 600_000 },
  );
  if (r.code !== 0) throw new Error(await dumpFailure(dsn, client, cfg, r.code, r.stderrTail.join(' / ')));
  const text = r.stdout ?? '';
  return { entries: parseDump(text), ms: r.durationMs, bytes: Buffer.byteLength(text) };
}

/** pg_dump's words when a LOCK TABLE of its --lock-wait-timeout was cancelled: the table (as pg_dump quoted it). */
const LOCK_WAIT_FAILED = /statement timeout.*Query was: LOCK TABLE (.+?) IN ACCESS SHARE MODE/;

/**
 * The message of a failed schema dump. pg_dump enforces --lock-wait-timeout with a statement timeout, so a table locked
 * by another session reads "canceling statement due to statement timeout": that case is said as a lock wait, naming
 * the table and the sessions holding strong locks now (lib/core/db.ts lockHolders), like the checks' own lock waits.
 */
async function dumpFailure(
  dsn: Dsn,
  client: DumpClient,
  cfg: Pick<Config, 'connectTimeoutMs'>,
  code: number,
  stderr: string,
): Promise<string> {
  const locked = LOCK_WAIT_FAILED.exec(stderr);
  if (!locked) return `pg_dump --schema-only (${client.file}) exited with code ${code}: ${stderr}`;
  const holders = await withConnection(
    dsn,
    (c) => lockHolders(c, `${SCHEMA_DUMP_LOCK_WAIT_MS} ms (pg_dump --lock-wait-timeout)`),
    { connectTimeoutMs: cfg.connectTimeoutMs },
  ).catch(() => '');
  return `pg_dump --schema-only could not lock ${locked[1]} (ACCESS SHARE, to read its definition)${holders || `; waited ${SCHEMA_DUMP_LOCK_WAIT_MS} ms (pg_dump --lock-wait-timeout)`}`;
}

/** What one comparison of the two dumps found, with its cost. */
export interface DumpParity {
  diffs: DumpDifference[];
  /** One evidence line: client, entries per side, time per side. */
  evidence: string;
}

/**
 * Dump both sides with one client and compare them. Returns the differences (each filed under a `schema <kind>`) and
 * an evidence line; a string when no client fits both majors (then every kind the dump compares is `not checked`).
 * Throws the pg_dump failure of either side.
 */
export async function compareSchemaDumps(
  src: Dsn,
  dst: Dsn,
  majors: { src: number; dst: number },
  cfg: Pick<Config, 'pgBinDir' | 'srcPgBinDir' | 'connectTimeoutMs'>,
): Promise<DumpParity | string> {
  const client = await chooseDumpClient([majors.src, majors.dst], cfg);
  if (typeof client === 'string') return client;
  const [s, d] = await Promise.all([dumpSchema(src, client, cfg), dumpSchema(dst, client, cfg)]);
  return {
    diffs: diffDumps(s.entries, d.entries),
    evidence:
      `pg_dump ${client.version} --schema-only of both sides: source ${s.entries.length} entries (${s.bytes} bytes, ${s.ms} ms), ` +
      `target ${d.entries.length} entries (${d.bytes} bytes, ${d.ms} ms)`,
  };
}

/** The servers' majors (server_version_num 150020 → 15), read through the check's pools. */
export async function serverMajors(read: (sql: string) => Promise<Array<{ v: number }>>): Promise<number> {
  const rows = await read(`SELECT current_setting('server_version_num')::int AS v`);
  return Math.floor(Number(rows[0].v) / 10000);
}
