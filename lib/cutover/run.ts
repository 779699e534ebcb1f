/**
 * Running one cutover phase (or the rollback): the refusals first (confirmation, order, hooks, rehearsal gate), then
 * the work — the rehearsal's own pipeline steps (lib/phases/pipeline.ts), the operator's hooks, the check suite — and one
 * entry in the append-only log either way.
 *
 * Exit codes as `rehearse`: 0 ok · 1 a gate is red (freeze-check, verify, smoke) · 2 refused, nothing touched ·
 * 3 a phase failed.
 */
import { onStopSignal } from '../core/signals.ts';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Config } from '../core/config.ts';
import { closePools, withConnection } from '../core/db.ts';
import { describeDsn } from '../core/dsn.ts';
import { EXIT, PhaseError } from '../core/errors.ts';
import { resolveLatest } from '../audit/history.ts';
import { readManifest } from '../audit/manifest.ts';
import { redact } from '../core/redact.ts';
import type { RunState } from '../core/state.ts';
import { PhaseLog, stopActiveTools } from '../core/tools.ts';
import { cliCommand, PROJECT_ROOT } from '../core/project.ts';
import { archiveDigest } from '../phases/dump.ts';
import type { PhaseCtx } from '../phases/phase.ts';
import { dumpStep, mirrorStep, preflightStep, type ArchiveFacts, type RestorePlan } from '../phases/pipeline.ts';
import { planRestore, runRestore } from '../phases/restore.ts';
import { withCutoverDefaults, type CutoverConfig, type HookName } from './config.ts';
import { findRehearsal, judgeRehearsal, type GateVerdict } from './gate.ts';
import { hookFailure, missingHooks, runHook } from './hooks.ts';
import { acquireLock } from './lock.ts';
import { appendEntry, currentAttempt, lastOf, readLog, type HookRecord, type LogEntry } from './log.ts';
import { PHASES, orderProblem, phaseCommand, rollbackPlan, type CutoverPhase } from './phases.ts';

export interface RunOptions {
  confirm: boolean;
  /** Where lines go (redacted here); tests pass a collector. */
  out?: (line: string) => void;
  now?: () => Date;
}

interface Outcome {
  status: LogEntry['status'];
  exitCode: number;
  summary: string;
  commands?: string[];
  hooks?: HookRecord[];
  details?: Record<string, unknown>;
}

const print = (line: string) => process.stdout.write(redact(line) + '\n');

/** Where the verify phase keeps the check suite's run folders and working files (never the rehearsal's `latest`). */
export function verifyDirs(workDir: string): { reportsDir: string; workDir: string } {
  return { reportsDir: path.join(workDir, 'verify-reports'), workDir: path.join(workDir, 'verify') };
}

/** The reference time of the rehearsal's age: the start of this attempt's freeze (the window), else now. */
export function gateTime(entries: LogEntry[], now: Date): Date {
  const freeze = currentAttempt(entries).find((e) => e.phase === 'freeze');
  return freeze ? new Date(freeze.start) : now;
}

export function rehearsalVerdict(config: CutoverConfig, entries: LogEntry[], now: Date): GateVerdict {
  return judgeRehearsal(
    findRehearsal(config.base.reportsDir),
    config.base.src!,
    config.maxRehearsalAgeDays,
    gateTime(entries, now),
    config.base.reportsDir,
  );
}

/** Hooks a phase needs configured before it starts (switch also needs its way back). */
function neededHooks(phase: CutoverPhase): HookName[] {
  return phase === 'switch' ? ['switch', 'switchBack', 'startWorkers', 'maintenanceOff'] : PHASES[phase].hooks;
}

/**
 * Run one cutover phase (`npm run cutover -- --phase <name>`), recording it in WORK_DIR/cutover-log.jsonl. Refuses
 * (exit 2, nothing touched, a `refused` log entry) without `--confirm` for a phase that writes outside WORK_DIR, out of
 * order (deploy/PROD_CUTOVER_RUNBOOK.md's sequence, lib/cutover/phases.ts), when a needed hook is not configured, when
 * another invocation holds the lock, or when the rehearsal gate is red (a green manifest no older than
 * CUTOVER_MAX_REHEARSAL_AGE_DAYS for the same target). Returns the exit code: 0 done, 1 a gate is red (freeze-check,
 * verify, smoke), 2 refused, 3 the phase failed. Never throws for an expected failure.
 */
