/**
 * report.html, as a person opens it: the report of a red demo run (`npm run demo -- --break orphan`, and
 * `--break missing-file`) rendered by headless Chromium from file:// with the network off. The failing check's whole
 * evidence is on the page (the orphan key, the missing path), failures come first, and nothing needs a horizontal
 * scroll. The pictures are there as inline SVG (phase timeline, tables, asset census, history with the downtime
 * estimate), with no script; source, target and the tool's provenance are named. A screenshot is saved in the run
 * folder (report-screenshot.png) for a person to look at; docs/img/report-missing-file.png is one of these.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { expect, test } from 'vitest';
import { runCli, tempDir } from '../helpers/scenario.ts';

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
    const reports = tempDir('demo-reports-');
    const r = await runCli('demo', ['--break', c.fault, '--reports-dir', reports], {}, { timeoutMs: 280_000 });
    expect(r.code, r.output).toBe(1);
    const latest = JSON.parse(fs.readFileSync(path.join(reports, 'latest.json'), 'utf8')) as { dir: string };
    const runDir = path.join(reports, latest.dir);
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
