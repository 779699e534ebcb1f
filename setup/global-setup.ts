/**
 * Global setup of the `checks` project: run the copy phases the configuration asks for, in order (preflight → dump →
 * restore → mirror, stopping at the first failure), then discover what to check, record everything in
 * WORK_DIR/state.json, and provide it to the specs. Each phase is its own module; this file only orchestrates.
 *
 * It never throws for an expected failure (a throwing global setup leaves an empty JUnit report): a failed phase is
 * recorded and surfaces as a failing test case in specs/phases.spec.ts, with the reason.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { effectiveConfig, parseConfig, registerSecrets, type Config } from '../lib/core/config.ts';
import type { RehearsalContext } from '../lib/checks/shared/context.ts';
import { closePools, connectionBudget, freeConnectionSlots } from '../lib/core/db.ts';
import { discoverPlan } from '../lib/checks/shared/discovery.ts';
import { EXIT, signalExitCode } from '../lib/core/errors.ts';
import { redact } from '../lib/core/redact.ts';
import { onStopSignal } from '../lib/core/signals.ts';
import { applyToolPaths, stopActiveTools } from '../lib/core/tools.ts';
import { dumpOutputPath } from '../lib/phases/commands.ts';
import { blockingPhase, writeState, type CheckPlan, type RunState } from '../lib/core/state.ts';
import { phaseSchedule } from '../lib/phases/phase-schedule.ts';
import { PHASES, type PhaseName, type PhaseResult } from '../lib/phases/phase-types.ts';
import { fromEnv, type RunProtocol } from '../lib/core/run-protocol.ts';
import { detailsOf, runPhase, type PhaseCtx, type PhaseOutcome } from '../lib/phases/phase.ts';
import { copySteps } from '../lib/phases/pipeline.ts';
import { runningEngines as engineCount, stopEngines } from '../lib/phases/engines/process-group.ts';
import { readPreflightRecord, recordFacts, type PreflightRecord } from '../lib/phases/preflight-gate.ts';

const COPY_PHASES: PhaseName[] = ['dump', 'restore', 'mirror'];

export default async function setup(project: TestProject) {
  // The run protocol (lib/core/run-protocol.ts): what `rehearse` decided, with the configuration it parsed.
  const run: RunProtocol = fromEnv(process.env) ?? { mode: 'full' };
  const state = newState(run);
  const config = runConfig(run, state);
  saveState(state);
  // rehearse runs the preflight before vitest, in every mode (lib/phases/preflight-gate.ts), and hands its result here.
  const pre = readPreflightRecord(run.preflightFile);
  if (pre) {
    Object.assign(state.tools, detailsOf(pre.result).tools ?? {});
    applyToolPaths(state.tools);
  }
  if (config) {
    if (state.mode === 'full') await copyPhases(config, state, pre);
    else skipCopyPhases(state, pre);
  }
  const poolCaps = config && !blockingPhase(state) ? await discover(config, state, project, run) : undefined;
  state.finishedAt = new Date().toISOString();
  saveState(state);
  project.provide('rehearsal', contextOf(state, poolCaps));
  await closePools();
}

/** The run's record before anything ran. */
function newState(run: RunProtocol): RunState {
  return {
    runId: run.runId || new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z'),
    mode: run.mode === 'list' ? 'full' : run.mode,
    startedAt: new Date().toISOString(),
    workDir: run.workDir || process.env.WORK_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'rehearsal-work-')),
    runDir: run.runDir,
    phases: [],
    tools: { node: process.version },
  };
}

/**
 * The configuration the CLI parsed (handed on as data), or — vitest started without `rehearse` — parsed from the
 * environment here. A configuration error is recorded as a refused preflight.
 */
function runConfig(run: RunProtocol, state: RunState): Config | undefined {
  try {
    const config = run.config ?? parseConfig(process.env, { mode: state.mode === 'full' ? 'full' : 'verify-only' });
    registerSecrets(config);
    state.config = effectiveConfig(config);
    return config;
  } catch (e) {
    state.phases.push({
      name: 'preflight',
      status: 'failed',
      reason: redact((e as Error).message),
      rehearseExitCode: EXIT.usage,
    });
    return undefined;
  }
}

