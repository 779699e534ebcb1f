/** A full REPORTS_DIR: a clear error naming it, the manifest still written (to WORK_DIR), no crash. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { migrateByHand, rehearse, scenario, tempDir } from '../helpers/scenario.ts';

test('REPORTS_DIR on a full disk: the run says so clearly and still writes its manifest to WORK_DIR', async () => {
  const s = await scenario();
  await migrateByHand(s);
  const mnt = tempDir('rehearsal-reports-tmpfs-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
  try {
    const r = await rehearse(['--verify-only'], { ...s.env, REPORTS_DIR: path.join(mnt, 'reports') });
    expect(r.output).not.toMatch(/unexpected error/);
    expect(r.output).toMatch(
      /REPORTS_DIR \S+ (could not be written \(.*ENOSPC|is full \([^)]* free\): [^\n]*ENOSPC)|no space left/i,
    );
    expect(fs.existsSync(path.join(s.workDir, 'manifest.json')), r.output).toBe(true);
    expect([1, 3]).toContain(r.code);
  } finally {
    execFileSync('umount', ['-l', mnt]);
  }
});