export async function runCutoverPhase(config: CutoverConfig, phase: CutoverPhase, opts: RunOptions): Promise<number> {
  const out = opts.out ?? print;
  const now = opts.now ?? (() => new Date());
  const start = now();
  const lock = acquireLock(config.workDir, phase);
  if (!lock.ok) {
    out(`cutover ${phase}: REFUSED (exit 2, nothing was touched): ${lock.message}`);
    return EXIT.usage;
  }
  try {
    const entries = readLog(config.workDir);
    const admitted = admit(config, phase, opts, entries, start);
    if (typeof admitted === 'string') {
      out(`cutover ${phase}: REFUSED (exit 2, nothing was touched): ${admitted}`);
      appendEntry(config.workDir, {
        phase,
        start: start.toISOString(),
        end: now().toISOString(),
        status: 'refused',
        exitCode: EXIT.usage,
        summary: admitted,
      });
      return EXIT.usage;
    }
    if (admitted.gate) out(`gate: ${admitted.gate}`);
    announcePhase(config, phase, out);
    const outcome = await execute(config, phase, entries, { out, now, start, release: () => lock.release() });
    return recordOutcome(config, phase, outcome, { out, now, start, rehearsal: admitted.rehearsal });
  } finally {
    lock.release();
  }
}

/**
 * The refusals, in order: the confirmation of a phase that writes outside WORK_DIR, the runbook's order, the hooks it
 * needs, the rehearsal gate. Returns the refusal's message, or the gate's verdict for a gated phase.
 */
function admit(
  config: CutoverConfig,
  phase: CutoverPhase,
  opts: RunOptions,
  entries: LogEntry[],
  start: Date,
): string | { rehearsal?: LogEntry['rehearsal']; gate?: string } {
  const def = PHASES[phase];
  if (def.writes && !opts.confirm)
    return `${phase} changes things outside WORK_DIR (${def.what}), so it needs an explicit confirmation: run ${phaseCommand(phase)}`;
  const order = orderProblem(phase, entries);
  if (order) return order;
  const missing = missingHooks(config, neededHooks(phase));
  if (missing.length)
    return `${phase} needs the hook${missing.length > 1 ? 's' : ''} ${missing.join(', ')} configured (a command; see the runbook's "Hooks")${phase === 'switch' ? '; the switch is refused without its way back (switch-back and the unfreeze hooks)' : ''}`;
  if (!def.gated) return {};
  const verdict = rehearsalVerdict(config, entries, start);
  if (!verdict.ok) return verdict.message;
  return { rehearsal: { runId: verdict.runId!, finishedAt: verdict.finishedAt! }, gate: verdict.message };
}

function announcePhase(config: CutoverConfig, phase: CutoverPhase, out: (line: string) => void): void {
  out(`cutover ${phase}: ${PHASES[phase].what}`);
  out(`  source: ${describeDsn(config.base.src!)}   assets: ${config.base.srcAssetsDir}`);
  out(`  target: ${describeDsn(config.base.dst)}   assets: ${config.base.dstAssetsDir}`);
  out(`  log:    ${path.join(config.workDir, 'cutover-log.jsonl')}`);
}

interface Clock {
  out: (line: string) => void;
  now: () => Date;
  start: Date;
}

/**
 * The phase's work (EXECUTORS) with its own log file; a stop signal stops its tools and children, records an
 * `interrupted` entry and exits 130. Never throws: an error is a failed (or, exit 2, refused) outcome.
 */
async function execute(
  config: CutoverConfig,
  phase: CutoverPhase,
  entries: LogEntry[],
  t: Clock & { release: () => void },
): Promise<Outcome> {
  const log = new PhaseLog(path.join(config.workDir, 'logs', `cutover-${phase}.log`));
  log.line(`# cutover phase ${phase}, started ${t.start.toISOString()}`);
  const say = (line: string) => {
    log.line(line);
    t.out(`[${phase}] ${line}`);
  };
  const stoppers = new Set<() => void>();
  const onSignal = (signal: NodeJS.Signals) => {
    stopActiveTools('SIGTERM');
    for (const s of stoppers) s();
    appendEntry(config.workDir, {
      phase,
      start: t.start.toISOString(),
      end: t.now().toISOString(),
      status: 'interrupted',
      exitCode: EXIT.interrupted,
      summary: `interrupted by ${signal}; a single-transaction restore is rolled back by the server; rerun the phase or roll back`,
    });
    t.release();
    process.exit(EXIT.interrupted);
  };
  const offSignal = onStopSignal(onSignal);
  try {
    const onChild = (stop: () => void) => {
      stoppers.add(stop);
      return () => stoppers.delete(stop);
    };
    return await EXECUTORS[phase]({ config, entries, log, say, onChild });
  } catch (e) {
    const known = e instanceof PhaseError;
    const refused = known && e.exitCode === EXIT.usage;
    const message = redact(known ? e.message : `unexpected error: ${(e as Error)?.stack ?? e}`);
    return {
      status: refused ? 'refused' : 'failed',
      exitCode: refused ? EXIT.usage : EXIT.phaseFailed,
      summary: message,
    };
  } finally {
    offSignal();
    log.close();
    await closePools();
  }
}

