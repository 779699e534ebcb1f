/** Issue 26 (item 1): one deadline for the checks phase; a dead side fails every remaining check at once. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { deadSide, markDead, probeSaysDead, sharedDeadline, underDeadline } from '../../../lib/checks/deadline.ts';
import type { Config } from '../../../lib/core/config.ts';
import { parseDsn } from '../../../lib/core/dsn.ts';

const cfg = (s: number) =>
  ({
    checksDeadlineS: s,
    connectTimeoutMs: 1000,
    dst: parseDsn('postgresql://u@127.0.0.1:1/db', 'DST_DATABASE_URL'),
  }) as unknown as Config;

describe('checks deadline', () => {
  test('one deadline per run, shared through WORK_DIR by every worker', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-'));
    const a = sharedDeadline(dir, 'run1', 60, 1_000);
    expect(a).toBe(61_000);
    expect(sharedDeadline(dir, 'run1', 60, 50_000)).toBe(61_000); // a later worker: the same deadline
    expect(sharedDeadline(dir, 'run2', 60, 50_000)).toBe(110_000); // another run: its own
    fs.rmSync(dir, { recursive: true });
  });

  test('a check past the deadline fails naming CHECKS_DEADLINE_S; one started after it fails at once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-'));
    const run = { workDir: dir, runId: 'r' };
    fs.writeFileSync(
      path.join(dir, 'checks-deadline.json'),
      JSON.stringify({ runId: 'r', deadlineAt: Date.now() + 300 }),
    );
    const t0 = Date.now();
    await expect(underDeadline(run, cfg(10), () => new Promise(() => {}))).rejects.toThrow(/CHECKS_DEADLINE_S=10/);
    expect(Date.now() - t0).toBeLessThan(5_000);
    await expect(underDeadline(run, cfg(10), async () => 'ok')).rejects.toThrow(/passed its deadline/);
    fs.rmSync(dir, { recursive: true });
  });

  test('a dead side fails every later check at once, naming it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-'));
    const run = { workDir: dir, runId: 'r' };
    expect(await underDeadline(run, cfg(60), async () => 'ok')).toBe('ok');
    markDead(dir, 'r', 'the target server (postgresql://h:5/db) stopped answering');
    expect(deadSide(dir, 'r')).toMatch(/target server/);
    expect(deadSide(dir, 'other')).toBeUndefined();
    await expect(underDeadline(run, cfg(60), async () => 'ok')).rejects.toThrow(/target server .* stopped answering/);
    fs.rmSync(dir, { recursive: true });
  });

  test('a probe refused for being busy or for a password is no dead server; a timeout or a refusal is', () => {
    expect(probeSaysDead({ code: '53300', message: 'sorry, too many clients already' })).toBe(false);
    expect(probeSaysDead({ code: '28P01', message: 'password authentication failed' })).toBe(false);
    expect(probeSaysDead(new Error('timeout expired'))).toBe(true);
    expect(probeSaysDead(new Error('Connection terminated due to connection timeout'))).toBe(true);
    expect(probeSaysDead(new Error('connect ECONNREFUSED 127.0.0.1:5'))).toBe(true);
  });
});
