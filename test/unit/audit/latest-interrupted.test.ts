/**
 * An interrupted run's empty JUnit report never replaces the last complete one at the CI path; a run interrupted
 * before its checks reported writes one that says so, and that one does.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { FIXED_JUNIT, resolveLatest, updateLatest } from '../../../lib/audit/history.ts';
import { validateJunit } from '../../../lib/audit/junit.ts';
import { finalizeRun } from '../../../lib/audit/run-record.ts';
import { parseConfig } from '../../../lib/core/config.ts';

test('an empty junit.xml is not copied to the fixed path', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latest-'));
  try {
    for (const [id, body] of [
      ['20261130T000001Z-aaaa', '<testsuites/>'],
      ['20261130T000002Z-bbbb', ''],
    ]) {
      fs.mkdirSync(path.join(dir, 'runs', id), { recursive: true });
      fs.writeFileSync(path.join(dir, 'runs', id, 'junit.xml'), body);
      updateLatest(dir, { runId: id, dir: `runs/${id}`, finishedAt: new Date().toISOString(), exitCode: 0 });
    }
    expect(fs.readFileSync(path.join(dir, FIXED_JUNIT), 'utf8')).toBe('<testsuites/>');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a run interrupted before its checks reported replaces the CI junit.xml with one that says so; latest stays', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'interrupted-'));
  const reports = path.join(root, 'reports');
  const write = process.stdout.write;
  try {
    const previous = '20261130T000001Z-aaaa';
    fs.mkdirSync(path.join(reports, 'runs', previous), { recursive: true });
    fs.writeFileSync(path.join(reports, 'runs', previous, 'junit.xml'), '<testsuites name="previous"/>');
    updateLatest(reports, {
      runId: previous,
      dir: `runs/${previous}`,
      finishedAt: new Date().toISOString(),
      exitCode: 0,
    });
    const config = parseConfig(
      {
        DST_DATABASE_URL: `postgresql://u:${'pw-secret'}@127.0.0.1:1/staging`,
        DST_ASSETS_DIR: path.join(root, 'dst'),
        REPORTS_DIR: reports,
        CONNECT_TIMEOUT_MS: '500',
      },
      { mode: 'verify-only' },
    );
    const runId = '20261130T000002Z-bbbb';
    const out: string[] = [];
    process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
    const code = await finalizeRun(
      {
        runId,
        runDir: path.join(reports, 'runs', runId),
        workDir: path.join(root, 'work'),
        mode: 'verify-only',
        startedAt: new Date().toISOString(),
        config,
      },
      130,
    );
    process.stdout.write = write;
    expect(code).toBe(130);
    const ci = fs.readFileSync(path.join(reports, FIXED_JUNIT), 'utf8');
    const r = validateJunit(ci);
    expect(r.problems).toEqual([]);
    expect(r.cases.map((c) => [c.name, c.status])).toEqual([['run interrupted', 'failed']]);
    expect(ci).toContain('stopped by SIGINT before its checks reported');
    expect(ci).not.toContain('pw-secret');
    expect(resolveLatest(reports)?.runId).toBe(previous);
    expect(out.join('')).toMatch(
      /latest stays at the previous run: this run was interrupted .* now says it was interrupted/,
    );
  } finally {
    process.stdout.write = write;
    fs.rmSync(root, { recursive: true, force: true });
  }
});
