/**
 * ASSETS_ENGINE=fpsync with the real fpsync/fpart/rsync (lib/phases/engines/fpsync.ts): a generated tree mirrored with
 * several jobs arrives byte for byte; a same-size, same-mtime change is copied only with the content check (and
 * missed without it: the check can be red); files missing from the source are deleted only with ASSETS_DELETE; a
 * target directory in the way of a file fails with rsync's exit code 23 and its meaning; an interrupted mirror leaves
 * no process behind.
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { PhaseError } from '../../lib/core/errors.ts';
import { fpsyncPlan, runFpsync, startFpsync } from '../../lib/phases/engines/fpsync.ts';
import { sessionMembers } from '../../lib/phases/engines/process-group.ts';
import { freePort } from '../../lib/sandbox/clusters.ts';

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function world(files = 180) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'engines-fpsync-'));
  temps.push(root);
  const src = path.join(root, 'src');
  for (let i = 0; i < files; i++) {
    const dir = path.join(src, `k${i % 6}`, `d${i % 4}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}.bin`), crypto.randomBytes(64 + (i % 7) * 100));
  }
  fs.mkdirSync(path.join(src, 'empty', 'dir'), { recursive: true });
  return { root, src, dst: path.join(root, 'dst'), work: path.join(root, 'work') };
}

function config(w: ReturnType<typeof world>, over: { assetsDelete?: boolean; assetsJobs?: number } = {}) {
  return {
    srcAssetsDir: w.src,
    srcAssetsRemote: false,
    dstAssetsDir: w.dst,
    assetsDelete: false,
    assetsJobs: 3,
    assetsWorkers: [],
    rsyncTimeoutS: 60,
    ...over,
  };
}

/** relative path → sha256 (files) or 'dir', for a whole tree. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(root, p);
      if (e.isDirectory()) {
        out[rel] = 'dir';
        walk(p);
      } else out[rel] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(root);
  return out;
}

const quiet = { say: () => {} };

test('a generated tree mirrored by fpsync with 3 jobs arrives byte for byte, empty directories included', async () => {
  const w = world();
  const said: string[] = [];
  const r = await runFpsync(fpsyncPlan(config(w), w.work, { filesPerJob: 70 }), w.dst, { say: (l) => said.push(l) });
  expect(r.code).toBe(0);
  expect(r.progress.partitions).toBeGreaterThanOrEqual(3);
  expect(r.progress.jobsDone).toBe(r.progress.partitions);
  expect(said.at(-1)).toMatch(/^done: jobs \d+\/\d+ done \(0 running\)/);
  expect(snapshot(w.dst)).toEqual(snapshot(w.src));
});

test('a same-size, same-mtime change is copied on a repeat with the content check, and missed without it', async () => {
  const w = world(60);
  await runFpsync(fpsyncPlan(config(w), w.work, { filesPerJob: 40 }), w.dst, quiet);
  const rel = path.join('k1', 'd1', 'f1.bin');
  const file = path.join(w.src, rel);
  const st = fs.statSync(file);
  const changed = Buffer.from(fs.readFileSync(file).map((b) => b ^ 0xff));
  fs.writeFileSync(file, changed);
  fs.utimesSync(file, st.atime, st.mtime);
  await runFpsync(fpsyncPlan(config(w), w.work, { filesPerJob: 40, checksum: false }), w.dst, quiet);
  expect(fs.readFileSync(path.join(w.dst, rel)).equals(changed), 'size+mtime quick check misses it (red)').toBe(false);
  await runFpsync(fpsyncPlan(config(w), w.work, { filesPerJob: 40, checksum: true }), w.dst, quiet);
  expect(fs.readFileSync(path.join(w.dst, rel)).equals(changed), 'the content check copies it (green)').toBe(true);
  expect(snapshot(w.dst)).toEqual(snapshot(w.src));
});

test('files and directories missing from the source are deleted only with ASSETS_DELETE', async () => {
  const w = world(60);
  await runFpsync(fpsyncPlan(config(w), w.work, { filesPerJob: 40 }), w.dst, quiet);
  fs.writeFileSync(path.join(w.dst, 'k0', 'd0', 'stale.bin'), 'old');
  fs.mkdirSync(path.join(w.dst, 'gone', 'deep'), { recursive: true });
  fs.writeFileSync(path.join(w.dst, 'gone', 'deep', 'x'), 'old');
  const kept = fpsyncPlan(config(w), w.work, { filesPerJob: 40 });
  expect(kept.args).not.toContain('-E');
  await runFpsync(kept, w.dst, quiet);
  expect(fs.existsSync(path.join(w.dst, 'k0', 'd0', 'stale.bin'))).toBe(true);
  expect(fs.existsSync(path.join(w.dst, 'gone', 'deep', 'x'))).toBe(true);
  await runFpsync(fpsyncPlan(config(w, { assetsDelete: true }), w.work, { filesPerJob: 40 }), w.dst, quiet);
  expect(fs.existsSync(path.join(w.dst, 'k0', 'd0', 'stale.bin'))).toBe(false);
  expect(fs.existsSync(path.join(w.dst, 'gone'))).toBe(false);
  expect(snapshot(w.dst)).toEqual(snapshot(w.src));
});

test("a target directory in the way of a file fails the mirror with rsync's exit code 23 and its meaning", async () => {
  const w = world(30);
  fs.mkdirSync(path.join(w.dst, 'k2', 'd2', 'f2.bin'), { recursive: true });
  fs.writeFileSync(path.join(w.dst, 'k2', 'd2', 'f2.bin', 'inside'), 'x');
  let err: unknown;
  try {
    await runFpsync(fpsyncPlan(config(w), w.work, { filesPerJob: 40 }), w.dst, quiet);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PhaseError);
  const e = err as PhaseError;
  expect(e.exitCode).toBe(3);
  expect(e.toolExitCode).toBe(23);
  expect(e.message).toMatch(/1 job\(s\) failed, the target assets are incomplete/);
  expect(e.message).toMatch(/rsync 23: PARTIAL transfer due to error/);
  expect(e.message).toMatch(/could not make way for new regular file: k2\/d2\/f2\.bin/);
});

test('an interrupted fpsync mirror leaves no process behind', async () => {
  const w = world(200);
  const plan = fpsyncPlan(config(w, { assetsJobs: 2 }), w.work, { filesPerJob: 5 });
  let started!: () => void;
  const jobRunning = new Promise<void>((r) => (started = r));
  const run = startFpsync(plan, w.dst, {
    onProgress: (p) => {
      if (p.jobsStarted > 0) started();
    },
  });
  await jobRunning;
  expect(sessionMembers(run.pid).length).toBeGreaterThan(0);
  await run.stop();
  const r = await run.result;
  expect(r.stopped).toBe(true);
  expect(r.progress.jobsDone).toBeLessThan(40);
  expect(sessionMembers(run.pid)).toEqual([]);
});

test('a mirror whose caller is killed with SIGKILL leaves no process behind (parent-death signal + watchdog)', async () => {
  const w = world(200);
  const plan = fpsyncPlan(config(w, { assetsJobs: 2 }), w.work, { filesPerJob: 5 });
  const lib = path.resolve('lib/phases/engines/fpsync.ts');
  const child = path.join(w.root, 'caller.mts');
  fs.writeFileSync(
    child,
    `import { startFpsync } from ${JSON.stringify(lib)};
const run = startFpsync(${JSON.stringify(plan)}, ${JSON.stringify(w.dst)}, {
  onProgress: (p) => { if (p.jobsStarted > 0) console.log('RUNNING ' + run.pid); },
});
setInterval(() => {}, 1000);
`,
  );
  const caller = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['ignore', 'pipe', 'inherit'] });
  const sid = await new Promise<number>((resolve, reject) => {
    let out = '';
    caller.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /RUNNING (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    caller.once('exit', () => reject(new Error(`the caller ended early: ${out}`)));
  });
  expect(sessionMembers(sid).length).toBeGreaterThan(0);
  caller.kill('SIGKILL');
  const until = Date.now() + 10_000;
  while (sessionMembers(sid).length && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  expect(sessionMembers(sid)).toEqual([]);
});

/** An sshd on a loopback port with keys made in `dir` (only 127.0.0.1, key login only); returns its ssh_config and stopper. */
async function loopbackSshd(dir: string): Promise<{ sshConfig: string; host: string; stop(): void }> {
  const port = await freePort();
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'ignore' });
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_key')]);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'user_key')]);
  fs.copyFileSync(path.join(dir, 'user_key.pub'), path.join(dir, 'authorized_keys'));
  const user = os.userInfo().username;
  fs.writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      `PidFile ${dir}/sshd.pid`,
      '',
    ].join('\n'),
  );
  const hostKey = fs.readFileSync(path.join(dir, 'host_key.pub'), 'utf8').trim();
  fs.writeFileSync(path.join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
  const sshConfig = path.join(dir, 'ssh_config');
  fs.writeFileSync(
    sshConfig,
    `Host 127.0.0.1\n  Port ${port}\n  IdentityFile ${dir}/user_key\n  IdentitiesOnly yes\n  UserKnownHostsFile ${dir}/known_hosts\n  StrictHostKeyChecking yes\n`,
  );
  fs.mkdirSync('/run/sshd', { recursive: true });
  run('/usr/sbin/sshd', ['-f', path.join(dir, 'sshd_config'), '-E', path.join(dir, 'sshd.log')]);
  const until = Date.now() + 5000;
  while (!fs.existsSync(path.join(dir, 'sshd.pid')) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  const pid = Number(fs.readFileSync(path.join(dir, 'sshd.pid'), 'utf8'));
  return {
    sshConfig,
    host: `${user}@127.0.0.1`,
    stop: () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    },
  };
}