/** One entry in the append-only log and the phase's closing line; returns its exit code. */
function recordOutcome(
  config: CutoverConfig,
  phase: CutoverPhase,
  outcome: Outcome,
  t: Clock & { rehearsal?: LogEntry['rehearsal'] },
): number {
  appendEntry(config.workDir, {
    phase,
    start: t.start.toISOString(),
    end: t.now().toISOString(),
    status: outcome.status,
    exitCode: outcome.exitCode,
    ...(outcome.commands?.length ? { commands: outcome.commands } : {}),
    summary: outcome.summary,
    ...(outcome.hooks?.length ? { hooks: outcome.hooks } : {}),
    ...(t.rehearsal ? { rehearsal: t.rehearsal } : {}),
    ...(outcome.details ? { details: outcome.details } : {}),
  });
  const label = {
    ok: 'ok',
    red: 'GATE RED',
    failed: 'FAILED',
    refused: 'REFUSED (nothing was touched)',
    interrupted: 'INTERRUPTED',
    note: 'note',
  }[outcome.status];
  t.out(`cutover ${phase}: ${label} (exit ${outcome.exitCode}): ${outcome.summary}`);
  if (outcome.status === 'red' || outcome.status === 'failed') {
    t.out(
      `  next: fix the cause and rerun ${phaseCommand(phase)}, or roll back: npm run cutover -- --rollback --confirm`,
    );
  }
  return outcome.exitCode;
}

// ---------------------------------------------------------------------------------------------------------------
// The phases

interface ExecCtx {
  config: CutoverConfig;
  entries: LogEntry[];
  log: PhaseLog;
  say: (line: string) => void;
  onChild: (stop: () => void) => () => void;
}

function emptyState(config: CutoverConfig): RunState {
  return {
    runId: `cutover-${Date.now()}`,
    mode: 'full',
    startedAt: new Date().toISOString(),
    workDir: config.workDir,
    phases: [],
    tools: {},
  };
}

function phaseCtx(c: ExecCtx, config: Config, state = emptyState(c.config)): PhaseCtx {
  return { config, state, workDir: c.config.workDir, log: c.log, say: c.say };
}

/** The configuration with the database side removed: preflight then checks the asset directories and rsync only. */
function assetsOnly(config: Config): Config {
  return { ...config, src: undefined, dumpPath: undefined };
}

async function runHooks(
  c: ExecCtx,
  phase: string,
  names: HookName[],
): Promise<{ records: HookRecord[]; failed?: HookRecord }> {
  const records: HookRecord[] = [];
  for (const name of names) {
    const rec = await runHook(c.config, name, { phase, log: c.log, say: c.say, onChild: c.onChild });
    records.push(rec);
    if (rec.status === 'failed' || rec.status === 'timeout') return { records, failed: rec };
  }
  return { records };
}

function hookOutcome(
  c: ExecCtx,
  phase: string,
  r: { records: HookRecord[]; failed?: HookRecord },
  okSummary: string,
): Outcome {
  const commands = r.records.filter((h) => h.command).map((h) => `${h.variable}: sh -c ${JSON.stringify(h.command)}`);
  if (r.failed) {
    const notRun = PHASES[phase as CutoverPhase]?.hooks.slice(r.records.length) ?? [];
    return {
      status: 'failed',
      exitCode: EXIT.phaseFailed,
      commands,
      hooks: r.records,
      summary: `${hookFailure(r.failed, c.config.hookTimeoutMs)}${notRun.length ? `; not run: ${notRun.join(', ')}` : ''}`,
    };
  }
  return { status: 'ok', exitCode: EXIT.ok, commands, hooks: r.records, summary: okSummary };
}

