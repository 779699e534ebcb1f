/**
 * "Readable" for the staging application, not for us: the rehearsal usually runs as root, for whom permission bits
 * stop nothing (access(2) says yes to everything), so readability is computed from mode bits, owner and group the way
 * the kernel decides it for another user (POSIX: the owner class if the uid matches, else the group class if one of
 * the user's groups matches, else "others"; ACLs and capabilities are not considered).
 *
 * Checked from DST_ASSETS_DIR down: every directory from the root of the tree to the file needs search (x) permission
 * and the file needs read (r). What lies above DST_ASSETS_DIR is the deployment's business (in a container the tree
 * is mounted at /app/.data and the host's parent directories do not matter).
 */
import fs from 'node:fs';
import path from 'node:path';

/** The application's identity: uid, primary gid and supplementary groups (when known). */
export interface AppUser {
  /** As configured (ASSETS_APP_USER). */
  spec: string;
  uid: number;
  gids: number[];
  name?: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

/** /etc/passwd entries (name, uid, gid) of this machine (the staging host, where DST_ASSETS_DIR is). */
export function passwdEntries(file = '/etc/passwd'): PasswdEntry[] {
  return readLines(file)
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2]) && /^\d+$/.test(f[3]))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]) }));
}

/** /etc/group entries: name, gid, member names. */
export function groupEntries(file = '/etc/group'): Array<{ name: string; gid: number; members: string[] }> {
  return readLines(file)
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[2]))
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

/**
 * Resolve ASSETS_APP_USER (`name`, `uid` or `uid:gid`) against this machine's /etc/passwd and /etc/group. A name that
 * is not there is an error (the message says to use uid:gid); a bare uid not there gets gid = uid's own number
 * unknown, so only the owner and "others" classes apply.
 */
export function resolveAppUser(
  spec: string,
  files: { passwd?: string; group?: string } = {},
): AppUser | { error: string } {
  const users = passwdEntries(files.passwd);
  const groups = groupEntries(files.group);
  const m = /^(\d+)(?::(\d+))?$/.exec(spec);
  let entry: PasswdEntry | undefined;
  let uid: number;
  let gid: number | undefined;
  if (m) {
    uid = Number(m[1]);
    entry = users.find((u) => u.uid === uid);
    gid = m[2] !== undefined ? Number(m[2]) : entry?.gid;
  } else {
    entry = users.find((u) => u.name === spec);
    if (!entry)
      return {
        error: `ASSETS_APP_USER=${spec}: no such user in /etc/passwd on this machine; give the numeric uid:gid the application runs as (e.g. 1000:1000)`,
      };
    uid = entry.uid;
    gid = entry.gid;
  }
  const gids = new Set<number>();
  if (gid !== undefined) gids.add(gid);
  if (entry) for (const g of groups) if (g.members.includes(entry.name)) gids.add(g.gid);
  return { spec, uid, gids: [...gids], name: entry?.name };
}

/** Whether `who` has `bit` (4 read, 2 write, 1 search/execute) on an inode with this mode, owner and group. */
export function allows(
  st: Pick<fs.Stats, 'mode' | 'uid' | 'gid'>,
  who: Pick<AppUser, 'uid' | 'gids'>,
  bit: 4 | 1,
): boolean {
  if (who.uid === 0) return true;
  if (st.uid === who.uid) return ((st.mode >> 6) & bit) !== 0;
  if (who.gids.includes(st.gid)) return ((st.mode >> 3) & bit) !== 0;
  return (st.mode & bit) !== 0;
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/** `mode 0600, owner 4242:4242` */
export function describeMode(st: Pick<fs.Stats, 'mode' | 'uid' | 'gid'>): string {
  return `mode ${octal(st.mode)}, owner ${st.uid}:${st.gid}`;
}

export interface PermissionFindings {
  /** With ASSETS_APP_USER: what stops that user (fails the check). */
  problems: string[];
  /** Without it: files not readable by others, directories not searchable by others, owners unknown here. */
  warnings: string[];
  facts: string[];
}

/**
 * The permission verdict for one resolved asset `real` (a file or a directory) inside `realRoot`. With `who`, every
 * directory from `realRoot` to the asset must be searchable and the asset readable (a directory: readable and
 * searchable) by that user; without it, the same questions are asked for "others" and answered with warnings, plus a
 * warning for owners (uid/gid) this machine does not know (a copy made with --numeric-ids keeps the source's ids).
 */
export async function permissionFindings(
  real: string,
  realRoot: string,
  who: AppUser | undefined,
  known: { uids: Set<number>; gids: Set<number> } = knownIds(),
): Promise<PermissionFindings> {
  const out: PermissionFindings = { problems: [], warnings: [], facts: [] };
  const chain: string[] = [];
  const rel = path.relative(realRoot, path.dirname(real));
  let cur = realRoot;
  chain.push(cur);
  if (rel && !rel.startsWith('..'))
    for (const part of rel.split(path.sep)) {
      cur = path.join(cur, part);
      chain.push(cur);
    }
  const others = { uid: -1, gids: [] as number[] };
  const subject = who ?? others;
  const label = who
    ? `the application's user ${who.spec}${who.name && who.name !== who.spec ? ` (${who.name})` : ''} (uid ${who.uid}, groups ${who.gids.join(',') || 'unknown'})`
    : 'others (ASSETS_APP_USER is not set)';
  for (const dir of chain) {
    const st = await fs.promises.stat(dir);
    if (!allows(st, subject, 1)) {
      const msg = `directory ${dir} is not searchable by ${label} (${describeMode(st)}): nothing below it can be opened`;
      (who ? out.problems : out.warnings).push(msg);
      break;
    }
  }
  const st = await fs.promises.stat(real);
  const bitsOk = allows(st, subject, 4) && (!st.isDirectory() || allows(st, subject, 1));
  if (!bitsOk)
    (who ? out.problems : out.warnings).push(
      `${st.isDirectory() ? 'directory' : 'file'} ${real} is not readable by ${label} (${describeMode(st)})`,
    );
  out.facts.push(`${describeMode(st)}; ${bitsOk ? 'readable' : 'NOT readable'} by ${label}`);
  if (!who) {
    const unknown = [
      !known.uids.has(st.uid) ? `uid ${st.uid}` : '',
      !known.gids.has(st.gid) ? `gid ${st.gid}` : '',
    ].filter(Boolean);
    if (unknown.length)
      out.warnings.push(
        `${real} is owned by ${unknown.join(' and ')}, unknown on this machine (/etc/passwd, /etc/group): the application's user may not be able to read it; set ASSETS_APP_USER to check`,
      );
  }
  return out;
}

let cachedIds: { uids: Set<number>; gids: Set<number> } | undefined;

/** The uids and gids this machine knows (/etc/passwd, /etc/group), read once. */
export function knownIds(): { uids: Set<number>; gids: Set<number> } {
  if (!cachedIds) {
    const users = passwdEntries();
    cachedIds = {
      uids: new Set(users.map((u) => u.uid)),
      gids: new Set([...groupEntries().map((g) => g.gid), ...users.map((u) => u.gid)]),
    };
  }
  return cachedIds;
}
