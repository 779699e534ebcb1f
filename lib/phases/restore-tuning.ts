/**
 * Session settings of the restore: what the restore's own connection is given (through PGOPTIONS, so nothing on the
 * target's server or database configuration changes), chosen from what the target allows, and the server messages
 * (NOTICE / WARNING, with their DETAIL and HINT lines) the restore's tools print.
 *
 * A restore is mostly index builds. Each CREATE INDEX sorts (B-tree) or builds a graph (pgvector HNSW) in at most
 * `maintenance_work_mem`; the server default (64MB), or a target database set lower, makes a large build spill or
 * (HNSW) fall back to a much slower on-disk build: measured on the bench's 1M-row archive, 39.6 s → 18.8 s for the
 * whole restore with 1GB and one parallel worker.
 *
 * The settings, and why each leaves the restored result unchanged:
 * - `maintenance_work_mem`: memory of index builds and foreign-key validation sorts. Only the speed changes.
 * - `max_parallel_maintenance_workers`: parallel B-tree / HNSW builds. Same index, built by several processes.
 * - `synchronous_commit=off`: a COMMIT returns before its WAL reaches disk. The data and its order are unchanged;
 *   only a server crash in the few hundred milliseconds after a commit could lose it, and the checks that follow the
 *   restore would then find the rows missing (red, never silently wrong). Under --single-transaction there is one
 *   commit, so it saves little there; it matters for RESTORE_JOBS>1 / RESTORE_SINGLE_TRANSACTION=0, which commit per
 *   statement.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { Config } from '../core/config.ts';
import type { Dsn } from '../core/dsn.ts';

/** What the target says about itself (pg_settings, in bytes / counts), read with the restore's credentials. */
export interface TargetFacts {
  /** maintenance_work_mem the restore session would get as is (database and role settings included), bytes. */
  maintenanceWorkMem: number;
  /** effective_cache_size, bytes: the administrator's statement of the memory the server has for caching. */
  effectiveCacheSize: number;
  maxParallelMaintenanceWorkers: number;
  maxParallelWorkers: number;
  /** The target runs on this machine (unix socket or loopback): its memory and cores can be read here. */
  local: boolean;
  /** Local only: MemAvailable of /proc/meminfo (else os.freemem()), bytes. */
  memAvailable?: number;
  /** Local only: CPU cores of this machine. */
  cores?: number;
}

/** The SQL reading TargetFacts (one row; sizes in bytes). */
export const TARGET_FACTS_SQL = `SELECT
  (SELECT setting::bigint * CASE unit WHEN 'kB' THEN 1024 WHEN '8kB' THEN 8192 WHEN 'MB' THEN 1048576 ELSE 1 END
     FROM pg_settings WHERE name = 'maintenance_work_mem')::text AS mwm,
  (SELECT setting::bigint * CASE unit WHEN 'kB' THEN 1024 WHEN '8kB' THEN 8192 WHEN 'MB' THEN 1048576 ELSE 1 END
     FROM pg_settings WHERE name = 'effective_cache_size')::text AS ecs,
  current_setting('max_parallel_maintenance_workers')::int AS mpmw,
  current_setting('max_parallel_workers')::int AS mpw`;

/** The most maintenance_work_mem the automatic choice ever gives: beyond it index builds of this size gain nothing. */
export const AUTO_MWM_CAP = 1024 ** 3;
/** The automatic choice never goes below the target's own value, nor below this. */
export const AUTO_MWM_FLOOR = 64 * 1024 ** 2;

export interface RestoreSettings {
  /** Setting name → value, in the order they are passed. Empty: the restore session runs with the target's values. */
  settings: Array<[string, string]>;
  /** One line per setting: its value and how it was chosen. */
  why: string[];
}

/** Bytes as a PostgreSQL memory value in whole MB (at least 1MB). */
export function memSetting(bytes: number): string {
  return `${Math.max(1, Math.floor(bytes / 1024 ** 2))}MB`;
}

