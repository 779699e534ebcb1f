/**
 * One deadline for the whole checks phase, and a dead side failing every remaining check at once (issue 26: SIGSTOP
 * on the target mid-checks left the run alive at +360 s, timing out one 120 s wave of checks after another).
 *
 * - The deadline: CHECKS_DEADLINE_S seconds from the first check of the run, shared by every spec worker process
 *   through `WORK_DIR/checks-deadline.json` (`{ runId, deadlineAt }`, the first worker writes it). A check still running
 *   at the deadline fails with a message naming CHECKS_DEADLINE_S; a check starting after it fails at once.
 * - The dead side: from its first check on, each worker probes each side (a new connection + `SELECT 1`, bounded by
 *   CONNECT_TIMEOUT_MS) every PROBE_EVERY_MS, on its own clock (check starts and ends never reset it). Two failed probes in a row (a refused or timed-out connection, not "too
 *   many clients") mark the side dead in `WORK_DIR/checks-dead.json`: every running check of every worker fails at once
 *   naming the side, and every later one fails before it starts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { withConnection } from '../core/db.ts';
import { describeDsn, type Dsn } from '../core/dsn.ts';
import type { Config } from '../core/config.ts';
import { CheckFailure } from './shared/verdict.ts';

/** How often a worker probes each side while its checks run (ms). */
export const PROBE_EVERY_MS = 15_000;
/** Failed probes in a row that make a side dead. */
export const PROBES_TO_DEAD = 2;

const DEADLINE_FILE = 'checks-deadline.json';
const DEAD_FILE = 'checks-dead.json';

/**
 * The run's checks deadline (epoch ms): read from WORK_DIR/checks-deadline.json when this run wrote it, else
 * `now + seconds` written there (best effort: an unwritable WORK_DIR gives each worker its own deadline).
 */
export function sharedDeadline(workDir: string, runId: string, seconds: number, now = Date.now()): number {
  const file = path.join(workDir, DEADLINE_FILE);
  try {
    const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as { runId?: string; deadlineAt?: number };
    if (rec.runId === runId && typeof rec.deadlineAt === 'number') return rec.deadlineAt;
  } catch {
    /* absent or from another run */
  }
  const deadlineAt = now + seconds * 1000;
  writeAtomically(file, { runId, deadlineAt });
  return deadlineAt;
}

/** Why the run's checks can no longer reach a side (set by `markDead`), or undefined. */
export function deadSide(workDir: string, runId: string): string | undefined {
  try {
    const rec = JSON.parse(fs.readFileSync(path.join(workDir, DEAD_FILE), 'utf8')) as { runId?: string; why?: string };
    return rec.runId === runId ? rec.why : undefined;
  } catch {
    return undefined;
  }
}

/** Record that a side is dead for every worker of the run. */
export function markDead(workDir: string, runId: string, why: string): void {
  writeAtomically(path.join(workDir, DEAD_FILE), { runId, why });
}

function writeAtomically(file: string, rec: object): void {
  try {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(rec) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch {
    /* a full or read-only WORK_DIR: this worker still applies its own deadline */
  }
}

/** Whether a failed probe says the server is unreachable (refused, reset, timed out), not merely busy or refusing us. */
export function probeSaysDead(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (err?.code === '53300' || err?.code === '57P03' || /^28/.test(err?.code ?? '')) return false;
  return /timeout|timed out|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|terminated|Connection terminated/i.test(
    err?.message ?? String(e),
  );
}

type Waiter = (why: string) => void;

/** The per-worker watchdog: probes both sides while at least one check runs. */
class Watchdog {
  private waiters = new Set<Waiter>();
  private timer?: NodeJS.Timeout;
  private failures = new Map<string, number>();
  private probing = false;

  constructor(
    private readonly sides: Array<{ label: string; dsn: Dsn }>,
    private readonly connectTimeoutMs: number,
    private readonly onDead: (why: string) => void,
  ) {}

  /**
   * Register a running check; `fail` is called once if a side dies. Returns the unregister function. The probe runs
   * on its own clock from the first check on, every PROBE_EVERY_MS whether or not a check runs at that moment: a
   * timer restarted by each check never fired when every check failed sooner than PROBE_EVERY_MS (issue 26,
   * CHECK_CONCURRENCY=1 CONNECT_TIMEOUT_MS=3000 on a frozen target). The timer does not keep the worker alive.
   */
  watch(fail: Waiter): () => void {
    this.waiters.add(fail);
    if (!this.timer) {
      this.timer = setInterval(() => void this.probe(), PROBE_EVERY_MS);
      this.timer.unref();
    }
    return () => {
      this.waiters.delete(fail);
    };
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      for (const s of this.sides) {
        try {
          await withConnection(s.dsn, (c) => c.query('SELECT 1'), { connectTimeoutMs: this.connectTimeoutMs });
          this.failures.set(s.label, 0);
        } catch (e) {
          if (!probeSaysDead(e)) continue;
          const n = (this.failures.get(s.label) ?? 0) + 1;
          this.failures.set(s.label, n);
          if (n >= PROBES_TO_DEAD)
            return this.dead(`${s.label} stopped answering (${n} probes in a row failed: ${(e as Error).message})`);
        }
      }
    } finally {
      this.probing = false;
    }
  }

  private dead(why: string): void {
    this.onDead(why);
    for (const w of [...this.waiters]) w(why);
  }
}

let watchdog: Watchdog | undefined;

function watchdogFor(config: Config, workDir: string, runId: string): Watchdog {
  const sides = [
    { label: `the target server (${describeDsn(config.dst)})`, dsn: config.dst },
    ...(config.src ? [{ label: `the source server (${describeDsn(config.src)})`, dsn: config.src }] : []),
  ];
  return (watchdog ??= new Watchdog(sides, config.connectTimeoutMs, (why) => markDead(workDir, runId, why)));
}

/**
 * Run one check under the run's deadline and dead-side watch. Throws CheckFailure (the check fails with that message)
 * when the deadline has passed or passes while it runs, or when a side is (or becomes) dead; else the check's result.
 */
export async function underDeadline<T>(
  run: { workDir: string; runId: string },
  config: Config | undefined,
  check: () => Promise<T>,
): Promise<T> {
  if (!config) return check();
  const dead = deadSide(run.workDir, run.runId);
  if (dead) throw new CheckFailure(`not checked: ${dead}; every remaining check fails at once`);
  const deadlineAt = sharedDeadline(run.workDir, run.runId, config.checksDeadlineS);
  const overdue = `not checked: the checks phase passed its deadline (CHECKS_DEADLINE_S=${config.checksDeadlineS} s from its first check); raise CHECKS_DEADLINE_S or find what is slow`;
  if (Date.now() >= deadlineAt) throw new CheckFailure(overdue);
  let timer: NodeJS.Timeout | undefined;
  let unwatch = () => {};
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckFailure(overdue)), deadlineAt - Date.now());
    unwatch = watchdogFor(config, run.workDir, run.runId).watch((why) =>
      reject(new CheckFailure(`not checked: ${why}; every remaining check fails at once`)),
    );
  });
  try {
    return await Promise.race([check(), stop]);
  } finally {
    clearTimeout(timer);
    unwatch();
  }
}

/** `p`, or nothing after `ms` (closing the pools of a frozen server must not hang the worker's teardown). */
export function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref();
    p.then(
      () => (clearTimeout(t), resolve()),
      () => (clearTimeout(t), resolve()),
    );
  });
}