/** `--verify-only` / `--rerun-failed`: the gate's preflight, and every copy phase skipped with the reason. */
function skipCopyPhases(state: RunState, pre: PreflightRecord | undefined): void {
  if (pre) state.phases.push(pre.result);
  for (const name of pre ? COPY_PHASES : PHASES) {
    state.phases.push({
      name,
      status: 'skipped',
      reason:
        pre && pre.result.status !== 'ok'
          ? 'not run: phase preflight failed'
          : `${state.mode === 'rerun' ? '--rerun-failed' : '--verify-only'}: no copy phases`,
    });
  }
}

/**
 * Discovery and the connection budget read different things from the same servers: at once, so a remote server's
 * round trips overlap instead of adding up. The plan (or why there is none) lands in `state`.
 */
async function discover(
  config: Config,
  state: RunState,
  project: TestProject,
  run: RunProtocol,
): Promise<RehearsalContext['poolCaps']> {
  const [, poolCaps] = await Promise.all([
    loadOrDiscoverPlan(config, state, run.planFile).then(
      (plan) => void (state.plan = plan),
      (e) => void (state.planError = redact((e as Error).message)),
    ),
    poolBudget(config, project),
  ]);
  return poolCaps;
}

/** What the specs get through inject('rehearsal'). */
function contextOf(state: RunState, poolCaps: RehearsalContext['poolCaps']): RehearsalContext {
  const blocked = blockingPhase(state);
  return {
    runId: state.runId,
    mode: state.mode,
    workDir: state.workDir,
    runDir: state.runDir,
    phaseNames: PHASES,
    phases: state.phases,
    blockedBy: blocked ? `phase ${blocked.name} ${blocked.status}: ${blocked.reason ?? ''}`.trim() : undefined,
    plan: state.plan,
    planError: state.planError,
    poolCaps,
    toc: state.dump?.toc,
  };
}

/**
 * preflight → dump → restore → mirror (lib/phases/pipeline.ts), the typed facts of each step handed to the next; the
 * first failure stops the rest (recorded as skipped, with the reason).
 */
async function copyPhases(config: Config, state: RunState, pre?: PreflightRecord): Promise<void> {
  const base: Omit<PhaseCtx, 'log' | 'say'> = { config, state, workDir: state.workDir };
  const run = copySteps(config, pre ? recordFacts(pre) : undefined);
  const interruption = watchInterruption(config, state);
  try {
    for (const p of phaseSchedule(config)) {
      interruption.current = p.name;
      await runStep(p.name, p.wanted, p.whyNot, run[p.name]);
    }
  } finally {
    interruption.off();
  }

  async function runStep(
    name: PhaseName,
    wanted: boolean,
    why: string,
    fn: (ctx: PhaseCtx) => Promise<PhaseOutcome>,
  ): Promise<void> {
    const blocked = blockingPhase(state);
    let result: PhaseResult;
    if (blocked) result = { name, status: 'skipped', reason: `not run: phase ${blocked.name} failed` };
    else if (!wanted) result = { name, status: 'skipped', reason: why };
    else if (name === 'preflight' && pre) result = pre.result;
    else {
      result = await runPhase(name, base, fn);
      // A stop signal sent to the whole run (a terminal's Ctrl-C, a service manager) may kill the phase's tool before
      // this process runs its own handler: the tool's death then looks like a failure. Give the handler a moment, so
      // the phase is recorded as interrupted, not failed.
      if (result.status === 'failed') await signalGrace(() => !!state.interrupted);
    }
    if (name === 'preflight') {
      const tools = detailsOf(result).tools ?? {};
      Object.assign(state.tools, tools);
      // The gate's preflight ran in the `rehearse` process: run exactly the executables it resolved and reported.
      applyToolPaths(tools);
    }
    if (state.interrupted) return;
    state.phases.push(result);
    // After every phase, so an interrupted or crashed run still leaves its record.
    saveState(state);
  }
}