async function mirror(c: ExecCtx, what: string): Promise<Outcome> {
  const config = c.config.base;
  await preflightStep(assetsOnly(config), { log: c.log, say: c.say });
  const o = await mirrorStep(phaseCtx(c, config));
  return {
    status: 'ok',
    exitCode: EXIT.ok,
    summary: `${what}: ${o.reason}`,
    commands: [o.details?.command ?? ''],
  };
}

/** Other client sessions on the source database: under a freeze, each is a writer we do not control. */
const OTHER_SESSIONS_SQL = `
SELECT pid, coalesce(usename::text, '?') AS usename, coalesce(application_name, '') AS app,
       coalesce(client_addr::text, 'local') AS client, coalesce(state, '?') AS state, backend_xid IS NOT NULL AS writing
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
  AND NOT (coalesce(application_name, '') = ANY($1::text[]))
ORDER BY pid`;

interface SessionRow {
  pid: number;
  usename: string;
  app: string;
  client: string;
  state: string;
  writing: boolean;
}

async function freezeCheck(c: ExecCtx): Promise<Outcome> {
  const src = c.config.base.src!;
  const commands = [
    `SELECT ... FROM pg_stat_activity (other client sessions on ${describeDsn(src)}; tolerated application_name: ${c.config.freezeIgnoreApps.join(', ') || 'none'})`,
  ];
  let sessions: SessionRow[];
  try {
    sessions = await withConnection(
      src,
      async (cl) => (await cl.query<SessionRow>(OTHER_SESSIONS_SQL, [c.config.freezeIgnoreApps])).rows,
      { connectTimeoutMs: c.config.base.connectTimeoutMs },
    );
  } catch (e) {
    return {
      status: 'failed',
      exitCode: EXIT.phaseFailed,
      commands,
      summary: `could not inspect the source's sessions: ${redact((e as Error).message)}`,
    };
  }
  for (const s of sessions)
    c.say(
      `session pid ${s.pid}: user ${s.usename}, application "${s.app}", from ${s.client}, ${s.state}${s.writing ? ', holding a write transaction' : ''}`,
    );
  const hooks = await runHooks(c, 'freeze-check', ['drainCheck']);
  const drain = hooks.records[0];
  const hookCommands = hooks.records
    .filter((h) => h.command)
    .map((h) => `${h.variable}: sh -c ${JSON.stringify(h.command)}`);
  if (drain?.status === 'timeout') {
    return {
      status: 'failed',
      exitCode: EXIT.phaseFailed,
      commands: [...commands, ...hookCommands],
      hooks: hooks.records,
      summary: hookFailure(drain, c.config.hookTimeoutMs),
    };
  }
  const red: string[] = [];
  if (sessions.length) {
    red.push(
      `${sessions.length} other client session(s) on the source database (${sessions
        .slice(0, 5)
        .map((s) => `pid ${s.pid} ${s.usename}/"${s.app}" from ${s.client}${s.writing ? ' WRITING' : ''}`)
        .join('; ')}): stop them (or list a read-only monitoring agent in CUTOVER_FREEZE_IGNORE_APPS)`,
    );
  }
  if (drain && drain.status !== 'ok')
    red.push(`the queues are not drained (CUTOVER_HOOK_DRAIN_CHECK exited ${drain.exitCode})`);
  const details = { sessions: sessions.length };
  if (red.length)
    return {
      status: 'red',
      exitCode: EXIT.checkFailed,
      commands: [...commands, ...hookCommands],
      hooks: hooks.records,
      summary: `the freeze does not hold: ${red.join('; ')}`,
      details,
    };
  return {
    status: 'ok',
    exitCode: EXIT.ok,
    commands: [...commands, ...hookCommands],
    hooks: hooks.records,
    summary: 'no other session on the source database; queues drained',
    details,
  };
}

async function dump(c: ExecCtx): Promise<Outcome> {
  const config = c.config.base;
  const { facts } = await preflightStep(config, { log: c.log, say: c.say });
  const { outcome, archive: d } = await dumpStep(phaseCtx(c, config), facts);
  return {
    status: 'ok',
    exitCode: EXIT.ok,
    summary: outcome.reason,
    commands: [outcome.details?.command ?? ''],
    details: { archive: d.path, format: d.format, sha256: d.sha256, bytes: d.bytes, toc: d.toc, entries: d.entries },
  };
}

