/**
 * Issue 26, a full REPORTS_DIR (a 64 KiB tmpfs mounted by the test: this machine runs the tests as root). The run's
 * checks run, but their reports cannot all be written: no temporary file and no zero-byte file is left claiming to be
 * a report, one plain line names REPORTS_DIR, the bytes free there and the fix, no stack trace or vitest "Serialized
 * Error" reaches the console, and the closing line never reads as a clean "0 failed": it carries the checks' real
 * totals (kept in WORK_DIR) or says they could not be recorded, with a non-zero exit.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { rehearse, scenario, tempDir } from '../helpers/scenario.ts';

/** Every regular file under `dir` (recursive), as absolute paths. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** A stack trace (a frame of the project's code or of node) or vitest's crash block printed instead of a finding. */
const STACK = /\n\s+at .+(\.ts|\.js|\.mjs):\d+:\d+|node:internal|Serialized Error|Unhandled Error/;

test('REPORTS_DIR on a full 64 KiB disk: no *.tmp or zero-byte report left, one line naming REPORTS_DIR with the bytes free and the fix, no stack trace, no clean "0 failed" closing line, non-zero exit', async () => {
  const s = await scenario();
  const dir = tempDir('rehearsal-reports-tmpfs-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', dir]);
  try {
    const r = await rehearse([], { ...s.env, REPORTS_DIR: dir });
    const out = r.output;
    expect(r.code, out.slice(-4000)).not.toBe(0);
    expect(out).not.toMatch(STACK);
    const files = filesUnder(dir);
    expect(
      files.filter((f) => f.endsWith('.tmp')),
      'temporary files left behind',
    ).toEqual([]);
    expect(
      files.filter((f) => fs.statSync(f).size === 0),
      'zero-byte files claiming to be reports',
    ).toEqual([]);
    // One plain line: REPORTS_DIR, the bytes free there, and what to do.
    expect(out).toMatch(
      /REPORTS_DIR [^\n]*\bfull\b[^\n]*\d+(\.\d+)? ?(B|KiB|MiB)\b free[^\n]*(free space|point REPORTS_DIR)/i,
    );
    // The closing line: the checks' real totals (more than zero ran), or a line saying they could not be recorded.
    const closing = out.trimEnd().split('\n').pop()!;
    expect(closing).not.toMatch(/^0 passed, 0 failed/);
    expect(closing).toMatch(/^[1-9]\d* passed, \d+ failed|could not be recorded/);
  } finally {
    execFileSync('umount', ['-l', dir]);
  }
}, 500_000);
