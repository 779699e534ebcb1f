#!/usr/bin/env node
/**
 * The launcher behind every npm script: `node bin/run.mjs <script> [args…]` runs `scripts/<script>.ts` from the
 * compiled build (bin/build.mjs), building it first when a source changed. One Node process, no transpiler at run
 * time. Exit code and signals are the script's own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBuild } from './build.mjs';

const name = process.argv[2];
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  process.stderr.write('usage: node bin/run.mjs <script> [args…]   (a file of scripts/, e.g. rehearse)\n');
  process.exit(2);
}
if (!fs.existsSync(new URL(`../scripts/${name}.ts`, import.meta.url))) {
  process.stderr.write(`no script scripts/${name}.ts (the npm scripts in package.json name the ones there are)\n`);
  process.exit(2);
}
let dir;
try {
  dir = await ensureBuild();
} catch (e) {
  process.stderr.write(`cannot build the sources: ${e.message}\n(run \`npm run typecheck\` for the full diagnosis)\n`);
  process.exit(3);
}
// The script sees its own arguments where it always did: process.argv.slice(2).
process.argv.splice(2, 1);
process.argv[1] = path.join(dir, 'scripts', `${name}.js`);
await import(pathToFileURL(process.argv[1]).href);
