/**
 * Issue 26 (attack 19): SIGINT/SIGTERM in the first moments of `node bin/run.mjs rehearse` end the run with 130/143
 * (a death by that signal counts: the shell reports 130/143) and leave no dump and no report of it. No cluster is
 * needed: both DSNs point at a closed port, so a run that missed the signal would go on, fail its preflight quickly and
 * write a report (exit 2) — what the attack saw.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../lib/core/project.ts';

const SIGNAL_NUMBER = { SIGINT: 2, SIGTERM: 15 } as const;

/** A port nothing listens on (taken from the kernel, then released). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Every file under `dir` (relative), [] when it does not exist. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

/**
 * One run of the launcher, signalled `when`: after `ms` milliseconds, or as soon as its first output line shows the
 * run started. Resolves with the shell's view of its end (128 + signal for a death by signal), its output and what it
 * left in its temporary folder and REPORTS_DIR.
 */
async function signalledRun(sig: 'SIGINT' | 'SIGTERM', when: number | 'started' | 'first line', port: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sig-early-'));
  for (const d of ['tmp', 'dst', 'src']) fs.mkdirSync(path.join(dir, d));
  const env = {
    ...process.env,
    DST_DATABASE_URL: `postgresql://u@127.0.0.1:${port}/dst`,
    SRC_DATABASE_URL: `postgresql://u@127.0.0.1:${port}/src`,
    DST_ASSETS_DIR: path.join(dir, 'dst'),
    SRC_ASSETS_DIR: path.join(dir, 'src'),
    REPORTS_DIR: path.join(dir, 'reports'),
    TMPDIR: path.join(dir, 'tmp'),
    HEALTH_CHECK: '0',
    // Not a variable of the tool: its warning is the run's first line, before the configuration is even parsed.
    DST_PORT: String(port),
  };
  delete (env as NodeJS.ProcessEnv).WORK_DIR;
  const child = spawn(process.execPath, ['bin/run.mjs', 'rehearse'], { cwd: PROJECT_ROOT, env });
  let out = '';
  let outAtSignal = '';
  const send = () => {
    outAtSignal = out;
    return child.exitCode === null && child.kill(sig);
  };
  const onData = (d: Buffer) => {
    out += d;
    if ((when === 'started' && /^rehearsal \S+ \(full\)/m.test(out)) || (when === 'first line' && out.includes('\n'))) {
      when = -1;
      send();
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  if (typeof when === 'number') setTimeout(send, when);
  const shellCode = await new Promise<number>((resolve) =>
    child.on('close', (code, signal) => resolve(code ?? 128 + SIGNAL_NUMBER[signal as keyof typeof SIGNAL_NUMBER])),
  );
  const left = {
    tmp: filesUnder(path.join(dir, 'tmp')),
    reports: filesUnder(path.join(dir, 'reports')),
  };
  fs.rmSync(dir, { recursive: true, force: true });
  return { shellCode, out, outAtSignal, left };
}

const CASES: Array<['SIGINT' | 'SIGTERM', number | 'started' | 'first line']> = [
  ['SIGINT', 'first line'],
  ['SIGINT', 0],
  ['SIGINT', 50],
  ['SIGINT', 150],
  ['SIGINT', 300],
  ['SIGINT', 600],
  ['SIGINT', 'started'],
  ['SIGTERM', 0],
  ['SIGTERM', 150],
  ['SIGTERM', 600],
  ['SIGTERM', 'started'],
];

test.each(CASES)(
  '%s at %s ms: exit 128+signal, no dump, no report',
  async (sig, when) => {
    const port = await closedPort();
    const r = await signalledRun(sig, when, port);
    expect(r.shellCode, r.out).toBe(128 + SIGNAL_NUMBER[sig]);
    expect(r.left.tmp.filter((f) => /source\.dump/.test(f))).toEqual([]);
    // "Early" is before the preflight's verdict: a launcher that starts fast can be past it at a fixed delay (both
    // DSNs point at a closed port, so the preflight refuses at once), and a refused run keeps the record of its
    // refusal. Before that line nothing of the run may be left.
    if (!/^\[preflight\]/m.test(r.outAtSignal))
      expect(
        r.left.reports.filter((f) => /(report\.html|checks\.json|summary\.md|junit\.xml|manifest\.json)$/.test(f)),
        r.outAtSignal,
      ).toEqual([]);
    // Once the run has said anything (a configuration warning included: attack 19 ended silently after one), the
    // interruption is said too.
    if (r.outAtSignal.trim()) expect(r.out, r.out).toMatch(new RegExp(`interrupted by ${sig}`));
  },
  120_000,
);

/**
 * A TCP proxy on loopback to `port` that forwards each new connection only after `delayMs`: every server round trip
 * of the run through it starts slowly, so the run can be caught between its phases.
 */
async function slowProxy(port: number, delayMs: number): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((down) => {
    sockets.add(down);
    down.pause();
    down.on('error', () => {});
    setTimeout(() => {
      if (down.destroyed) return;
      const up = net.connect(port, '127.0.0.1');
      sockets.add(up);
      up.on('error', () => down.destroy());
      down.pipe(up);
      up.pipe(down);
      down.resume();
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test('SIGINT after the preflight, before vitest runs (the slot probe): exit 130, the interruption said', async () => {
  const { scenario } = await import('../helpers/scenario.ts');
  const { startRehearse } = await import('../helpers/hardening.ts');
  const s = await scenario();
  const dst = new URL(s.dst.url);
  const proxy = await slowProxy(Number(dst.port), 3000);
  try {
    dst.port = String(proxy.port);
    const run = startRehearse([], { ...s.env, DST_DATABASE_URL: dst.toString(), CONNECT_TIMEOUT_MS: '30000' });
    // The preflight's record is written, then the run probes the servers' free slots (a new target connection, 3 s
    // through the proxy) before vitest starts: the signal lands there.
    const preflight = path.join(s.workDir, 'preflight.json');
    for (let i = 0; i < 1200 && !fs.existsSync(preflight) && run.child.exitCode === null; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(fs.existsSync(preflight), run.output()).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.output).not.toMatch(/\[checks\]/);
    // A death by the signal is what the shell reports as 130 too; what must not happen is a silent one.
    const shellCode = r.signal ? 128 + SIGNAL_NUMBER[r.signal as 'SIGINT'] : r.code;
    expect(shellCode, r.output).toBe(130);
    expect(r.output).toMatch(/interrupted by SIGINT/);
  } finally {
    proxy.close();
  }
}, 240_000);

/** Every entry under `dir` (relative, directories too), [] when it does not exist. */
function entriesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).map(String).sort();
}

test.each(['temporary', 'given'] as const)(
  'SIGINT during the preflight, %s WORK_DIR: exit 130, no stale lock left; a temporary WORK_DIR is removed whole',
  async (kind) => {
    const { scenario } = await import('../helpers/scenario.ts');
    const { startRehearse } = await import('../helpers/hardening.ts');
    const s = await scenario();
    const dst = new URL(s.dst.url);
    // Every new target connection starts 1.5 s late: the preflight's probes take seconds, the signal lands among them.
    const proxy = await slowProxy(Number(dst.port), 1500);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sig-preflight-'));
    try {
      dst.port = String(proxy.port);
      const run = startRehearse([], {
        ...s.env,
        DST_DATABASE_URL: dst.toString(),
        CONNECT_TIMEOUT_MS: '30000',
        TMPDIR: tmp,
        WORK_DIR: kind === 'given' ? s.workDir : undefined,
      });
      await run.waitFor(/WORK_DIR: \S+/);
      const workDir = /WORK_DIR: (\S+)/.exec(run.output())![1];
      if (kind === 'temporary') expect(path.dirname(workDir)).toBe(tmp);
      // In the preflight: the lock is taken and the preflight has started writing its log into WORK_DIR.
      const inPreflight = () => entriesUnder(workDir).some((n) => !n.startsWith('rehearsal.lock'));
      for (let i = 0; i < 1200 && !inPreflight() && run.child.exitCode === null; i++)
        await new Promise((r) => setTimeout(r, 25));
      const before = entriesUnder(workDir);
      expect(before, run.output()).toContain('rehearsal.lock');
      expect(before.length, run.output()).toBeGreaterThan(1);
      expect(fs.existsSync(path.join(workDir, 'preflight.json')), run.output()).toBe(false);
      run.child.kill('SIGINT');
      const r = await run.done;
      const shellCode = r.signal ? 128 + SIGNAL_NUMBER[r.signal as 'SIGINT'] : r.code;
      expect(shellCode, r.output).toBe(130);
      expect(r.output).toMatch(/interrupted by SIGINT during the preflight/);
      expect(fs.existsSync(path.join(workDir, 'rehearsal.lock')), `${before.join(', ')}\n${r.output}`).toBe(false);
      if (kind === 'temporary') expect(entriesUnder(tmp), before.join(', ')).toEqual([]);
      else expect(fs.existsSync(workDir)).toBe(true); // the operator's WORK_DIR stays, without the run's lock
    } finally {
      proxy.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
  240_000,
);
