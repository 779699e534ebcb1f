import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, onTestFinished, test } from 'vitest';
import { resolveLatest, updateLatest } from '../../../lib/audit/history.ts';
import {
  buildManifest,
  hashReports,
  listFiles,
  redactReportFiles,
  totalsOf,
  versionNumber,
} from '../../../lib/audit/manifest.ts';
import { Redactor } from '../../../lib/core/redact.ts';
import type { ChecksFile, CheckRecord } from '../../../lib/audit/reporter.ts';
import { closingLine, firstReasonLine, formatSummary, htmlViewCommand } from '../../../lib/audit/summary.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-unit-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const SECRET = `p'a"s@s:w/o%rd 20\\x#y?z&k=v;`;

function check(name: string, state: CheckRecord['state'], extra: Partial<CheckRecord> = {}): CheckRecord {
  return {
    file: 'specs/x.spec.ts',
    name,
    fullName: name,
    namePath: [name],
    state,
    errors: [],
    annotations: [],
    ...extra,
  };
}

describe('redactReportFiles', () => {
  test('masks a known secret in text files and inside gzip files, leaves binary files and clean files alone', () => {
    const dir = tmp();
    const xmlSecret = SECRET.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
    fs.writeFileSync(path.join(dir, 'junit.xml'), `<testcase name="health GET /health?k=${xmlSecret}"/>`);
    fs.mkdirSync(path.join(dir, 'html'));
    fs.writeFileSync(
      path.join(dir, 'html/html.meta.json.gz'),
      gzipSync(JSON.stringify({ message: `failed for ${SECRET}` })),
    );
    fs.writeFileSync(path.join(dir, 'html/index.html'), '<html>nothing to hide</html>');
    const binary = Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(SECRET)]);
    fs.writeFileSync(path.join(dir, 'html/bg.png'), binary);
    const before = fs.statSync(path.join(dir, 'html/index.html')).mtimeMs;

    const r = new Redactor([SECRET]);
    const changed = redactReportFiles(dir, (s) => r.redact(s));

    expect(changed.sort()).toEqual(['html/html.meta.json.gz', 'junit.xml']);
    expect(fs.readFileSync(path.join(dir, 'junit.xml'), 'utf8')).toBe('<testcase name="health GET /health?k=***"/>');
    const meta = gunzipSync(fs.readFileSync(path.join(dir, 'html/html.meta.json.gz'))).toString();
    expect(JSON.parse(meta)).toEqual({ message: 'failed for ***' });
    expect(fs.readFileSync(path.join(dir, 'html/bg.png')).equals(binary)).toBe(true);
    expect(fs.statSync(path.join(dir, 'html/index.html')).mtimeMs).toBe(before);
  });
});

describe('hashReports', () => {
  test('hashes every file of the run folder but the manifest, by relative path', () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, 'html/assets'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'junit.xml'), '<x/>');
    fs.writeFileSync(path.join(dir, 'html/assets/a.js'), 'js');
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{}');
    const h = hashReports(dir);
    expect(Object.keys(h)).toEqual(['html/assets/a.js', 'junit.xml']);
    expect(h['junit.xml']).toEqual({ sha256: createHash('sha256').update('<x/>').digest('hex'), bytes: 4 });
    expect(listFiles(dir)).toContain('manifest.json');
  });
});

describe('totalsOf', () => {
  test('counts passed/failed/skipped, and checks left out by a rerun filter apart', () => {
    const file: ChecksFile = {
      finishedAt: '',
      reason: 'failed',
      unhandledErrors: [],
      checks: [
        check('a', 'passed'),
        check('b', 'failed'),
        check('c', 'skipped'),
        check('d', 'pending'),
        check('e', 'skipped', { selected: false }),
      ],
    };
    expect(totalsOf(file)).toEqual({ passed: 1, failed: 1, consequences: 0, skipped: 2, notSelected: 1, warnings: 0 });
    expect(totalsOf(undefined)).toEqual({
      passed: 0,
      failed: 0,
      consequences: 0,
      skipped: 0,
      notSelected: 0,
      warnings: 0,
    });
  });
});

test('versionNumber keeps only the version, so manifests from different hosts compare equal', () => {
  expect(versionNumber('pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)')).toBe('15.20');
  expect(versionNumber('15.20 (Debian 15.20-0+deb12u1)')).toBe('15.20');
  expect(versionNumber('nothing here')).toBeUndefined();
  // node's banner starts with "v": the whole number, not from its second component
  expect(versionNumber('v20.20.2')).toBe('20.20.2');
  expect(versionNumber('rsync  version 3.2.7  protocol version 31')).toBe('3.2.7');
});

