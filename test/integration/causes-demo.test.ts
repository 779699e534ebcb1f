/**
 * One cause, one red (issue 27 item 5), end to end: the demo's `--break missing-file` loses one file; the asset
 * check, the census line of its column and the sampled sha256 comparison all fail, but the run reports ONE cause
 * with its consequences listed under it — and the console, summary.md, report.html and checks.json count the same.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import type { ChecksFile } from '../../lib/audit/reporter.ts';
import { failedText } from '../../lib/audit/totals.ts';
import { runCli, tempDir } from '../helpers/scenario.ts';

test('--break missing-file: one cause with its consequences under it; console, summary.md, report.html and checks.json agree', async () => {
  const reports = tempDir('causes-demo-');
  const r = await runCli('demo', ['--break', 'missing-file', '--reports-dir', reports], {}, { timeoutMs: 280_000 });
  expect(r.code, r.output).toBe(1);
  const latest = JSON.parse(fs.readFileSync(path.join(reports, 'latest.json'), 'utf8')) as { dir: string };
  const runDir = path.join(reports, latest.dir);
  const checks = JSON.parse(fs.readFileSync(path.join(runDir, 'checks.json'), 'utf8')) as ChecksFile;

  const failed = checks.checks.filter((c) => c.state === 'failed');
  const causes = failed.filter((c) => c.causedBy === undefined);
  const consequences = failed.filter((c) => c.causedBy !== undefined);
  const asset = causes.find((c) => /^asset ugc_assets\.storage_path \/app\/\.data\/ugc\//.test(c.name));
  expect(asset, `the missing file's asset check is a cause:\n${failed.map((c) => c.name).join('\n')}`).toBeDefined();
  const seen = failed.map((c) => `${c.name} [${c.family}] ${c.errors[0]}`).join('\n');
  expect(
    consequences.map((c) => [c.name, c.causedBy]),
    seen,
  ).toEqual(expect.arrayContaining([['asset census ugc_assets.storage_path', asset!.name]]));
  expect(checks.totals).toMatchObject({ failed: causes.length, consequences: consequences.length });

  // One tally, four places.
  const said = failedText(checks.totals!);
  expect(r.output).toMatch(new RegExp(`checks: +\\d+ passed, ${escape(said)}, `));
  const summary = fs.readFileSync(path.join(runDir, 'summary.md'), 'utf8');
  expect(summary).toContain(`passed, ${said}, `);
  const html = fs.readFileSync(path.join(runDir, 'report.html'), 'utf8');
  expect(html).toContain(`<h2 id="failures">Failures (${causes.length})</h2>`);
  expect(html).toContain(`<span class="fail">${said}</span>`);
  expect(html).toMatch(/consequences? of asset ugc_assets\.storage_path \/app\/\.data\/ugc\//);
  // The consequences are listed under their cause on the console and in summary.md.
  const lines = r.output.split('\n');
  // The closing summary's `failed:` block (the live `✗` lines come earlier, one per failing test as it ends).
  const at = lines.findIndex((l) => l.startsWith(`  ✗ ${asset!.name}  (specs/`));
  expect(at, r.output).toBeGreaterThanOrEqual(0);
  expect(lines[at + 1]).toMatch(/↳ consequence: asset census /);
  // summary.md escapes names for markdown (lib/core/escape.ts): ugc\_assets\.storage\_path renders as the name
  expect(summary).toMatch(/\| ↳ consequence: asset census ugc\\?_assets\\?\.storage\\?_path \|/);
  // JUnit keeps every failing test red (CI must stay red).
  const junit = fs.readFileSync(path.join(runDir, 'junit.xml'), 'utf8');
  expect(junit).toMatch(new RegExp(`<testsuites [^>]*failures="${failed.length}"`));
}, 300_000);

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
