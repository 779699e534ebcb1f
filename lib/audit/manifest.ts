/**
 * manifest.json: what a run did and what it produced, for a reviewer who reads it months later. Also the pieces it is
 * made of: redacting the report files in place (vitest writes them; secrets can reach them through error messages),
 * hashing them, and recording the versions of the tools and servers involved.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Config } from '../core/config.ts';
import { withConnection } from '../core/db.ts';
import type { Dsn } from '../core/dsn.ts';
import { redact, redactDeep, redactJson } from '../core/redact.ts';
import type { ChecksFile } from './reporter.ts';
import { tally, type RunTotals } from './totals.ts';
import type { Provenance } from './provenance.ts';
import type { CensusCounts, TableRow } from './report-data.ts';
import type { CheckPlan, RunState } from '../core/state.ts';
import { toolVersion } from '../core/tools.ts';
import { listFiles, sha256FileSync, writeAtomic as writeAtomicCore } from '../core/files.ts';

export const MANIFEST_FILE = 'manifest.json';
/** The retried run's plan, kept in the run folder so a later --rerun-failed checks the same subjects. */
export const PLAN_FILE = 'plan.json';

export type { RunTotals };

export interface RerunOutcome {
  /** The run this one retried. */
  of: string;
  previouslyFailed: string[];
  nowPassing: string[];
  stillFailing: string[];
  /** Previously failed checks that this run did not execute (renamed, no longer generated, or skipped). */
  notRun: string[];
}

export interface Manifest {
  manifestVersion: 1;
  runId: string;
  mode: RunState['mode'];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** The exit code of `rehearse` for this run. */
  exitCode: number;
  /** The run this one retried (--rerun-failed). */
  rerunOf?: string;
  /** Tool and server versions (numbers only, so two hosts with the same versions produce the same entries). */
  tools: Record<string, string>;
  /** The effective configuration, secrets redacted (lib/config.ts effectiveConfig). */
  config: Record<string, string>;
  phases: Array<{
    name: string;
    status: string;
    startedAt?: string;
    durationMs?: number;
    exitCode?: number;
    reason?: string;
    /** Server messages with a HINT that the phase's tools printed (e.g. the restore's index builds). */
    serverHints?: string[];
  }>;
  dump?: {
    file: string;
    format: string;
    provided: boolean;
    bytes?: number;
    sha256?: string;
    toc?: Record<string, number>;
  };
  plan?: {
    tablesFrom: CheckPlan['tablesFrom'];
    tables: number;
    relations: number;
    assetColumns: number;
    assetSample: { seed: string; perColumn: number; items: number };
  };
  /** Seed of the deterministic asset sample (also in plan.assetSample). */
  assetSampleSeed?: string;
  /** Archive entries the restore left out, each with the rule and the reason (lib/phases/toc-filter.ts). */
  restoreExcluded?: string[];
  planError?: string;
  totals: RunTotals;
  /** Every failing check; `causedBy` names the failure it follows from (lib/audit/causes.ts). */
  failures: Array<{ file: string; name: string; error?: string; causedBy?: string }>;
  /** Every warning of the run: the check and the warning's text. */
  warnings?: Array<{ file: string; name: string; message: string }>;
  /** Full lists written by failing checks (failures/<check>.txt), by check name. */
  fullLists?: Record<string, string>;
  /** The redacted target (DSN and assets dir), as printed before any write. */
  target?: { database: string; assetsDir: string };
  /** The redacted source (DSN or "not configured", and the assets dir). */
  source?: { database: string; assetsDir: string };
  /** Which tool made this trail, where and for whom (lib/audit/provenance.ts). */
  provenance?: Provenance;
  /** Per table: target rows, target size, worst check state, check seconds; largest first (lib/audit/report-data.ts). */
  tables?: TableRow[];
  /** The asset census in five numbers (lib/audit/report-data.ts). */
  census?: CensusCounts;
  /** --select / --exclude of the run. */
  selection?: { select: string[]; exclude: string[] };
  /** After a rerun: the totals of the effective view (effective.json), the latest result of every check. */
  effective?: { runs: string[]; totals: RunTotals };
  rerun?: RerunOutcome;
  /** Problems with the audit trail itself (a JUnit report with the wrong shape, a missing report). */
  auditProblems: string[];
  /** sha256 and size of every file of the run folder (after redaction), by path relative to it; manifest.json excluded. */
  reports: Record<string, { sha256: string; bytes: number }>;
}

// ---------------------------------------------------------------------------------------------------------------
// Report files

export { listFiles };

/** Text we can pass through the redactor without damaging it: valid UTF-8 with no NUL byte. */
function asText(buf: Buffer): string | undefined {
  if (buf.includes(0)) return undefined;
  const text = buf.toString('utf8');
  return Buffer.from(text, 'utf8').equals(buf) ? text : undefined;
}

/**
 * Redact every report file of a run folder in place: text files through the redactor, `.gz` files (the HTML report's
 * html.meta.json.gz) decompressed, redacted and compressed again. Binary files are left alone. Returns the files
 * that changed.
 */