/**
 * The cutover's restore plan: the same preflight step and the same `planRestore` as the rehearsal (lib/phases/
 * pipeline.ts), so the cutover restores exactly what a green rehearsal restored — the same TOC exclusions (e.g. a
 * `vector` pre-installed by a DBA on a managed target), the same session settings, the same commands.
 */
export async function planCutoverRestore(
  config: CutoverConfig,
  archive: ArchiveFacts,
  io: { log: PhaseLog; say: (line: string) => void },
): Promise<{ ctx: PhaseCtx; plan: RestorePlan }> {
  const { facts } = await preflightStep(config.base, io);
  const ctx: PhaseCtx = { config: config.base, state: emptyState(config), workDir: config.workDir, ...io };
  ctx.state.dump = archive;
  return { ctx, plan: await planRestore(ctx, archive, facts) };
}

/** The archive the dump phase of this attempt recorded, verified byte for byte (it sat in WORK_DIR meanwhile). */
async function dumpedArchive(dumped: { entry: LogEntry }): Promise<ArchiveFacts> {
  const d = dumped.entry.details ?? {};
  if (!d.archive || !d.sha256 || !d.format)
    throw new PhaseError(
      'restore',
      `the dump phase at ${dumped.entry.start} recorded no archive; run ${phaseCommand('dump')} again`,
      EXIT.usage,
    );
  if (!fs.existsSync(d.archive)) {
    throw new PhaseError(
      'restore',
      `the dump ${d.archive} recorded by the dump phase at ${dumped.entry.start} is gone; run ${phaseCommand('dump')} again`,
      EXIT.usage,
    );
  }
  const digest = await archiveDigest(d.archive, d.format);
  if (digest.sha256 !== d.sha256) {
    throw new PhaseError(
      'restore',
      `the dump ${d.archive} changed since the dump phase (sha256 ${digest.sha256.slice(0, 16)}…, recorded ${d.sha256.slice(0, 16)}…); run ${phaseCommand('dump')} again`,
      EXIT.usage,
    );
  }
  return { path: d.archive, format: d.format, sha256: d.sha256, bytes: d.bytes, toc: d.toc, provided: false };
}

async function restore(c: ExecCtx): Promise<Outcome> {
  const attempt = currentAttempt(c.entries);
  const dumped = lastOf(attempt, 'dump')!;
  const sha256 = dumped.entry.details?.sha256;
  const previous = lastOf(attempt, 'restore');
  if (
    sha256 &&
    previous &&
    previous.index > dumped.index &&
    previous.entry.status === 'ok' &&
    previous.entry.details?.sha256 === sha256
  ) {
    return {
      status: 'ok',
      exitCode: EXIT.ok,
      summary: `already restored from this dump (sha256 ${sha256.slice(0, 16)}…) at ${previous.entry.start}; not restored again`,
      details: { sha256, alreadyDone: true },
    };
  }
  const archive = await dumpedArchive(dumped);
  const { ctx, plan } = await planCutoverRestore(c.config, archive, { log: c.log, say: c.say });
  const o = await runRestore(ctx, plan, { kind: 'cutover' });
  return {
    status: 'ok',
    exitCode: EXIT.ok,
    summary: o.reason,
    commands: o.details.commands,
    details: { sha256: archive.sha256, mode: o.details.mode },
  };
}

