import fs from 'node:fs';
import path from 'node:path';

/**
 * The project's root folder (where package.json is), whatever the current directory — also when this module runs
 * from the build (`.build/<key>/lib/core/project.js`, see bin/build.mjs): the nearest ancestor holding package.json.
 */
export const PROJECT_ROOT = findRoot(import.meta.dirname);

/** True when this module runs from the compiled build (bin/run.mjs) rather than from the TypeScript sources (tsx). */
export const BUILT = import.meta.url.endsWith('.js');

/** The folder the running code was loaded from: `.build/<key>` when BUILT, else PROJECT_ROOT. */
export const CODE_ROOT = path.resolve(import.meta.dirname, '../..');

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '../..');
  }
}

/**
 * How to start one of the project's CLIs (`scripts/<script>.ts`) as a child process, as `npm run <script>` does:
 * `[node, [bin/run.mjs, script, ...args]]` — the launcher runs it from the compiled build (bin/build.mjs), building
 * first when a source changed. Spawn with cwd = PROJECT_ROOT.
 */
export function cliCommand(script: string, args: string[] = []): [string, string[]] {
  return [process.execPath, [path.join(PROJECT_ROOT, 'bin', 'run.mjs'), script, ...args]];
}
