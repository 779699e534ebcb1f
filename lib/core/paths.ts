/**
 * Paths every part of the tool agrees on (the project root is lib/core/project.ts): the container path the application stores asset paths
 * under, the one "is this path inside that root" rule (lexical; callers that must not follow symlinks out of a
 * tree resolve both sides with fs.realpath first), and the one way every path guard resolves a path that may not exist
 * yet to where it really leads (`realPathLoose`), so a symlink cannot carry a configured directory past a guard.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './errors.ts';
import { untrustedStep } from './trusted-path.ts';

/**
 * The container path the application stores asset paths under (`/app/.data/knowledge/7/a.pdf`): the default of
 * ASSETS_DB_PATH_PREFIX, from the product contract (docs/contract.md, "Asset paths").
 */
export const DEFAULT_DB_PATH_PREFIX = '/app/.data';

/**
 * Whether `p` is `root` itself or lies below it, lexically (both resolved against the cwd first). A child whose name
 * merely starts with two dots (`root/..x`) IS inside; `root/../x`, a sibling (`/a/bc` for `/a/b`) and another drive or
 * absolute path are not. `allowSame: false` answers "strictly below" (the root itself is not inside).
 */
export function isInside(root: string, p: string, opts: { allowSame?: boolean } = {}): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(p));
  if (rel === '') return opts.allowSame ?? true;
  return rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel);
}

/** Most symlinks followed while resolving one path (Linux's own limit, MAXSYMLINKS, is 40). */
const MAX_LINKS = 40;

/**
 * Where `p` really leads: `p` resolved against the cwd (`.`/`..` and trailing slashes removed lexically, as
 * path.resolve does and as every tool is then given the path), then every symbolic link in it followed. When `p` does
 * not exist yet, its nearest existing ancestor is resolved (fs.realpathSync) and the rest appended; a dangling link on
 * the way is followed to its target, so a link to a directory that is yet to be created is judged by that target. An
 * ancestor that cannot be searched (EACCES) ends the walk there: the part below it is appended as given. Never throws;
 * a loop of more than 40 links leaves the path as resolved so far.
 */
export function realPathLoose(p: string): string {
  let cur = path.resolve(p);
  for (let links = 0; links <= MAX_LINKS; links++) {
    const rest: string[] = [];
    let stat: fs.Stats | undefined;
    for (;;) {
      try {
        stat = fs.lstatSync(cur);
        break;
      } catch {
        const up = path.dirname(cur);
        if (up === cur) return path.join(cur, ...rest);
        rest.unshift(path.basename(cur));
        cur = up;
      }
    }
    try {
      return path.join(fs.realpathSync(cur), ...rest);
    } catch {
      // `cur` exists but does not resolve: a dangling link (or one inside a loop). Follow it by hand.
      if (!stat.isSymbolicLink()) return path.join(cur, ...rest);
      let target: string;
      try {
        target = fs.readlinkSync(cur);
      } catch {
        return path.join(cur, ...rest);
      }
      cur = path.resolve(realPathLoose(path.dirname(cur)), target, ...rest);
    }
  }
  return cur;
}

/** Virtual file systems of the kernel: no directory of the tool (work, reports, assets) may live there. */
export const VIRTUAL_FS_ROOTS = ['/proc', '/sys', '/dev'];

/** The virtual file system root (`/proc`, `/sys`, `/dev`) `p` (absolute) is or lies in, or undefined. */
export function virtualFsRoot(p: string): string | undefined {
  return VIRTUAL_FS_ROOTS.find((r) => isInside(r, p));
}

/** `given`, followed by where it leads when a symlink takes it elsewhere: `/tmp/l/ssl (which leads to /etc/ssl)`. */
export function showResolved(given: string, real: string): string {
  return real === path.resolve(given) ? given : `${given} (which leads to ${real})`;
}