/** Parse a size such as `512MB`, `1GB`, `65536kB` or a plain number of kB (PostgreSQL's unit): bytes, or undefined. */
export function parseMemSize(raw: string): number | undefined {
  const m = /^\s*(\d+)\s*(kB|MB|GB|TB)?\s*$/i.exec(raw);
  if (!m) return undefined;
  const unit = (m[2] ?? 'kB').toLowerCase();
  const mult = { kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 }[unit]!;
  return Number(m[1]) * mult;
}

/**
 * The restore session's settings (pure).
 *
 * maintenance_work_mem, automatic (RESTORE_MAINTENANCE_WORK_MEM=auto, the default): the memory the target can spare,
 * capped at 1GB and never below the target's own value (a target set higher keeps its value):
 * - target on this machine: a quarter of MemAvailable (the server's other sessions, its shared buffers and the OS
 *   cache keep the rest; a parallel HNSW build allocates the whole value as shared memory at once);
 * - remote target: a quarter of its effective_cache_size (the administrator's own figure for the memory the server
 *   has; PostgreSQL's default 4GB gives 1GB).
 * pg_restore builds one index at a time (--single-transaction), so that memory is used once, not per index.
 * max_parallel_maintenance_workers, automatic: on this machine, cores − 1 (the leader works too), at most
 * max_parallel_workers; a remote target keeps its own value (its cores cannot be seen from here).
 * `off` (RESTORE_MAINTENANCE_WORK_MEM=off): no session setting at all, the raw pg_restore behaviour.
 */
export function chooseRestoreSettings(
  facts: TargetFacts,
  cfg: Pick<Config, 'restoreMaintenanceWorkMem' | 'restoreMaintenanceWorkers'>,
): RestoreSettings {
  const out: RestoreSettings = { settings: [], why: [] };
  if (cfg.restoreMaintenanceWorkMem === 'off') {
    out.why.push('RESTORE_MAINTENANCE_WORK_MEM=off: the restore session runs with the target’s own settings');
    return out;
  }
  const mb = (b: number) => memSetting(b);
  if (cfg.restoreMaintenanceWorkMem === 'auto') {
    const budget = facts.local && facts.memAvailable ? facts.memAvailable / 4 : facts.effectiveCacheSize / 4;
    const basis =
      facts.local && facts.memAvailable
        ? `a quarter of this machine's available memory (${mb(facts.memAvailable)})`
        : `a quarter of the target's effective_cache_size (${mb(facts.effectiveCacheSize)})`;
    const chosen = Math.min(AUTO_MWM_CAP, Math.max(AUTO_MWM_FLOOR, Math.floor(budget)));
    if (chosen > facts.maintenanceWorkMem) {
      out.settings.push(['maintenance_work_mem', mb(chosen)]);
      out.why.push(
        `maintenance_work_mem=${mb(chosen)} (auto: ${basis}, capped at ${mb(AUTO_MWM_CAP)}; the target's session value is ${mb(facts.maintenanceWorkMem)})`,
      );
    } else {
      out.why.push(
        `maintenance_work_mem left at the target's ${mb(facts.maintenanceWorkMem)} (auto would choose ${mb(chosen)}: ${basis})`,
      );
    }
  } else {
    out.settings.push(['maintenance_work_mem', mb(cfg.restoreMaintenanceWorkMem)]);
    out.why.push(`maintenance_work_mem=${mb(cfg.restoreMaintenanceWorkMem)} (RESTORE_MAINTENANCE_WORK_MEM)`);
  }
  if (cfg.restoreMaintenanceWorkers === 'auto') {
    if (facts.local && facts.cores) {
      const n = Math.max(0, Math.min(facts.cores - 1, facts.maxParallelWorkers));
      out.settings.push(['max_parallel_maintenance_workers', String(n)]);
      out.why.push(
        `max_parallel_maintenance_workers=${n} (auto: ${facts.cores} cores − 1, at most max_parallel_workers=${facts.maxParallelWorkers})`,
      );
    } else {
      out.why.push(
        `max_parallel_maintenance_workers left at the target's ${facts.maxParallelMaintenanceWorkers} (remote target: its cores are not visible from here)`,
      );
    }
  } else {
    out.settings.push(['max_parallel_maintenance_workers', String(cfg.restoreMaintenanceWorkers)]);
    out.why.push(
      `max_parallel_maintenance_workers=${cfg.restoreMaintenanceWorkers} (RESTORE_MAINTENANCE_WORKERS; the server caps it at max_parallel_workers=${facts.maxParallelWorkers})`,
    );
  }
  out.settings.push(['synchronous_commit', 'off']);
  out.why.push('synchronous_commit=off (the restored data is the same; only crash durability of the last commit)');
  return out;
}