async function verify(c: ExecCtx): Promise<Outcome> {
  const dirs = verifyDirs(c.config.workDir);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(withCutoverDefaults(process.env))) if (!k.startsWith('REHEARSAL_')) env[k] = v;
  env.REPORTS_DIR = dirs.reportsDir;
  env.WORK_DIR = dirs.workDir;
  const [file, args] = cliCommand('rehearse', ['--verify-only']);
  const command = `REPORTS_DIR=${dirs.reportsDir} WORK_DIR=${dirs.workDir} npm run rehearse -- --verify-only`;
  c.say(`$ ${command}   (the rehearsal's check suite, same environment)`);
  const before = resolveLatest(dirs.reportsDir)?.runId;
  const code = await new Promise<number>((resolve) => {
    const child = spawn(file, args, {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, c.config.verifyTimeoutMs);
    const unregister = c.onChild(() => child.kill('SIGTERM'));
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => c.say(`  ${redact(line)}`));
    }
    child.on('error', () => resolve(EXIT.phaseFailed));
    child.on('close', (code) => {
      clearTimeout(timer);
      unregister();
      resolve(timedOut ? -1 : (code ?? EXIT.phaseFailed));
    });
  });
  const latest = resolveLatest(dirs.reportsDir);
  const m = latest && latest.runId !== before ? readManifest(latest.runDir) : undefined;
  const details = m
    ? { runId: m.runId, runDir: latest!.runDir, totals: m.totals, failures: m.failures.map((f) => f.name) }
    : undefined;
  const counts = m
    ? `${m.totals.passed} passed, ${m.totals.failed} failed, ${m.totals.skipped} skipped`
    : 'no manifest';
  if (code === -1)
    return {
      status: 'failed',
      exitCode: EXIT.phaseFailed,
      commands: [command],
      summary: `the check suite did not finish within CUTOVER_VERIFY_TIMEOUT_MS=${c.config.verifyTimeoutMs} and was stopped`,
      details,
    };
  if (code === EXIT.ok && m && m.exitCode === 0) {
    return {
      status: 'ok',
      exitCode: EXIT.ok,
      commands: [command],
      summary: `the check suite is green (${counts}); run ${m.runId}`,
      details,
    };
  }
  if (code === EXIT.checkFailed) {
    const names = m?.failures
      .slice(0, 5)
      .map((f) => f.name)
      .join('; ');
    return {
      status: 'red',
      exitCode: EXIT.checkFailed,
      commands: [command],
      summary: `the verification gate is RED (${counts}${names ? `: ${names}` : ''}); the switch is blocked; reports: ${latest?.runDir ?? dirs.reportsDir}`,
      details,
    };
  }
  return {
    status: 'failed',
    exitCode: EXIT.phaseFailed,
    commands: [command],
    summary: `the check suite could not run (rehearse exited ${code}, ${counts}); see the output above`,
    details,
  };
}

async function smoke(c: ExecCtx): Promise<Outcome> {
  const base = c.config.base;
  const url = `${base.stagingApiBaseUrl}${base.stagingHealthPath}`;
  const commands = [redact(`GET ${url} (timeout HEALTH_TIMEOUT_MS=${base.healthTimeoutMs})`)];
  let health: string | undefined;
  let healthOk = false;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(base.healthTimeoutMs), redirect: 'manual' });
    const body = (await res.text()).slice(0, 200).replace(/\s+/g, ' ');
    healthOk = res.status >= 200 && res.status < 300;
    health = `HTTP ${res.status}; body: ${body || '(empty)'}`;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    health =
      err.name === 'TimeoutError'
        ? `no answer within ${base.healthTimeoutMs} ms`
        : `request failed: ${err.cause?.code ?? err.message}`;
  }
  c.say(redact(`GET ${url}: ${health}`));
  const hooks = await runHooks(c, 'smoke', ['smoke']);
  const hook = hooks.records[0];
  commands.push(
    ...hooks.records.filter((h) => h.command).map((h) => `${h.variable}: sh -c ${JSON.stringify(h.command)}`),
  );
  const red: string[] = [];
  if (!healthOk) red.push(`health ${redact(url)}: expected 2xx, got ${health}`);
  if (hook && (hook.status === 'failed' || hook.status === 'timeout'))
    red.push(hookFailure(hook, c.config.hookTimeoutMs));
  if (red.length)
    return {
      status: 'red',
      exitCode: EXIT.checkFailed,
      commands,
      hooks: hooks.records,
      summary: `smoke RED: ${red.join('; ')}; the window stays frozen: fix and rerun smoke, or roll back`,
    };
  return {
    status: 'ok',
    exitCode: EXIT.ok,
    commands,
    hooks: hooks.records,
    summary: `health ${redact(url)} ${health}${hook?.status === 'skipped' ? '; CUTOVER_HOOK_SMOKE not set (skipped): do the manual smoke list' : '; smoke hook ok'}`,
  };
}

const EXECUTORS: Record<CutoverPhase, (c: ExecCtx) => Promise<Outcome>> = {
  presync: (c) => mirror(c, 'pre-sync while live'),
  freeze: async (c) =>
    hookOutcome(
      c,
      'freeze',
      await runHooks(c, 'freeze', PHASES.freeze.hooks),
      'maintenance mode on; workers and beat stopped',
    ),
  'freeze-check': freezeCheck,
  dump,
  restore,
  sync: (c) => mirror(c, 'final sync'),
  verify,
  switch: async (c) =>
    hookOutcome(
      c,
      'switch',
      await runHooks(c, 'switch', PHASES.switch.hooks),
      'every service now points at the new DSN and assets; next: smoke',
    ),
  smoke,
  unfreeze: async (c) =>
    hookOutcome(
      c,
      'unfreeze',
      await runHooks(c, 'unfreeze', PHASES.unfreeze.hooks),
      'workers started; maintenance mode off; the cutover is complete',
    ),
};