export function redactReportFiles(runDir: string, redactText: (s: string) => string = redact): string[] {
  const changed: string[] = [];
  for (const rel of listFiles(runDir)) {
    const file = path.join(runDir, rel);
    const raw = fs.readFileSync(file);
    if (rel.endsWith('.gz')) {
      let inner: Buffer;
      try {
        inner = gunzipSync(raw);
      } catch {
        continue; // not gzip after all
      }
      const text = asText(inner);
      if (text === undefined) continue;
      const safe = redactText(text);
      if (safe !== text) {
        writeAtomic(file, gzipSync(Buffer.from(safe, 'utf8')));
        changed.push(rel);
      }
      continue;
    }
    const text = asText(raw);
    if (text === undefined) continue;
    // JSON structurally (strings and keys only): the result stays valid JSON and no number is rewritten.
    const safe = rel.endsWith('.json') ? redactJson(text, redactText) : redactText(text);
    if (safe !== text) {
      writeAtomic(file, safe);
      changed.push(rel);
    }
  }
  return changed;
}

/** Write `file` through a temp file and a rename; a failed write leaves no temp file (lib/core/files.ts). */
export function writeAtomic(file: string, data: string | Buffer): void {
  writeAtomicCore(file, data);
}

/** sha256 + size of every file of the run folder except the manifest itself. */
export function hashReports(runDir: string): Manifest['reports'] {
  const out: Manifest['reports'] = {};
  for (const rel of listFiles(runDir)) {
    if (rel === MANIFEST_FILE) continue;
    const file = path.join(runDir, rel);
    out[rel] = { sha256: sha256FileSync(file), bytes: fs.statSync(file).size };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Totals

/** Counts of a run's checks (lib/audit/totals.ts `tally`); no checks.json → all zero. */
export function totalsOf(checks: ChecksFile | undefined): RunTotals {
  return tally(checks?.checks ?? []);
}

// ---------------------------------------------------------------------------------------------------------------
// Tool versions

/**
 * The version entries every manifest has, named as lib/phases/preflight.ts records them in state.json's `tools` (which may
 * add more, e.g. `target vector available`).
 */
export const TOOL_KEYS = [
  'node',
  'pg_dump',
  'pg_restore',
  'psql',
  'rsync',
  'source server',
  'source vector',
  'target server',
  'target vector',
] as const;

/**
 * The first dotted version number in a banner: "15.20 (Debian 15.20-0+deb12u1)" → "15.20", "v20.20.2" → "20.20.2"
 * (a number starts after a non-digit, non-dot character or at the start, so a leading "v" does not cut it).
 */
export function versionNumber(banner: string): string | undefined {
  return /(?:^|[^\d.])(\d+(?:\.\d+)+)/.exec(banner)?.[1];
}

async function serverVersions(
  d: Dsn | undefined,
  connectTimeoutMs: number,
): Promise<{ server: string; vector: string }> {
  if (!d) return { server: 'not configured', vector: 'not configured' };
  try {
    return await withConnection(
      d,
      async (c) => {
        const v = await c.query<{ v: string }>("SELECT current_setting('server_version') AS v");
        const x = await c.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
        const raw = v.rows[0]?.v ?? '';
        return { server: versionNumber(raw) ?? (raw || 'unknown'), vector: x.rows[0]?.extversion ?? 'not installed' };
      },
      { connectTimeoutMs },
    );
  } catch {
    return { server: 'unreachable', vector: 'unreachable' };
  }
}

/**
 * The versions the copy phases recorded (state.json `tools`), completed read-only with whatever is missing: the
 * client tools' `--version`, the servers' `server_version` and the installed pgvector extension. A verify-only run or
 * a rerun has no preflight, so this is where its manifest gets them.
 */
/**
 * The client tools' versions alone (`pg_dump`, `pg_restore`, `psql`, `rsync` → `--version` number, or "not installed"),
 * for a caller that wants them early: rehearse starts this beside the check run, where its process waits anyway, and
 * hands the result to collectToolVersions as `known`.
 */
export async function clientToolVersions(): Promise<Record<string, string>> {
  const tools: Record<string, string> = {};
  await Promise.all(
    (['pg_dump', 'pg_restore', 'psql', 'rsync'] as const).map((tool) =>
      toolVersion(tool).then((v) => void (tools[tool] = v?.version ?? 'not installed')),
    ),
  );
  return tools;
}

export async function collectToolVersions(
  config: Config,
  known: Record<string, string> = {},
): Promise<Record<string, string>> {
  const tools: Record<string, string> = { ...known };
  const missing = (k: string) => !tools[k];
  const jobs: Array<Promise<void>> = [];
  if (missing('node')) tools.node = process.versions.node;
  for (const tool of ['pg_dump', 'pg_restore', 'psql', 'rsync'] as const) {
    if (missing(tool)) jobs.push(toolVersion(tool).then((v) => void (tools[tool] = v?.version ?? 'not installed')));
  }
  const timeout = Math.min(config.connectTimeoutMs, 5000);
  for (const [side, dsn] of [
    ['source', config.src],
    ['target', config.dst],
  ] as const) {
    if (missing(`${side} server`) || missing(`${side} vector`)) {
      jobs.push(
        serverVersions(dsn, timeout).then((v) => {
          if (missing(`${side} server`)) tools[`${side} server`] = v.server;
          if (missing(`${side} vector`)) tools[`${side} vector`] = v.vector;
        }),
      );
    }
  }
  await Promise.all(jobs);
  // Numbers only ("15.20 (Debian 15.20-0+deb12u1)" → "15.20"): the same versions on two hosts read the same.
  return Object.fromEntries(
    Object.entries(tools)
      // Executables' paths (`pg_dump path`) are kept as they are.
      .map(([k, v]) => [k, k.endsWith(' path') ? v : (versionNumber(v) ?? v)] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The manifest

export interface ManifestInput {
  runId: string;
  mode: RunState['mode'];
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  rerunOf?: string;
  tools: Record<string, string>;
  config: Record<string, string>;
  state?: RunState;
  totals: RunTotals;
  failures: Manifest['failures'];
  rerun?: RerunOutcome;
  auditProblems: string[];
  reports: Manifest['reports'];
  extra?: Pick<
    Manifest,
    'warnings' | 'fullLists' | 'target' | 'source' | 'provenance' | 'tables' | 'census' | 'selection' | 'effective'
  >;
}

/**
 * The manifest.json of a run (manifestVersion 1), from what finalizeRun gathered: identity and timing (durationMs =
 * finishedAt - startedAt, never negative), exit code, tool and server versions (numbers only), the redacted effective
 * configuration, each phase's status/timing/exit code/reason, the dump's sha256 and TOC when one was made, the plan's
 * sample seed, totals, failures, the rerun outcome and the sha256 + size of every other report file. Pure; every
 * string is redacted (redactDeep) before it is returned.
 */
export function buildManifest(i: ManifestInput): Manifest {
  const s = i.state;
  const plan = s?.plan;
  const m: Manifest = {
    manifestVersion: 1,
    runId: i.runId,
    mode: i.mode,
    startedAt: i.startedAt,
    finishedAt: i.finishedAt,
    durationMs: Math.max(0, Date.parse(i.finishedAt) - Date.parse(i.startedAt)),
    exitCode: i.exitCode,
    ...(i.rerunOf ? { rerunOf: i.rerunOf } : {}),
    tools: i.tools,
    config: i.config,
    phases: (s?.phases ?? []).map((p) => ({
      name: p.name,
      status: p.status,
      ...(p.startedAt ? { startedAt: p.startedAt } : {}),
      ...(p.durationMs !== undefined ? { durationMs: p.durationMs } : {}),
      ...(p.exitCode !== undefined ? { exitCode: p.exitCode } : {}),
      ...(p.reason ? { reason: p.reason } : {}),
      ...(Array.isArray(p.details?.serverHints) && p.details.serverHints.length
        ? { serverHints: p.details.serverHints as string[] }
        : {}),
    })),
    ...(s?.dump
      ? {
          dump: {
            file: s.dump.path,
            format: s.dump.format,
            provided: s.dump.provided,
            ...(s.dump.bytes !== undefined ? { bytes: s.dump.bytes } : {}),
            ...(s.dump.sha256 ? { sha256: s.dump.sha256 } : {}),
            ...(s.dump.toc ? { toc: s.dump.toc } : {}),
          },
        }
      : {}),
    ...(plan
      ? {
          plan: {
            tablesFrom: plan.tablesFrom,
            tables: plan.tables.length,
            relations: plan.relations.length,
            assetColumns: plan.assetColumns.length,
            assetSample: {
              seed: plan.assetSample.seed,
              perColumn: plan.assetSample.perColumn,
              items: plan.assetSample.items.length,
            },
          },
          assetSampleSeed: plan.assetSample.seed,
        }
      : {}),
    ...(s?.planError ? { planError: s.planError } : {}),
    ...restoreExcluded(s),
    totals: i.totals,
    failures: i.failures,
    ...(i.extra ?? {}),
    ...(i.rerun ? { rerun: i.rerun } : {}),
    auditProblems: i.auditProblems,
    reports: i.reports,
  };
  return redactDeep(m);
}

function restoreExcluded(s: RunState | undefined): { restoreExcluded?: string[] } {
  const r = s?.phases.find((p) => p.name === 'restore');
  const excluded = (r?.details as { excluded?: string[] } | undefined)?.excluded;
  return excluded?.length ? { restoreExcluded: excluded } : {};
}

/** The manifest.json of a run folder, or undefined when there is none. Throws on a file that is not JSON. */
export function readManifest(runDir: string): Manifest | undefined {
  const file = path.join(runDir, MANIFEST_FILE);
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
}

/** Write `m` as `dir`/manifest.json (atomically, 2-space JSON); returns the file's path. */
export function writeManifest(dir: string, m: Manifest): string {
  const file = path.join(dir, MANIFEST_FILE);
  writeAtomic(file, JSON.stringify(m, null, 2) + '\n');
  return file;
}
