/**
 * Whether another local user can swap a directory on the way to a path (issue 26, attack E7). A directory the run owns
 * (WORK_DIR, 0700) protects its files only if nobody else can rename it or one of its parents: whoever owns a parent
 * (or can write it) can move the run's directory away and put another in its place — a planted archive restored,
 * the production dump written into her directory. The rule is OpenSSH's StrictModes (`secure_path`/`safe_path`:
 * every directory from `/` down must be owned by root or the user and not writable by group or others), with the one
 * exception a shared `/tmp` needs: a sticky directory (mode +t) may be world-writable, as there only an entry's owner
 * may rename or remove it, so the entry beneath it must be owned by root or the user. Symbolic links on the way are
 * judged the same (their owner can replace them in a sticky directory) and followed.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Owned by root or by this process's user. */
function trustedOwner(st: fs.Stats, uid: number): boolean {
  return st.uid === 0 || st.uid === uid;
}

/** Why the existing entry `p` (lstat `st`) under a directory judged as `parent` (or `/`) is not to be trusted. */
function entryProblem(p: string, st: fs.Stats, uid: number, parentSticky: boolean): string | undefined {
  if (!trustedOwner(st, uid))
    return `${p} (${st.isSymbolicLink() ? 'a symbolic link' : 'a directory'}) is owned by uid ${st.uid}, another user${parentSticky ? ' (in a sticky shared directory)' : ''}`;
  if (st.isDirectory() && st.mode & 0o022 && !(st.mode & 0o1000))
    return `${p} is writable by ${st.mode & 0o002 ? 'every user' : 'its group'} (mode ${(st.mode & 0o7777).toString(8)}) without the sticky bit`;
  return undefined;
}

/**
 * The first directory or symbolic link on the way to `dir` (absolute; it need not exist: only its existing part is
 * judged) that another user could rename or replace, with why; undefined when every step is owned by root or this
 * user and not writable by others (a sticky directory such as /tmp excepted). Symbolic links are judged, then
 * followed (a link's target is judged from `/` again). `uid`: the user to trust besides root (default: this process's).
 */
export function untrustedStep(dir: string, uid = process.getuid?.() ?? 0, depth = 0): string | undefined {
  const parts = path.resolve(dir).split('/').filter(Boolean);
  let cur = '/';
  let sticky = false;
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(cur, parts[i]);
    const st = fs.lstatSync(next, { throwIfNoEntry: false });
    if (!st) return undefined; // the rest does not exist yet: the run creates it (0700)
    const why = entryProblem(next, st, uid, sticky);
    if (why) return why;
    if (st.isSymbolicLink()) {
      if (depth > 20) return `${next}: too many symbolic links on the way`;
      const target = path.resolve(cur, fs.readlinkSync(next));
      return untrustedStep(path.join(target, ...parts.slice(i + 1)), uid, depth + 1);
    }
    if (!st.isDirectory()) return undefined; // not a directory: the caller's own checks say so
    sticky = (st.mode & 0o1000) !== 0;
    cur = next;
  }
  return undefined;
}