test.skipIf(!fs.existsSync('/usr/sbin/sshd'))(
  'remote workers: the jobs run over ssh on a worker host (an sshd on a loopback port) and the tree arrives byte for byte',
  async () => {
    const w = world(120);
    const keys = fs.mkdtempSync(path.join(os.tmpdir(), 'engines-sshd-'));
    temps.push(keys);
    const sshd = await loopbackSshd(keys);
    try {
      const plan = fpsyncPlan({ ...config(w), assetsWorkers: [sshd.host] }, w.work, {
        filesPerJob: 60,
        sshConfigFile: sshd.sshConfig,
      });
      expect(plan.args.slice(plan.args.indexOf('-w'), plan.args.indexOf('-w') + 2)).toEqual(['-w', sshd.host]);
      const lines: string[] = [];
      const r = await runFpsync(plan, w.dst, { say: () => {}, log: (l) => lines.push(l) });
      expect(r.code).toBe(0);
      expect(
        lines.some((l) => l.includes(`-> ${sshd.host}`)),
        'fpsync dispatched jobs to the worker',
      ).toBe(true);
      expect(snapshot(w.dst)).toEqual(snapshot(w.src));
      const log = fs.readFileSync(path.join(keys, 'sshd.log'), 'utf8');
      expect(log).toMatch(/Accepted publickey/);
    } finally {
      sshd.stop();
    }
  },
);