/** What an fs error code means for a directory the run must write, in words. */
const DIR_FAILURES: Record<string, string> = {
  EROFS: 'it is on a read-only file system',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted there',
  EEXIST: 'it exists and is not a directory',
  ENOTDIR: 'a part of the path is a file, not a directory',
  ENOENT: 'a parent directory is missing and cannot be created',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  ENAMETOOLONG: 'the path is too long',
  ELOOP: 'too many symbolic links',
};

/**
 * Create `dir` (and its parents; `mode` for the ones created) if needed and prove the run can write there, before the
 * run writes anything: it must be a directory, writable and searchable (access(2) also reports a read-only file system
 * as EROFS). `name` is the variable (WORK_DIR, REPORTS_DIR) the refusal names.
 * @throws ConfigError (exit 2) "`name` `dir` is not usable: <reason> (<code>); choose a writable directory".
 */
export function ensureUsableDir(name: string, dir: string, mode?: number): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode });
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'EEXIST' });
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const why = DIR_FAILURES[code] ? `${DIR_FAILURES[code]} (${code})` : (e as Error).message;
    throw new ConfigError(`${name} ${dir} is not usable: ${why}; choose a writable directory`);
  }
}

/** Most entries the planted-symlink scan of WORK_DIR visits (a directory-format dump holds one file per table). */
const WORK_SCAN_LIMIT = 100_000;

/** The symbolic links inside `dir` (relative paths, depth first, at most WORK_SCAN_LIMIT entries visited). */
function symlinksInside(dir: string): string[] {
  const found: string[] = [];
  const stack = [''];
  let seen = 0;
  while (stack.length && seen < WORK_SCAN_LIMIT) {
    const rel = stack.pop()!;
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      seen++;
      const r = path.join(rel, e.name);
      if (e.isSymbolicLink()) found.push(r);
      else if (e.isDirectory()) stack.push(r);
    }
  }
  return found;
}

/**
 * Why an existing WORK_DIR is not private to this user, or undefined (issue 26, the WORK_DIR hijack: another local
 * user who can write WORK_DIR can swap the dump between dump and restore, or plant `logs -> elsewhere`). WORK_DIR
 * holds the dump (production data) and the files the restore reads, so it must be a real directory (not a symlink)
 * owned by the running user, writable by nobody else (no group/world write bit: an existing shared directory such as
 * /tmp is refused, never chmod-ed), with no symbolic link inside. `dir` must exist.
 */
export function workDirProblem(dir: string): string | undefined {
  const st = fs.lstatSync(dir);
  const fix = 'point WORK_DIR at a new path (the run creates it, 0700) or at a directory of yours with mode 0700';
  if (st.isSymbolicLink())
    return `WORK_DIR ${dir} is a symbolic link (to ${realPathLoose(dir)}); ${fix}, named by its real path`;
  if (!st.isDirectory()) return undefined; // ensureUsableDir says it: "exists and is not a directory (EEXIST)"
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    return `WORK_DIR ${dir} is owned by uid ${st.uid}, not by the user running the rehearsal (uid ${uid}): whoever owns it could swap the dump before the restore reads it; ${fix}`;
  if (st.mode & 0o022)
    return `WORK_DIR ${dir} is writable by ${st.mode & 0o002 ? 'every user' : 'its group'} (mode ${(st.mode & 0o7777).toString(8)}): another user could swap the dump before the restore reads it; ${fix}`;
  const links = symlinksInside(dir);
  if (links.length)
    return `WORK_DIR ${dir} holds symbolic links the run would follow (${links.slice(0, 5).join(', ')}${links.length > 5 ? ', …' : ''}); remove them, or ${fix}`;
  return undefined;
}

/**
 * Create WORK_DIR (0700, parents too) when it does not exist, else prove it private (workDirProblem); then the run
 * may use it. `ensureUsableDir`'s checks follow.
 * @throws ConfigError (exit 2) with what is wrong and how to fix it.
 */