describe('manifest and summary', () => {
  const manifest = () =>
    buildManifest({
      runId: 'r2',
      mode: 'rerun',
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:02.500Z',
      exitCode: 1,
      rerunOf: 'r1',
      tools: { node: 'v20.20.0' },
      config: { DST_DATABASE_URL: 'postgresql://u:***@h:5432/db' },
      state: {
        runId: 'r2',
        mode: 'rerun',
        startedAt: '',
        workDir: '/w',
        tools: {},
        phases: [{ name: 'dump', status: 'ok', durationMs: 1200, reason: '3.0 MiB custom archive' }],
        dump: {
          path: '/w/dump.pgdump',
          format: 'custom',
          provided: false,
          sha256: 'ab'.repeat(32),
          bytes: 3 * 1024 * 1024,
          toc: { TABLE: 7 },
        },
        plan: {
          tablesFrom: 'source',
          tables: [],
          relations: [],
          assetColumns: [],
          assetSample: { seed: 's33d', perColumn: 5, items: [] },
        },
      },
      totals: { passed: 1, failed: 1, skipped: 0, notSelected: 3 },
      failures: [
        { file: 'specs/row-counts.spec.ts', name: 'row count public.users', error: 'expected 30 rows, got 29\nmore' },
      ],
      rerun: { of: 'r1', previouslyFailed: ['a', 'b'], nowPassing: ['a'], stillFailing: ['b'], notRun: [] },
      auditProblems: [],
      reports: {},
    });

  test('carries timings, dump, seed, totals and the rerun link', () => {
    const m = manifest();
    expect(m.durationMs).toBe(2500);
    expect(m.rerunOf).toBe('r1');
    expect(m.assetSampleSeed).toBe('s33d');
    expect(m.phases).toEqual([{ name: 'dump', status: 'ok', durationMs: 1200, reason: '3.0 MiB custom archive' }]);
    expect(m.dump).toMatchObject({ sha256: 'ab'.repeat(32), toc: { TABLE: 7 } });
  });

  test('the summary names the failures, the rerun outcome, the reports and how to view them, and ends with the count line', () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'summary-'));
    onTestFinished(() => fs.rmSync(runDir, { recursive: true, force: true }));
    const where = { runDir, reportsDir: '/r', workDir: '/w', isLatest: true };
    // Nothing written yet: no report or view line offers a file that is not there.
    const bare = formatSummary(manifest(), where).join('\n');
    expect(bare).toContain(`report:   not written (report.html is missing from ${runDir}: see the notes above)`);
    expect(bare).not.toContain('view:');
    fs.writeFileSync(path.join(runDir, 'report.html'), '<html></html>');
    fs.mkdirSync(path.join(runDir, 'html'));
    const lines = formatSummary(manifest(), where);
    const text = lines.join('\n');
    expect(text).toContain(`report:   ${path.join(runDir, 'report.html')}  (open it in a browser`);
    expect(text).toMatch(/✗ row count public\.users {2}\(specs\/row-counts\.spec\.ts\) — expected 30 rows, got 29\n/);
    expect(text).toContain('rerun:    1 of 2 previously failed check(s) now pass (run r1)');
    expect(text).toContain('still failing: b');
    expect(text).toContain('(3 not selected by the rerun filter)');
    expect(text).toContain(`reports:  ${runDir}`);
    expect(text).toContain(htmlViewCommand(runDir));
    expect(text).toMatch(/dump: +custom, 3\.0 MiB, sha256 abababababababab…; TOC: 7 TABLE/);
    expect(lines[lines.length - 1]).toBe('1 passed, 1 failed, 0 skipped');
    expect(closingLine(manifest())).toBe('1 passed, 1 failed, 0 skipped');
  });

  test('a failed phase in the failed: list says why, like a check (its first reason line)', () => {
    const m = manifest();
    m.failures = [
      {
        file: 'specs/phases.spec.ts',
        name: 'phase preflight',
        error:
          'refused before any write (the target is untouched):\n  - DST_DROP_SCHEMA=1 refused: the target has data\n  - other',
      },
    ];
    const text = formatSummary(m, { runDir: '/r/runs/r2', reportsDir: '/r', workDir: '/w', isLatest: true }).join('\n');
    expect(text).toContain(
      '✗ phase preflight  (specs/phases.spec.ts) — refused before any write (the target is untouched): DST_DROP_SCHEMA=1 refused: the target has data\n',
    );
    expect(firstReasonLine('expected 30 rows, got 29\nmore')).toBe('expected 30 rows, got 29');
  });

  test('the summary: no matcher tail and no repeated check name in a failure line, "1 warning", only existing report files', () => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'summary-'));
    try {
      fs.writeFileSync(path.join(runDir, 'manifest.json'), '{}');
      const m = manifest();
      m.failures = [
        {
          file: 'specs/orphans.spec.ts',
          name: 'orphans a(x) -> b(y)',
          error: 'orphans a(x) -> b(y): expected 0 rows, found 2: expected false to be true // Object.is equality',
        },
      ];
      m.totals = { ...m.totals, warnings: 1 };
      m.warnings = [
        {
          file: 'specs/orphans.spec.ts',
          name: 'orphans c(x) -> d(y)',
          message: 'orphans c(x) -> d(y): already in the source',
        },
      ];
      const lines = formatSummary(m, { runDir, reportsDir: '/r', workDir: '/w', isLatest: false });
      const text = lines.join('\n');
      expect(text).toMatch(/✗ orphans a\(x\) -> b\(y\) {2}\(specs\/orphans\.spec\.ts\) — expected 0 rows, found 2\n/);
      expect(text).toContain('⚠ orphans c(x) -> d(y): already in the source');
      expect(text).toMatch(/checks: +1 passed, 1 failed, 0 skipped, 1 warning\b(?!s)/);
      expect(text).toContain(`reports:  ${runDir}  (manifest.json)`);
      expect(lines[lines.length - 1]).toBe('1 passed, 1 failed, 0 skipped, 1 warning');
    } finally {
      fs.rmSync(runDir, { recursive: true, force: true });
    }
  });
});

