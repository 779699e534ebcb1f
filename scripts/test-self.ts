/**
 * `npm run test:self`: typecheck, formatting (prettier --check), then every test in test/ (the `unit` and `integration`
 * projects), then one closing line `N passed, N failed, N skipped`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/core/project.ts';

const root = PROJECT_ROOT;
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

console.log('test:self: typecheck (tsc --noEmit)');
const tsc = spawnSync(bin('tsc'), ['--noEmit', '-p', root], { stdio: 'inherit', cwd: root });
const typecheckOk = tsc.status === 0;

console.log('test:self: formatting (prettier --check)');
const fmt = spawnSync(bin('prettier'), ['--check', '--log-level=warn', '.'], { stdio: 'inherit', cwd: root });
const formatOk = fmt.status === 0;

const jsonOut = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'test-self-')), 'results.json');
const args = [
  'run',
  '--project',
  'unit',
  '--project',
  'integration',
  '--reporter=default',
  `--reporter=json`,
  `--outputFile.json=${jsonOut}`,
  '--reporter=junit',
  `--outputFile.junit=${path.join(root, 'reports/self/junit.xml')}`,
  ...process.argv.slice(2),
];
console.log(`test:self: vitest ${args.join(' ')}`);
const vt = spawnSync(bin('vitest'), args, { stdio: 'inherit', cwd: root, env: { ...process.env, SELF_REPORTS: '0' } });

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const r = JSON.parse(fs.readFileSync(jsonOut, 'utf8'));
  passed = r.numPassedTests ?? 0;
  failed = r.numFailedTests ?? 0;
  // A file that failed without a failed test (it did not load, or an afterAll hook failed) counts once.
  for (const file of r.testResults ?? []) {
    const anyFailed = (file.assertionResults ?? []).some((a: { status: string }) => a.status === 'failed');
    if (file.status === 'failed' && !anyFailed) failed += 1;
  }
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
} catch {
  failed += 1; // no results at all is a failure, never a silent green
}
if (!formatOk) {
  console.log('test:self: formatting differs from prettier (counted as one failure; `npm run fmt` fixes it)');
  failed += 1;
}
if (!typecheckOk) {
  console.log('test:self: the typecheck failed (counted as one failure)');
  failed += 1;
}
if (vt.status !== 0 && failed === 0) failed = 1;
if (passed + failed === 0) {
  console.log('test:self: no test ran');
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
