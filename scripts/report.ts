/**
 * `npm run report [-- --print]`: show the latest rehearsal's reports. Prints where report.html is (the page a person
 * reads; it opens from file://) and serves vitest's developer view (html/, which needs a server) with `vite preview`.
 *
 * Which run: the latest under REPORTS_DIR when it is set; otherwise the newest of `reports/` (your runs) and
 * `reports/demo/` (`npm run demo`). No run anywhere is exit 2 with what to run first — never an empty 404.
 * `--print` prints the paths and exits without serving; other options (`--port N`, `--strictPort`) go to vite preview.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { resolveLatest } from '../lib/audit/history.ts';
import { PROJECT_ROOT } from '../lib/core/project.ts';

function latestRun(): { runId: string; runDir: string } | undefined {
  const dirs = process.env.REPORTS_DIR ? [process.env.REPORTS_DIR] : ['reports', path.join('reports', 'demo')];
  const found = dirs.map((d) => resolveLatest(path.resolve(d))).filter((x) => x !== undefined);
  return found.sort((a, b) => (a.runId < b.runId ? 1 : -1))[0];
}

const run = latestRun();
if (!run) {
  process.stderr.write(
    `report: no rehearsal run found in ${process.env.REPORTS_DIR ?? 'reports/ or reports/demo/'}; run one first (npm test, or npm run demo)\n`,
  );
  process.exit(2);
}
const report = path.join(run.runDir, 'report.html');
const html = path.join(run.runDir, 'html');
process.stdout.write(`run ${run.runId}\n`);
process.stdout.write(
  fs.existsSync(report)
    ? `report:  ${report}  (open it in a browser: file://${report})\n`
    : `report:  (this run has no report.html)\n`,
);
if (process.argv.includes('--print') || !fs.existsSync(path.join(html, 'index.html'))) {
  if (!fs.existsSync(path.join(html, 'index.html'))) process.stdout.write('vitest view: (this run has no html/)\n');
  process.exit(fs.existsSync(report) ? 0 : 2);
}
process.stdout.write(`vitest view (developer): serving ${html}\n`);
// Other options (--port, --strictPort, --host) go to vite preview.
const passOn = process.argv.slice(2).filter((a) => a !== '--print');
const child = spawn(path.join(PROJECT_ROOT, 'node_modules/.bin/vite'), ['preview', '--outDir', html, ...passOn], {
  stdio: 'inherit',
});
child.on('close', (code) => process.exit(code ?? 0));
