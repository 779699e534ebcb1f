/**
 * Issue 26 (attack 31): a build a live process still runs from is never pruned — the launcher (its pid file in
 * `<build>/.users/`) or any process it started (vitest, its workers, the copy tools: `BUILD_ENV` in their
 * environment), also after the launcher itself was killed. Real processes on a copy of the project: a launcher builds
 * and runs from build A, a source changes, `node bin/build.mjs` makes build B and prunes what no live process uses.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../lib/core/project.ts';

const COPY = fs.mkdtempSync(path.join(os.tmpdir(), 'build-prune-'));
const started: ChildProcess[] = [];
const orphans: number[] = [];

afterAll(() => {
  for (const c of started) c.kill('SIGKILL');
  for (const pid of orphans) alive(pid) && process.kill(pid, 'SIGKILL');
  fs.rmSync(COPY, { recursive: true, force: true });
});

/** The project as a fresh clone has it (the sources, bin/, the configuration), node_modules linked. */
function copyProject(): void {
  for (const name of ['bin', 'lib', 'scripts', 'setup', 'specs', 'package.json', 'tsconfig.json'])
    fs.cpSync(path.join(PROJECT_ROOT, name), path.join(COPY, name), { recursive: true });
  fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(COPY, 'node_modules'));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A launcher as bin/run.mjs is one (ensureBuild, then runs from the build) that starts one long-lived child, as a
 * rehearsal starts vitest. Resolves with the build folder and the child's pid once both run.
 */
async function startLauncher(): Promise<{ launcher: ChildProcess; dir: string; child: number }> {
  const script = `
    import { spawn } from 'node:child_process';
    import { ensureBuild } from ${JSON.stringify(path.join(COPY, 'bin', 'build.mjs'))};
    const dir = await ensureBuild();
    const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
    c.unref();
    process.stdout.write(JSON.stringify({ dir, child: c.pid }) + '\\n');
    setInterval(() => {}, 1000);`;
  const launcher = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: COPY,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  started.push(launcher);
  const [line] = await readline
    .createInterface({ input: launcher.stdout! })
    [Symbol.asyncIterator]()
    .next()
    .then((r) => [r.value as string]);
  const { dir, child } = JSON.parse(line) as { dir: string; child: number };
  orphans.push(child);
  return { launcher, dir, child };
}

let edits = 0;
/** A source edited (a new build key), build A aged past the prune age, then `node bin/build.mjs`: a new build, a prune. */
function newBuildAfterAging(old: string): void {
  fs.appendFileSync(path.join(COPY, 'lib', 'core', 'escape.ts'), `// edit ${++edits}\n`);
  const threeHoursAgo = new Date(Date.now() - 3 * 3600_000);
  fs.utimesSync(old, threeHoursAgo, threeHoursAgo);
  const r = spawnSync(process.execPath, ['bin/build.mjs'], { cwd: COPY, encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
}

async function ended(c: ChildProcess | number): Promise<void> {
  if (typeof c !== 'number') {
    if (c.exitCode === null && c.signalCode === null) await new Promise((r) => c.once('exit', r));
    return;
  }
  for (let i = 0; i < 100 && alive(c); i++) await new Promise((r) => setTimeout(r, 50));
}

test('a build is kept while its launcher or a child of it lives, and pruned once none does', async () => {
  copyProject();
  const { launcher, dir, child } = await startLauncher();
  expect(fs.existsSync(path.join(dir, '.users', String(launcher.pid)))).toBe(true);

  // The launcher lives: its build stays, however old.
  newBuildAfterAging(dir);
  expect(fs.existsSync(dir), 'build pruned while its launcher runs').toBe(true);

  // The launcher is killed (no exit handler runs), its child — vitest, in a rehearsal — still runs from the build.
  launcher.kill('SIGKILL');
  await ended(launcher);
  expect(alive(child)).toBe(true);
  newBuildAfterAging(dir);
  expect(fs.existsSync(dir), "build pruned while a launcher's child still runs from it").toBe(true);

  // Nothing of the run lives any more: the next build prunes it.
  process.kill(child, 'SIGKILL');
  await ended(child);
  newBuildAfterAging(dir);
  expect(fs.existsSync(dir), 'an old build nobody uses is pruned').toBe(false);
}, 300_000);
