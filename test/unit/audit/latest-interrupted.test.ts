/** An interrupted run's empty JUnit report never replaces the last complete one at the CI path. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { FIXED_JUNIT, updateLatest } from '../../../lib/audit/history.ts';

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
