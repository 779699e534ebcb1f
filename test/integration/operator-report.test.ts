/**
 * report.html, as a person opens it: the report of a red demo run (`npm run demo -- --break orphan`, and
 * `--break missing-file`) rendered by headless Chromium from file:// with the network off. The failing check's whole
 * evidence is on the page (the orphan key, the missing path), failures come first, and nothing needs a horizontal
 * scroll. The pictures are there as inline SVG (phase timeline, tables, asset census, history with the downtime
 * estimate), with no script; source, target and the tool's provenance are named. A screenshot is saved in the run
 * folder (report-screenshot.png) for a person to look at; docs/img/report-missing-file.png is one of these.
 *
 * One cause, one red (issue 27 item 5), on the same `--break missing-file` demo run (once for the file: the tests only
 * read it): the asset check, the census line of its column and the sampled sha256 comparison all fail, but the run
 * reports ONE cause with its consequences listed under it — and the console, summary.md, report.html and checks.json
 * count the same.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import os from 'node:os';
import { chromium } from 'playwright-core';
import { afterAll, expect, test } from 'vitest';
import type { ChecksFile } from '../../lib/audit/reporter.ts';
import { failedText } from '../../lib/audit/totals.ts';
import { runCli, tempDir, type CliResult } from '../helpers/scenario.ts';

/** The folders of this file's demo runs, removed when the file is done. */
const demoDirs: string[] = [];
afterAll(() => {
  for (const d of demoDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** One red demo run per fault for the whole file (`npm run demo -- --break <fault>`): its output and run folder. */
const demos = new Map<string, Promise<{ r: CliResult; runDir: string }>>();
function redDemo(fault: string): Promise<{ r: CliResult; runDir: string }> {
  let run = demos.get(fault);
  if (!run) {
    const reports = fs.mkdtempSync(path.join(os.tmpdir(), `demo-reports-${fault}-`));
    demoDirs.push(reports);
    run = runCli('demo', ['--break', fault, '--reports-dir', reports], {}, { timeoutMs: 280_000 }).then((r) => {
      const latest = fs.existsSync(path.join(reports, 'latest.json'))
        ? (JSON.parse(fs.readFileSync(path.join(reports, 'latest.json'), 'utf8')) as { dir: string })
        : { dir: 'no-latest.json' };
      return { r, runDir: path.join(reports, latest.dir) };
    });
    demos.set(fault, run);
  }
  return run;
}

/** Debian's chromium (scripts/bootstrap.sh installs it); flags as in the ecosystem notes. */
export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Open `file` from file:// with every non-file request refused; returns what the page shows. */
export async function renderOffline(file: string, screenshot: string) {
  const userDataDir = tempDir('chromium-profile-');
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
    offline: true,
  });
  const external: string[] = [];
  try {
    await ctx.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      external.push(url);
      return route.abort();
    });
    const page = await ctx.newPage();
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const facts = await page.evaluate(() => {
      const doc = document.documentElement;
      const first = document.querySelector('.card.failure');
      const r = first?.getBoundingClientRect();
      const h2 = [...document.querySelectorAll('h2')].map((h) => h.textContent ?? '');
      return {
        title: document.title,
        text: document.body.innerText,
        scrollWidth: doc.scrollWidth,
        clientWidth: doc.clientWidth,
        failureText: (first as HTMLElement | null)?.innerText ?? '',
        failureRight: r ? r.right : 0,
        failureTop: r ? r.top : 0,
        headings: h2,
        // The pictures: inline SVG per chart, with the marks each should have (bars are <rect>, labels <text>).
        charts: Object.fromEntries(
          [...document.querySelectorAll('figure.chart')].map((f) => [
            f.getAttribute('data-chart') ?? '',
            {
              svgs: f.querySelectorAll('svg').length,
              rects: f.querySelectorAll('svg rect').length,
              texts: [...f.querySelectorAll('svg text')].map((t) => t.textContent ?? ''),
              redBars: [...f.querySelectorAll('svg rect')].filter((r) => r.getAttribute('fill') === '#c62828').length,
              right: f.getBoundingClientRect().right,
            },
          ]),
        ),
        scripts: document.querySelectorAll('script').length,
        evidenceDetails: document.querySelectorAll('details.evidence').length,
        facts: Object.fromEntries(
          [...document.querySelectorAll('table.facts tr')].map((tr) => [
            tr.children[0]?.textContent ?? '',
            tr.children[1]?.textContent ?? '',
          ]),
        ),
        widest: Math.max(
          ...[...document.querySelectorAll('.card.failure *')].map((e) => e.getBoundingClientRect().right),
        ),
      };
    });
    // The first failure, in view: that is what the screenshot shows.
    await page.locator('.card.failure').first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshot, fullPage: false });
    return { ...facts, external };
  } finally {
    await ctx.close();
  }
}

