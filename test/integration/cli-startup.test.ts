/**
 * What a CLI run loads, and when (issue 23: the fixed cost of a whole rehearsal). report.html's renderer and its charts
 * (Observable Plot on linkedom, about 310 modules) are loaded when a run's reports are written, never at start-up; the
 * build serves those two packages from one bundled module (bin/build.mjs, `vendor/charts.js`) that draws the same
 * pictures. Which modules load is asserted here; how long they take is measured, not tested.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../lib/core/project.ts';
import { phaseTimelineSvg } from '../../lib/audit/charts.ts';

const node = (args: string[]) =>
  spawnSync(process.execPath, args, { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 120_000 });

function buildDir(): string {
  const r = node(['bin/build.mjs']);
  expect(r.status, r.stderr).toBe(0);
  return path.join(PROJECT_ROOT, r.stdout.trim().split(' ')[0]);
}

/** The module URLs a `node bin/run.mjs <args>` process loads, recorded by a module hook (node:module register). */
function modulesLoaded(args: string[]): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-startup-'));
  try {
    const log = path.join(dir, 'loaded.txt');
    fs.writeFileSync(
      path.join(dir, 'hooks.mjs'),
      `import fs from 'node:fs';\nexport async function load(url, ctx, next) {\n` +
        `  fs.appendFileSync(${JSON.stringify(log)}, url + '\\n');\n  return next(url, ctx);\n}\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'register.mjs'),
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)});\n`,
    );
    const r = node(['--import', pathToFileURL(path.join(dir, 'register.mjs')).href, 'bin/run.mjs', ...args]);
    expect(r.status, r.stderr).toBe(0);
    return fs.readFileSync(log, 'utf8').trim().split('\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the rehearse CLI starts without report.html, its charts, Observable Plot or linkedom', () => {
  buildDir();
  const loaded = modulesLoaded(['rehearse', '--help']);
  expect(loaded.some((u) => u.endsWith('/scripts/rehearse.js'))).toBe(true);
  expect(loaded.some((u) => u.endsWith('/lib/audit/run-record.js'))).toBe(true);
  const heavy = loaded.filter((u) => /report-html\.js$|charts\.js$|@observablehq|linkedom|\/d3-/.test(u));
  expect(heavy).toEqual([]);
});

test('the build serves Plot and linkedom from one bundled module that draws the same chart as the packages', async () => {
  const dir = buildDir();
  const charts = fs.readFileSync(path.join(dir, 'lib', 'audit', 'charts.js'), 'utf8');
  expect(charts).toMatch(/from\s+["']\.\.\/\.\.\/vendor\/charts\.js["']/);
  expect(charts).not.toMatch(/from\s+["'](@observablehq\/plot|linkedom)["']/);
  const vendor = fs.readFileSync(path.join(dir, 'vendor', 'charts.js'), 'utf8');
  expect(vendor).not.toMatch(/^import\s/m); // self-contained: no module tree behind it
  const built = (await import(pathToFileURL(path.join(dir, 'lib', 'audit', 'charts.js')).href)) as {
    phaseTimelineSvg: typeof phaseTimelineSvg;
  };
  const spans = [
    { name: 'preflight', start: 0, end: 1.2, status: 'ok' },
    { name: 'checks', start: 1.2, end: 4, status: 'failed' },
  ];
  const svg = built.phaseTimelineSvg(spans);
  expect(svg).toMatch(/^<svg/);
  expect(svg).toBe(phaseTimelineSvg(spans));
});
