/**
 * Issue 26 (item 6): three runs taking one stale WORK_DIR lock at the same moment — exactly one holds it (the first
 * pass gave two holders in 3 of 20 trials); and a build a live process runs from is never pruned.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A pid that certainly belongs to no process now (a child that has exited). */
function deadPid(): number {
  return spawnSync(process.execPath, [
    '-e',
    'process.stdout.write(String(process.pid))',
  ]).stdout.toString() as unknown as number;
}

/**
 * The lock module as a run loads it: compiled by the launcher's build step (bin/build.mjs, plain JavaScript; built
 * first when a source changed), so each contender is a bare `node` with no transpiler (with `--import tsx`, the 18
 * contenders spent about 16 CPU-s transpiling run-lock.ts and its imports).
 */
async function compiledRunLock(): Promise<string> {
  const builder = pathToFileURL(path.join(ROOT, 'bin', 'build.mjs')).href;
  const build = await ((await import(builder)) as { ensureBuild(): Promise<string> }).ensureBuild();
  return path.join(build, 'lib', 'core', 'run-lock.js');
}

function contender(module: string, lock: string, startAt: number): Promise<string> {
  const script = `
    import { lockFile } from ${JSON.stringify(pathToFileURL(module).href)};
    // Asleep until just before the moment, then spinning to it: all three call lockFile within a millisecond.
    await new Promise((r) => setTimeout(r, ${startAt} - 30 - Date.now()));
    while (Date.now() < ${startAt}) {}
    const r = lockFile(${JSON.stringify(lock)}, { runId: String(process.pid) }, () => 'refused', 'stale');
    process.stdout.write(r.ok ? 'held' : 'refused');
    setTimeout(() => process.exit(0), 1500);`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', () => resolve(out));
  });
}

describe('WORK_DIR lock', () => {
  test('three runs on one stale lock: exactly one holder, every trial', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockrace-'));
    const lock = path.join(dir, 'rehearsal.lock');
    const module = await compiledRunLock();
    for (let trial = 0; trial < 6; trial++) {
      fs.writeFileSync(lock, JSON.stringify({ pid: Number(deadPid()), runId: 'old' }) + '\n');
      const startAt = Date.now() + 2500;
      const results = await Promise.all([0, 1, 2].map(() => contender(module, lock, startAt)));
      expect(
        results.filter((r) => r === 'held'),
        `trial ${trial}: ${results.join(',')}`,
      ).toHaveLength(1);
      expect(results.filter((r) => r === 'refused')).toHaveLength(2);
      fs.rmSync(lock, { force: true });
    }
    fs.rmSync(dir, { recursive: true });
  }, 120_000);
});

describe('builds', () => {
  test('a build older than an hour is pruned only when no live process runs from it', async () => {
    const { inUse, prune, BUILD_ROOT } = await import(path.join(ROOT, 'bin/build.mjs'));
    const old = path.join(BUILD_ROOT, 'hardening-test-old');
    const live = path.join(BUILD_ROOT, 'hardening-test-live');
    for (const d of [old, live]) {
      fs.mkdirSync(path.join(d, '.users'), { recursive: true });
      const hourAgo = new Date(Date.now() - 2 * 3600_000);
      fs.utimesSync(d, hourAgo, hourAgo);
    }
    fs.writeFileSync(path.join(old, '.users', String(Number(deadPid()))), '');
    fs.writeFileSync(path.join(live, '.users', String(process.pid)), '');
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    for (const d of [old, live]) fs.utimesSync(d, hourAgo, hourAgo);
    expect(inUse(live)).toBe(true);
    prune('none-of-these');
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
    fs.rmSync(live, { recursive: true, force: true });
  });
});