/**
 * An interrupted copy is recorded (state.json says which phase) and its tools are stopped; then the signal goes on to
 * its usual handling. A single-transaction restore killed this way is rolled back by the server.
 */
function watchInterruption(config: Config, state: RunState): { current?: PhaseName; off: () => void } {
  const w: { current?: PhaseName; off: () => void } = { off: () => {} };
  const onSignal = (signal: NodeJS.Signals) => {
    const current = w.current;
    const stopped = stopActiveTools('SIGTERM') + engineCount();
    // COPY_ENGINE=pgcopydb / ASSETS_ENGINE=fpsync run in their own process groups: stop every process of them.
    void stopEngines();
    state.interrupted = { signal, phase: current, at: new Date().toISOString() };
    let reason = `interrupted by ${signal} during phase ${current}; ${stopped} running tool(s) stopped`;
    if (current === 'dump' && !config.dumpPath) {
      // An unfinished dump never gets the final name; remove it too, so nothing in WORK_DIR looks like a usable dump.
      fs.rmSync(`${dumpOutputPath(state.workDir, config.dumpFormat)}.partial`, { recursive: true, force: true });
      reason += '; the partial dump was removed';
    }
    if (current === 'restore')
      reason +=
        '; a single-transaction restore is rolled back by the server (the target is as before), a parallel one is left partial';
    if (current)
      state.phases.push({ name: current, status: 'interrupted', reason, rehearseExitCode: signalExitCode(signal) });
    saveState(state);
    process.kill(process.pid, signal);
  };
  w.off = onStopSignal(onSignal, { prepend: true });
  return w;
}

/**
 * Pool sizes that keep every spec process together under each server's free connection slots: vitest runs up to
 * maxWorkers spec files at once, each with its own pools. An unreachable server gets no cap (its checks fail anyway).
 */
async function poolBudget(config: Config, project: TestProject): Promise<RehearsalContext['poolCaps']> {
  const workers =
    project.config.maxWorkers || project.vitest.config.maxWorkers || Math.max(1, os.availableParallelism() - 1);
  const dsns = [config.dst, ...(config.src ? [config.src] : [])];
  const servers = new Map<string, { host?: string; port?: number; pools: number; dsn: typeof config.dst }>();
  for (const d of dsns) {
    const k = `${d.host}:${d.port}`;
    const s = servers.get(k);
    if (s) s.pools++;
    else servers.set(k, { host: d.host, port: d.port, pools: 1, dsn: d });
  }
  const caps: NonNullable<RehearsalContext['poolCaps']> = [];
  for (const s of servers.values()) {
    try {
      const free = await freeConnectionSlots(s.dsn, { connectTimeoutMs: config.connectTimeoutMs });
      caps.push({
        host: s.host,
        port: s.port,
        max: connectionBudget(free, Number(workers), s.pools, config.checkConcurrency),
      });
    } catch {
      /* unreachable: the checks say so */
    }
  }
  return caps;
}

/**
 * state.json, never throwing: a full or read-only WORK_DIR must not turn into a crashed global setup (an empty report);
 * the console says why the record is missing or stale.
 */
function saveState(state: RunState): void {
  try {
    writeState(state);
  } catch (e) {
    process.stderr.write(
      redact(`warning: could not write ${state.workDir}/state.json: ${(e as Error).message}; free space in WORK_DIR`) +
        '\n',
    );
  }
}

/** A rerun checks the same plan (same tables, same asset sample) as the run it retries. */
async function loadOrDiscoverPlan(config: Config, state: RunState, planFile?: string): Promise<CheckPlan> {
  if (planFile) return JSON.parse(fs.readFileSync(planFile, 'utf8')) as CheckPlan;
  return discoverPlan(config, { seed: config.assetsSampleSeed ?? state.runId });
}

/** Wait up to `ms` for `arrived()` (polled every 20 ms): the time a stop signal needs to reach this process too. */
async function signalGrace(arrived: () => boolean, ms = 1500): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end && !arrived();) await new Promise((r) => setTimeout(r, 20));
}
