/**
 * The build step (bin/build.mjs) and the launcher (bin/run.mjs): every source compiled once, imports re-pointed at the
 * compiled files, a build key that follows the sources' content, and the CLIs run from the build.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../lib/core/project.ts';

const node = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, args, { cwd: PROJECT_ROOT, encoding: 'utf8', env, timeout: 120_000 });

function sources(): string[] {
  const out: string[] = [];
  for (const dir of ['lib', 'scripts', 'setup', 'specs'])
    for (const rel of fs.readdirSync(path.join(PROJECT_ROOT, dir), { recursive: true }))
      if (String(rel).endsWith('.ts')) out.push(path.join(dir, String(rel)));
  return out;
}

test('node bin/build.mjs compiles every source to .build/<key>, with no import left pointing at a .ts file', () => {
  const r = node(['bin/build.mjs']);
  expect(r.status, r.stderr).toBe(0);
  const dir = path.join(PROJECT_ROOT, r.stdout.trim().split(' ')[0]);
  expect(fs.existsSync(path.join(dir, '.complete'))).toBe(true);
  for (const src of sources()) {
    const js = path.join(dir, src.replace(/\.ts$/, '.js'));
    expect(fs.existsSync(js), js).toBe(true);
    const text = fs.readFileSync(js, 'utf8');
    expect(text, js).not.toMatch(/\bfrom\s+["'][^"']+\.ts["']/);
    expect(text, js).not.toMatch(/\bimport\(\s*["'][^"']+\.ts["']\s*\)/);
  }
  // The same sources give the same key (a second run builds nothing).
  const again = node(['bin/build.mjs']);
  expect(again.stdout.split(' ')[0]).toBe(r.stdout.split(' ')[0]);
});

test('the launcher runs a CLI from the build (--version, exit 0) and refuses an unknown script with exit 2', () => {
  const v = node(['bin/run.mjs', 'rehearse', '--version']);
  expect(v.status, v.stderr).toBe(0);
  expect(v.stdout).toMatch(/^migration-rehearsal \d+\.\d+\.\d+/);
  const bad = node(['bin/run.mjs', '../etc/passwd']);
  expect(bad.status).toBe(2);
  expect(bad.stderr).toMatch(/usage: node bin\/run\.mjs <script>/);
  const missing = node(['bin/run.mjs', 'no-such-script']);
  expect(missing.status).toBe(2);
  expect(missing.stderr).toMatch(/no script scripts\/no-such-script\.ts/);
});