describe('history', () => {
  function run(reports: string, id: string) {
    const d = path.join(reports, 'runs', id);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'junit.xml'), `<testsuites name="${id}"/>`);
    return d;
  }

  test('latest is a relative symlink plus latest.json, and junit.xml is copied to the fixed path', () => {
    const reports = tmp();
    run(reports, '20260101T000000Z-aaaa');
    expect(resolveLatest(reports)).toBeUndefined();
    expect(
      updateLatest(reports, {
        runId: '20260101T000000Z-aaaa',
        dir: 'runs/20260101T000000Z-aaaa',
        finishedAt: 'x',
        exitCode: 0,
      }),
    ).toEqual([]);
    expect(fs.readlinkSync(path.join(reports, 'latest'))).toBe('runs/20260101T000000Z-aaaa');
    expect(JSON.parse(fs.readFileSync(path.join(reports, 'latest.json'), 'utf8')).runId).toBe('20260101T000000Z-aaaa');
    expect(fs.readFileSync(path.join(reports, 'junit.xml'), 'utf8')).toContain('20260101T000000Z-aaaa');

    run(reports, '20260101T000100Z-bbbb');
    updateLatest(reports, {
      runId: '20260101T000100Z-bbbb',
      dir: 'runs/20260101T000100Z-bbbb',
      finishedAt: 'y',
      exitCode: 1,
    });
    expect(resolveLatest(reports)).toEqual({
      runId: '20260101T000100Z-bbbb',
      runDir: path.join(reports, 'runs/20260101T000100Z-bbbb'),
    });
    expect(fs.readFileSync(path.join(reports, 'latest/junit.xml'), 'utf8')).toContain('bbbb');
  });

  test('an older run that finishes last does not take latest from a newer one', () => {
    const reports = tmp();
    run(reports, '20260101T000100Z-bbbb');
    run(reports, '20260101T000000Z-aaaa');
    updateLatest(reports, {
      runId: '20260101T000100Z-bbbb',
      dir: 'runs/20260101T000100Z-bbbb',
      finishedAt: 'x',
      exitCode: 0,
    });
    const problems = updateLatest(reports, {
      runId: '20260101T000000Z-aaaa',
      dir: 'runs/20260101T000000Z-aaaa',
      finishedAt: 'y',
      exitCode: 0,
    });
    expect(problems).toEqual(['latest stays at the newer run 20260101T000100Z-bbbb']);
    expect(resolveLatest(reports)?.runId).toBe('20260101T000100Z-bbbb');
  });

  test('without the symlink, latest.json alone is enough; a real "latest" directory is left alone', () => {
    const reports = tmp();
    run(reports, 'r1');
    fs.mkdirSync(path.join(reports, 'latest'));
    const problems = updateLatest(reports, { runId: 'r1', dir: 'runs/r1', finishedAt: 'x', exitCode: 0 });
    expect(problems.join()).toMatch(/exists and is not a symlink; left alone/);
    expect(fs.statSync(path.join(reports, 'latest')).isDirectory()).toBe(true);
    expect(resolveLatest(reports)?.runId).toBe('r1');
  });
});