export function ensurePrivateWorkDir(dir: string): void {
  // Its parents too (issue 26 E7, lib/core/trusted-path.ts): their owner could rename the run's directory away.
  const step = untrustedStep(dir);
  if (step)
    throw new ConfigError(
      `WORK_DIR ${dir} is not private: ${step}, who could rename the run's directory away and put another in its place (a planted archive restored, the dump written where they read it); point WORK_DIR at a path whose every directory is owned by you or root and writable by nobody else (a sticky one such as /tmp excepted)`,
    );
  let exists = true;
  try {
    fs.lstatSync(dir);
  } catch {
    exists = false;
  }
  if (exists) {
    const why = workDirProblem(dir);
    if (why) throw new ConfigError(why);
  }
  ensureUsableDir('WORK_DIR', dir, 0o700);
}

/** REPORTS_DIR and its `runs` folder, each with its lstat, for those that exist. */
function reportsDirEntries(dir: string): Array<[string, fs.Stats]> {
  const out: Array<[string, fs.Stats]> = [];
  for (const p of [dir, path.join(dir, 'runs')]) {
    try {
      out.push([p, fs.lstatSync(p)]);
    } catch {
      // missing: the run creates it
    }
  }
  return out;
}

/**
 * REPORTS_DIR and its `runs` folder must be the directories they name, not symbolic links (a link planted there
 * would send every report elsewhere).
 * @throws ConfigError (exit 2) naming the link and where it leads.
 */
export function refuseSymlinkedReportsDir(dir: string): void {
  for (const [p, st] of reportsDirEntries(dir)) {
    if (st.isSymbolicLink())
      throw new ConfigError(
        `REPORTS_DIR: ${p} is a symbolic link (to ${realPathLoose(p)}), which the run does not follow; set REPORTS_DIR to the real directory (${realPathLoose(dir)}) or remove the link`,
      );
  }
}

/**
 * Why an existing REPORTS_DIR (or its `runs` folder) is not safe to write the audit trail into, or undefined
 * (issue 26: one owned by another user, or writable by others, was accepted). The same rules as WORK_DIR
 * (workDirProblem) except the sticky bit: it must be owned by the running user, and writable by its group or by every
 * user only with the sticky bit set (as /tmp: others may add entries but never rename or remove this user's reports).
 * A missing directory is fine (the run creates it). Symbolic links: refuseSymlinkedReportsDir.
 */
export function reportsDirProblem(dir: string): string | undefined {
  const fix = `use a directory of yours that only you can write (chmod 0755 / chown to uid ${process.getuid?.() ?? '?'}), or a new path: the run creates it`;
  for (const [p, st] of reportsDirEntries(dir)) {
    if (!st.isDirectory()) continue; // ensureUsableDir / refuseSymlinkedReportsDir say it
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid)
      return `REPORTS_DIR: ${p} is owned by uid ${st.uid}, not by the user running the rehearsal (uid ${uid}): its owner could rewrite or remove the audit trail (reports, junit.xml, the latest pointer); ${fix}`;
    if (st.mode & 0o022 && !(st.mode & 0o1000))
      return `REPORTS_DIR: ${p} is writable by ${st.mode & 0o002 ? 'every user' : 'its group'} without the sticky bit (mode ${(st.mode & 0o7777).toString(8)}): another user could replace or remove the reports; ${fix} (or set the sticky bit: chmod +t)`;
  }
  return undefined;
}

/**
 * REPORTS_DIR safe to write: not a symbolic link (refuseSymlinkedReportsDir), owned by the running user and not
 * writable by others without the sticky bit (reportsDirProblem).
 * @throws ConfigError (exit 2) with what is wrong and how to fix it.
 */
export function refuseUnsafeReportsDir(dir: string): void {
  refuseSymlinkedReportsDir(dir);
  const why = reportsDirProblem(dir);
  if (why) throw new ConfigError(why);
}