// ---------------------------------------------------------------------------------------------------------------
// Rollback and notes

export async function runRollback(config: CutoverConfig, opts: RunOptions): Promise<number> {
  const out = opts.out ?? print;
  const now = opts.now ?? (() => new Date());
  const start = now();
  const refuse = (message: string): number => {
    out(`cutover rollback: REFUSED (exit 2, nothing was touched): ${message}`);
    appendEntry(config.workDir, {
      phase: 'rollback',
      start: start.toISOString(),
      end: now().toISOString(),
      status: 'refused',
      exitCode: EXIT.usage,
      summary: message,
    });
    return EXIT.usage;
  };
  const lock = acquireLock(config.workDir, 'rollback');
  if (!lock.ok) {
    out(`cutover rollback: REFUSED (exit 2, nothing was touched): ${lock.message}`);
    return EXIT.usage;
  }
  try {
    if (!opts.confirm)
      return refuse(
        'the rollback runs the switch-back/unfreeze hooks on production; it needs an explicit confirmation: npm run cutover -- --rollback --confirm',
      );
    const plan = rollbackPlan(readLog(config.workDir));
    if (plan.kind === 'refused') return refuse(plan.message);
    if (plan.kind === 'nothing') {
      out(`cutover rollback: ${plan.message}`);
      return EXIT.ok;
    }
    const missing = missingHooks(config, plan.hooks);
    if (missing.length) return refuse(`the rollback needs ${missing.join(', ')} configured (${plan.message})`);
    out(`cutover rollback: ${plan.message}`);
    out(`  the source (${describeDsn(config.base.src!)}) is not written by the rollback`);
    const log = new PhaseLog(path.join(config.workDir, 'logs', 'cutover-rollback.log'));
    const say = (line: string) => {
      log.line(line);
      out(`[rollback] ${line}`);
    };
    const records: HookRecord[] = [];
    let failed: HookRecord | undefined;
    try {
      for (const name of plan.hooks) {
        const rec = await runHook(config, name, { phase: 'rollback', log, say });
        records.push(rec);
        if (rec.status === 'failed' || rec.status === 'timeout') {
          failed = rec;
          break;
        }
      }
    } finally {
      log.close();
    }
    const commands = records.filter((h) => h.command).map((h) => `${h.variable}: sh -c ${JSON.stringify(h.command)}`);
    const summary = failed
      ? `${hookFailure(failed, config.hookTimeoutMs)}; the rollback stopped there (not run: ${plan.hooks.slice(records.length).join(', ') || 'none'}); fix it and rerun npm run cutover -- --rollback --confirm (hooks must be idempotent)`
      : `rolled back (${plan.switched ? 'after the switch: switched back, then unfrozen' : plan.hooks.length ? 'before the switch: unfrozen' : 'nothing to undo on the production side'}); the source was not written; the target is left as it is for diagnosis`;
    const exitCode = failed ? EXIT.phaseFailed : EXIT.ok;
    appendEntry(config.workDir, {
      phase: 'rollback',
      start: start.toISOString(),
      end: now().toISOString(),
      status: failed ? 'failed' : 'ok',
      exitCode,
      ...(commands.length ? { commands } : {}),
      summary,
      ...(records.length ? { hooks: records } : {}),
      details: { switched: plan.switched },
    });
    out(`cutover rollback: ${failed ? 'FAILED' : 'ok'} (exit ${exitCode}): ${summary}`);
    return exitCode;
  } finally {
    lock.release();
  }
}

/** `--note "<text>"`: a sign-off or remark in the timeline (e.g. the go/no-go owner accepting a warning). */
export function addNote(config: CutoverConfig, text: string, opts: Pick<RunOptions, 'out' | 'now'> = {}): number {
  const at = (opts.now ?? (() => new Date()))().toISOString();
  appendEntry(config.workDir, { phase: 'note', start: at, end: at, status: 'note', exitCode: EXIT.ok, summary: text });
  (opts.out ?? print)(`cutover: note recorded in ${path.join(config.workDir, 'cutover-log.jsonl')}`);
  return EXIT.ok;
}