/**
 * PGOPTIONS carrying `settings` for the restore's connection, appended to the DSN's own `options` (a DSN setting
 * comes first, so ours win). Values are plain tokens (sizes, numbers, on/off), never spaces: no escaping needed.
 */
export function pgOptions(settings: Array<[string, string]>, existing?: string): string | undefined {
  const ours = settings.map(([k, v]) => `-c ${k}=${v}`).join(' ');
  if (!ours) return existing;
  return existing ? `${existing} ${ours}` : ours;
}

/** The target is reached over a unix socket or the loopback interface. */
export function isLocalHost(d: Pick<Dsn, 'host'>): boolean {
  const h = (d.host ?? '').trim();
  return h === '' || h.startsWith('/') || h === 'localhost' || /^127\./.test(h) || h === '::1';
}

/** MemAvailable of /proc/meminfo in bytes (os.freemem() where there is none). */
export function memAvailable(): number {
  try {
    const text = fs.readFileSync('/proc/meminfo', 'utf8');
    const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(text);
    if (m) return Number(m[1]) * 1024;
  } catch {
    /* not Linux */
  }
  return os.freemem();
}

/** One server message a tool printed: its severity, the message, and its DETAIL / HINT lines. */
export interface ServerMessage {
  severity: 'NOTICE' | 'WARNING';
  message: string;
  detail?: string;
  hint?: string;
}

const HEAD = /^(?:(?:pg_restore|psql)(?::[^:\s]*)*:\s*)?(NOTICE|WARNING):\s+(.*)$/;
const MORE = /^(?:(?:pg_restore|psql)(?::[^:\s]*)*:\s*)?(DETAIL|HINT|CONTEXT):\s+(.*)$/;

/**
 * Collects NOTICE / WARNING messages (with their DETAIL and HINT lines) from a tool's stderr lines, as libpq formats
 * them (`NOTICE:  text`, possibly behind `pg_restore: ` or `psql:<file>:<line>: `). Feed every line to `line()`.
 */
export class ServerMessages {
  readonly all: ServerMessage[] = [];
  private last: ServerMessage | undefined;
  constructor(private readonly max = 200) {}
  line(raw: string): void {
    const line = raw.replace(/^(?:pg_restore|psql) stderr: /, '');
    const h = HEAD.exec(line);
    if (h) {
      this.last = { severity: h[1] as ServerMessage['severity'], message: h[2].trim() };
      if (this.all.length < this.max) this.all.push(this.last);
      return;
    }
    const m = MORE.exec(line);
    if (m && this.last) {
      if (m[1] === 'DETAIL') this.last.detail = m[2].trim();
      else if (m[1] === 'HINT') this.last.hint = m[2].trim();
      return;
    }
    this.last = undefined;
  }
  /** Messages with a HINT, one line each: what the operator should see in the console summary. */
  hints(): string[] {
    return [...new Set(this.all.filter((x) => x.hint).map(formatServerMessage))];
  }
}

export function formatServerMessage(x: ServerMessage): string {
  return `${x.severity}: ${x.message}${x.detail ? ` (${x.detail})` : ''}${x.hint ? ` HINT: ${x.hint}` : ''}`;
}
