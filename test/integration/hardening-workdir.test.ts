/**
 * Issue 26, WORK_DIR and REPORTS_DIR hijacks through the real CLI: an existing shared directory (mode 1777, like
 * /tmp) is refused and left as it was (not chmod-ed); a planted `logs -> elsewhere` link is refused and nothing is
 * written through it; a REPORTS_DIR that is a symlink is refused; a WORK_DIR created by the run holds only 0700 directories
 * and 0600 files; a REPORTS_DIR owned by another user, or writable by others without the sticky bit, is refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { reportsDirProblem } from '../../lib/core/paths.ts';
import { startRefusal } from '../helpers/operator.ts';
import { rehearse, scenario, tempDir } from '../helpers/scenario.ts';

test('an existing shared WORK_DIR (mode 1777, like /tmp) is refused (exit 2) and not chmod-ed', async () => {
  const s = await scenario({ fixture: false, assets: false });
  const shared = path.join(tempDir(), 'shared');
  fs.mkdirSync(shared);
  fs.chmodSync(shared, 0o1777);
  const r = await rehearse(['--verify-only'], { ...s.env, WORK_DIR: shared });
  expect(r.code, r.output).toBe(2);
  expect(r.output).toMatch(/WORK_DIR .*shared is writable by every user \(mode 1777\).*point WORK_DIR at a new path/);
  expect(fs.statSync(shared).mode & 0o7777).toBe(0o1777);
  expect(fs.readdirSync(shared)).toEqual([]);
});

test('a WORK_DIR with a planted `logs -> elsewhere` link is refused (exit 2); nothing is written through it', async () => {
  const s = await scenario({ fixture: false, assets: false });
  fs.mkdirSync(s.workDir, { mode: 0o700 });
  const elsewhere = tempDir('rehearsal-elsewhere-');
  fs.symlinkSync(elsewhere, path.join(s.workDir, 'logs'));
  // The start of a full run (lib/cli/rehearse.ts), in-process: a WORK_DIR refusal through the whole CLI is the test above.
  const r = await startRefusal(s.env, 'full');
  expect(r.code, r.output).toBe(2);
  expect(r.output).toMatch(/holds symbolic links the run would follow \(logs\)/);
  expect(fs.readdirSync(elsewhere)).toEqual([]);
});

test('a WORK_DIR owned by us but group-writable, and a REPORTS_DIR that is a symlink, are refused (exit 2)', async () => {
  const s = await scenario({ fixture: false, assets: false });
  fs.mkdirSync(s.workDir);
  fs.chmodSync(s.workDir, 0o770);
  // The same WORK_DIR gate as the shared directory above (through the CLI there), in-process; REPORTS_DIR via the CLI.
  const g = await startRefusal(s.env);
  expect(g.code, g.output).toBe(2);
  expect(g.output).toMatch(/is writable by its group \(mode 770\)/);
  fs.chmodSync(s.workDir, 0o700);
  const real = tempDir('rehearsal-real-reports-');
  const link = path.join(s.tmp, 'reports-link');
  fs.symlinkSync(real, link);
  const r = await rehearse(['--verify-only'], { ...s.env, REPORTS_DIR: link });
  expect(r.code, r.output).toBe(2);
  expect(r.output).toMatch(/REPORTS_DIR: .*reports-link is a symbolic link .* which the run does not follow/);
  expect(fs.readdirSync(real)).toEqual([]);
});

test('a WORK_DIR the run creates is 0700, every directory in it 0700 (scans/ included) and every file 0600 after a full run', async () => {
  const s = await scenario();
  // The caller's umask is the usual 022: a directory made without an explicit mode would be 0755.
  const r = await rehearse([], { ...s.env, HEALTH_CHECK: '0' });
  expect(r.code, r.output.slice(-3000)).toBe(0);
  expect(fs.statSync(s.workDir).mode & 0o777).toBe(0o700);
  const loose: string[] = [];
  const dirs: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const mode = fs.statSync(p).mode & 0o777;
      if (e.isDirectory()) dirs.push(path.relative(s.workDir, p));
      if (e.isDirectory() ? mode !== 0o700 : mode & 0o077)
        loose.push(`${path.relative(s.workDir, p)}${e.isDirectory() ? '/' : ''} ${mode.toString(8)}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(s.workDir);
  // The shared-scan folders of the checks (WORK_DIR/scans/<run id>) and the phase logs are among them.
  expect(dirs).toEqual(expect.arrayContaining(['scans', 'logs']));
  expect(dirs.filter((d) => d.startsWith('scans/')).length).toBeGreaterThan(0);
  expect(loose).toEqual([]);
});

test('a REPORTS_DIR owned by another user, or writable by others without the sticky bit, is refused (exit 2), untouched', async () => {
  const s = await scenario({ fixture: false, assets: false });
  const nobody = 65534; // the `nobody` user; the tests run as root, which may chown
  const theirs = path.join(tempDir('rehearsal-reports-'), 'theirs');
  fs.mkdirSync(theirs, { mode: 0o755 });
  fs.chownSync(theirs, nobody, nobody);
  const r = await rehearse(['--verify-only'], { ...s.env, REPORTS_DIR: theirs });
  expect(r.code, r.output).toBe(2);
  expect(r.output).toMatch(
    new RegExp(`REPORTS_DIR: .*theirs is owned by uid ${nobody}, not by the user running the rehearsal .*chown`),
  );
  expect(fs.readdirSync(theirs)).toEqual([]);

  // World-writable without the sticky bit (a shared drop folder): refused through the run's start, in-process.
  const open = path.join(tempDir('rehearsal-reports-'), 'open');
  fs.mkdirSync(open);
  fs.chmodSync(open, 0o777);
  const o = await startRefusal({ ...s.env, REPORTS_DIR: open });
  expect(o.code, o.output).toBe(2);
  expect(o.output).toMatch(/REPORTS_DIR: .*open is writable by every user without the sticky bit \(mode 777\)/);
  expect(fs.readdirSync(open)).toEqual([]);
  // Its `runs` folder is judged too: ours at the top, another user's `runs` inside.
  fs.chmodSync(open, 0o755);
  fs.mkdirSync(path.join(open, 'runs'));
  fs.chownSync(path.join(open, 'runs'), nobody, nobody);
  expect(reportsDirProblem(open)).toMatch(/runs is owned by uid 65534/);
  // Accepted: ours and 0755, ours and group-writable with the sticky bit (others cannot remove our reports), missing.
  fs.chownSync(path.join(open, 'runs'), process.getuid!(), process.getgid!());
  expect(reportsDirProblem(open)).toBeUndefined();
  fs.chmodSync(open, 0o1777);
  expect(reportsDirProblem(open)).toBeUndefined();
  expect(reportsDirProblem(path.join(open, 'not-yet'))).toBeUndefined();
});