const CASES: Array<{ fault: string; check: RegExp; evidence: RegExp; list: RegExp }> = [
  {
    fault: 'orphan',
    check: /orphans ugc_assets\(user_id\) -> users\(id\)/,
    evidence: /\(1050\)/,
    list: /failures\/orphans-ugc_assets\(user_id\)---users\(id\)\.txt/,
  },
  {
    fault: 'missing-file',
    check: /asset/,
    evidence: /\/app\/\.data\/ugc\/\S+/,
    list: /missing-on-target \/app\/\.data\/ugc\//,
  },
];

for (const c of CASES) {
  test(`report.html of a red demo (--break ${c.fault}) shows the failing check's full evidence, from file:// offline`, async () => {
    expect(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run npm run bootstrap (installs Debian's chromium)`).toBe(
      true,
    );
    const { r, runDir } = await redDemo(c.fault);
    expect(r.code, r.output).toBe(1);
    const report = path.join(runDir, 'report.html');
    expect(fs.existsSync(path.join(runDir, 'summary.md'))).toBe(true);
    // Kept in the run folder (and copied to reports/self for the self-test artifacts) to be looked at.
    const shot = path.join(runDir, 'report-screenshot.png');
    const seen = await renderOffline(report, shot);
    expect(seen.external, 'requests leaving file://').toEqual([]);
    expect(seen.title).toMatch(/^Rehearsal \S+: FAILED/);
    expect(seen.headings[0]).toMatch(/^Failures \(\d+\)/);
    expect(seen.failureText).toMatch(c.check);
    expect(seen.failureText).toMatch(c.evidence);
    expect(seen.text).toMatch(c.list);
    expect(seen.scrollWidth, 'horizontal scrolling').toBeLessThanOrEqual(seen.clientWidth);
    expect(seen.widest, 'evidence cut off on the right').toBeLessThanOrEqual(seen.clientWidth);
    expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
    // No script; source and target named (redacted); the tool that made the report; passing checks' evidence on expand.
    expect(seen.scripts).toBe(0);
    expect(seen.facts.source).toMatch(/^postgresql:\/\/\S+:\*\*\*@/);
    expect(seen.facts.target).toMatch(/^postgresql:\/\/\S+:\*\*\*@/);
    expect(seen.facts['produced by']).toMatch(
      /^migration-rehearsal \S+, commit ([0-9a-f]{40}(\+dirty)?|not a git checkout)$/,
    );
    expect(seen.facts['host / operator']).toMatch(/\S+ \/ \S+/);
    expect(seen.evidenceDetails).toBeGreaterThan(10);
    // The charts, drawn as inline SVG: phase timeline (a bar per phase + checks, the checks bar red: a check failed),
    // the tables (one bar per table, labelled with rows), the census bar and the history with the downtime estimate.
    expect(Object.keys(seen.charts).sort()).toEqual(['census', 'history', 'tables', 'timeline']);
    for (const [id, ch] of Object.entries(seen.charts)) {
      expect(ch.svgs, id).toBeGreaterThan(0);
      expect(ch.right, `${id} chart cut off on the right`).toBeLessThanOrEqual(seen.clientWidth);
    }
    expect(seen.charts.timeline.rects).toBeGreaterThanOrEqual(4);
    expect(seen.charts.timeline.redBars).toBe(1);
    expect(seen.charts.tables.rects).toBe(7);
    expect(seen.charts.tables.texts.some((t) => / rows · /.test(t))).toBe(true);
    expect(seen.charts.census.rects).toBeGreaterThanOrEqual(1);
    expect(seen.charts.history.texts.some((t) => /^estimate /.test(t))).toBe(true);
    const keep = path.resolve(process.env.SELF_REPORTS_DIR ?? 'reports/self', `report-${c.fault}.png`);
    fs.mkdirSync(path.dirname(keep), { recursive: true });
    fs.copyFileSync(shot, keep);
    fs.copyFileSync(report, keep.replace(/\.png$/, '.html'));
  }, 300_000); // a whole demo run plus Chromium, on a shared 2-core machine
}

// Moved here from causes-demo.test.ts (same test, same assertions) to share the --break missing-file demo run.
test('--break missing-file: one cause with its consequences under it; console, summary.md, report.html and checks.json agree', async () => {
  // The same demo run as the report.html test of --break missing-file above (one run for both: neither changes it).
  const { r, runDir } = await redDemo('missing-file');
  expect(r.code, r.output).toBe(1);
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
