/**
 * The one way a path stored in the database becomes a path under an assets root, used alike by the sampled asset
 * check, the asset census and the sampled size/sha256 comparison, so that they can never disagree about whether a
 * stored path names a file.
 *
 * - `resolveStoredPath` (pure): `/app/.data//ugc/5/./x.jpg` → `ugc/5/x.jpg`. It strips ASSETS_DB_PATH_PREFIX + '/',
 *   drops empty and `.` segments (repeated, leading and trailing slashes), and refuses a path outside the prefix, a
 *   `..` segment, a NUL byte, or one that names the root itself. The census's SQL normalisation
 *   (lib/checks/families/asset-census/census.ts) implements the same rule; test/unit/checks/shared/asset-paths.test.ts keeps them in step.
 * - `locateAsset` (file system): the resolved path under a root, through symlinks only while they stay inside the
 *   root (`realpath` resolves names, it never opens or reads the file), with what is there.
 * - `findNearTwin`: for a missing path, an existing file whose name differs only in Unicode normalization (NFC/NFD)
 *   or percent-encoding: the usual reason a file uploaded from one platform is "missing" on another.
 * - `walkTree`: every entry under a root with `fs.opendir` recursion: names with newlines or bytes that are not UTF-8
 *   are seen (fast-glob's `**` does not return names with a newline), no symlink is followed, a directory that
 *   cannot be opened (EACCES, ENAMETOOLONG) is reported rather than thrown, and memory is bounded by the depth of the
 *   tree (one open directory handle per level), never its size.
 */
import fs from 'node:fs';
import path from 'node:path';

/** `prefix` + '/', the form every stored path must start with ('/' stays '/'). */
export function prefixWithSlash(prefix: string): string {
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

export type StoredPath =
  | {
      ok: true;
      /** Normalised, relative to the prefix / the root, POSIX separators, no leading or trailing '/'. */ rel: string;
    }
  | { ok: false; reason: string };

/**
 * Map a stored path to a path relative to the assets root (pure). Rules: must start with `prefix/`; no NUL byte;
 * no `..` segment (never normalised away: it is refused); empty and `.` segments are dropped (`//`, `/./`, a
 * trailing `/`); what remains must not be empty.
 */
export function resolveStoredPath(value: string, prefix: string): StoredPath {
  const head = prefixWithSlash(prefix);
  if (value.includes('\0')) return { ok: false, reason: 'path contains a NUL byte' };
  if (!value.startsWith(head))
    return { ok: false, reason: `path is outside ASSETS_DB_PATH_PREFIX (expected it to start with "${head}")` };
  const segments = value.slice(head.length).split('/');
  if (segments.includes('..')) return { ok: false, reason: 'path contains a ".." segment' };
  const rel = segments.filter((s) => s !== '' && s !== '.').join('/');
  if (rel === '') return { ok: false, reason: 'path names the assets root itself, not a file or directory in it' };
  return { ok: true, rel };
}

/** `p` is `root` or below it (both absolute and normalized). */
export function isWithin(root: string, p: string): boolean {
  const r = path.relative(root, p);
  return r === '' || (r !== '..' && !r.startsWith('../') && !path.isAbsolute(r));
}

export type EntryType = 'file' | 'directory' | 'symlink' | 'fifo' | 'socket' | 'char-device' | 'block-device' | 'other';

export function entryType(st: fs.Stats | fs.Dirent): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'char-device';
  if (st.isBlockDevice()) return 'block-device';
  return 'other';
}

const TYPE_TEXT: Record<EntryType, string> = {
  file: 'a regular file',
  directory: 'a directory',
  symlink: 'a symlink',
  fifo: 'a FIFO',
  socket: 'a socket',
  'char-device': 'a character device',
  'block-device': 'a block device',
  other: 'an unknown file type',
};

export function describeEntryType(t: EntryType): string {
  return TYPE_TEXT[t];
}

/**
 * What a stored path names under a root:
 * - `found`: `real` is inside the root, `stat` is what is there (the caller judges the kind);
 * - `refused`: the stored path itself is refused (outside the prefix, `..`, NUL) — nothing was looked up;
 * - `escapes`: a symlink (the entry or a directory on the way) leads outside the root — not followed further;
 * - `missing`: nothing there (`code`: ENOENT, ENOTDIR, ELOOP, a dangling symlink …), never read.
 */
export type Location =
  | { status: 'found'; rel: string; diskPath: string; real: string; stat: fs.Stats }
  | { status: 'refused'; reason: string }
  | { status: 'escapes'; rel: string; diskPath: string; problem: string }
  | { status: 'missing'; rel: string; diskPath: string; problem: string; code: string };

const code = (e: unknown) => (e as NodeJS.ErrnoException)?.code ?? 'error';

/** The deepest existing ancestor of `p`, resolved; tells "missing" from "escapes through a symlinked directory". */
async function realAncestor(p: string): Promise<string | undefined> {
  for (let dir = path.dirname(p); ; dir = path.dirname(dir)) {
    try {
      return await fs.promises.realpath(dir);
    } catch {
      if (dir === path.dirname(dir)) return undefined;
    }
  }
}

/** The real path of `root` (cached per root for the life of the process: roots do not move during a run). */
const realRoots = new Map<string, Promise<string>>();
export function realRootOf(root: string): Promise<string> {
  let p = realRoots.get(root);
  if (!p) {
    p = fs.promises.realpath(root);
    realRoots.set(root, p);
    p.catch(() => realRoots.delete(root));
  }
  return p;
}

/**
 * Locate the stored path `value` of an asset column of `kind` under `root` (see `Location`); `label` names the root in
 * messages (`DST_ASSETS_DIR`). Throws only when `root` itself is not accessible (the message names it); every other
 * file-system problem is the result. A `file` path stored with a trailing '/' is refused (opening `x.jpg/` fails).
 */
export async function locateAsset(
  value: string,
  kind: 'file' | 'dir',
  prefix: string,
  root: string,
  label = 'the assets root',
): Promise<Location> {
  const stored = resolveStoredPath(value, prefix);
  if (!stored.ok) return { status: 'refused', reason: stored.reason };
  if (kind === 'file' && value.endsWith('/'))
    return { status: 'refused', reason: 'expected a file path, the stored path ends with "/"' };
  return locateRel(stored.rel, root, label);
}

/** `locateAsset` for an already resolved relative path (see resolveStoredPath). */
export async function locateRel(rel: string, root: string, label = 'the assets root'): Promise<Location> {
  let realRoot: string;
  try {
    realRoot = await realRootOf(root);
  } catch (e) {
    throw new Error(`${label} ${root} is not accessible (${code(e)})`);
  }
  const diskPath = path.join(root, rel);
  let real: string;
  try {
    real = await fs.promises.realpath(diskPath);
  } catch (e) {
    const c = code(e);
    // Longer than the system's path limit: no call on this path can succeed, and walking up its ancestors would stall
    // on a deep tree. Say so at once instead of calling it "missing".
    if (c === 'ENAMETOOLONG')
      return {
        status: 'missing',
        rel,
        diskPath,
        code: c,
        problem: `path too long to check: ${diskPath.length} characters exceed the system's path limit (ENAMETOOLONG); the file was not checked`,
      };
    const link = await fs.promises.lstat(diskPath).catch(() => undefined);
    if (c === 'ELOOP')
      return {
        status: 'missing',
        rel,
        diskPath,
        code: c,
        problem: `expected an existing ${rel}, found a symlink loop at ${diskPath}`,
      };
    if (link?.isSymbolicLink()) {
      const target = await fs.promises.readlink(diskPath).catch(() => '?');
      const dest = path.resolve(path.dirname(diskPath), target);
      const destParent = await realAncestor(dest);
      if (!isWithin(realRoot, dest) || (destParent && !isWithin(realRoot, destParent)))
        return {
          status: 'escapes',
          rel,
          diskPath,
          problem: `symlink escapes ${label}: ${diskPath} -> ${target} (not followed)`,
        };
      return {
        status: 'missing',
        rel,
        diskPath,
        code: 'dangling',
        problem: `dangling symlink: ${diskPath} -> ${target}, which does not exist`,
      };
    }
    const parent = await realAncestor(diskPath);
    if (parent && !isWithin(realRoot, parent))
      return {
        status: 'escapes',
        rel,
        diskPath,
        problem: `path resolves outside ${label} through a symlinked directory (${parent}); not followed`,
      };
    return {
      status: 'missing',
      rel,
      diskPath,
      code: c,
      problem: `missing: expected ${diskPath} to exist, found nothing (${c})`,
    };
  }
  if (!isWithin(realRoot, real))
    return {
      status: 'escapes',
      rel,
      diskPath,
      problem: `symlink escapes ${label}: ${diskPath} resolves to ${real} (not read)`,
    };
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(real);
  } catch (e) {
    return {
      status: 'missing',
      rel,
      diskPath,
      code: code(e),
      problem: `cannot stat ${diskPath}: ${(e as Error).message}`,
    };
  }
  return { status: 'found', rel, diskPath, real, stat };
}

/** `my%20photo.jpg` → `my photo.jpg`; undefined when there is nothing to decode or the escapes are malformed. */
function percentDecoded(rel: string): string | undefined {
  if (!/%[0-9a-fA-F]{2}/.test(rel)) return undefined;
  try {
    return rel
      .split('/')
      .map((s) => decodeURIComponent(s))
      .join('/');
  } catch {
    return undefined;
  }
}

/** `my photo.jpg` → `my%20photo.jpg` (each segment as encodeURIComponent writes it). */
function percentEncoded(rel: string): string {
  return rel
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');
}

/**
 * The names a file stored as `rel` may have on disk after a platform or an uploader changed it (pure), each with
 * how it differs: the other Unicode normalizations (NFC, NFD, NFKC, NFKD), percent-decoded, percent-encoded, and
 * the normalizations of the decoded form. `rel` itself is not in the list.
 */
export function nearTwinCandidates(rel: string): Array<{ rel: string; how: string }> {
  const out = new Map<string, string>();
  const add = (r: string | undefined, how: string) => {
    if (r !== undefined && r !== rel && !r.split('/').includes('..') && !out.has(r)) out.set(r, how);
  };
  for (const form of ['NFC', 'NFD', 'NFKC', 'NFKD'] as const)
    add(rel.normalize(form), `differs only in Unicode normalization (the file on disk is ${form})`);
  const decoded = percentDecoded(rel);
  add(decoded, 'differs only in percent-encoding (the stored path is percent-encoded, the file name is not)');
  if (decoded)
    for (const form of ['NFC', 'NFD'] as const)
      add(decoded.normalize(form), `differs in percent-encoding and Unicode normalization (${form} on disk)`);
  add(
    percentEncoded(rel),
    'differs only in percent-encoding (the file name is percent-encoded, the stored path is not)',
  );
  return [...out].map(([r, how]) => ({ rel: r, how }));
}

/**
 * For a stored path that is missing under `root`: an existing entry inside the root whose name differs only in
 * Unicode normalization or percent-encoding, and how (undefined when there is none). Only looks names up; reads
 * nothing.
 */
export async function findNearTwin(rel: string, root: string): Promise<{ rel: string; how: string } | undefined> {
  for (const c of nearTwinCandidates(rel)) {
    const loc = await locateRel(c.rel, root).catch(() => undefined);
    if (loc?.status === 'found') return c;
  }
  return undefined;
}

/** One entry of a tree walk. `rel` is relative to the root, '/'-separated; names are decoded as UTF-8. */
export interface TreeEntry {
  rel: string;
  type: EntryType;
  /** The name's bytes are not valid UTF-8: `rel` shows them with U+FFFD; no stored (UTF-8) path can name it. */
  notUtf8?: boolean;
}

/** A directory the walk could not open or read (its contents are not in the walk), with the error code. */
export interface WalkProblem {
  rel: string;
  code: string;
}

/**
 * Walk every entry under `root` depth-first (directories before their contents), without following any symlink.
 * Entries are yielded one by one; memory holds one open directory per level of depth. Directories that cannot be
 * opened or read are passed to `onProblem` (EACCES, ENAMETOOLONG for paths beyond PATH_MAX, …) and the walk goes on.
 */
export async function* walkTree(
  root: string,
  onProblem: (p: WalkProblem) => void = () => {},
): AsyncGenerator<TreeEntry> {
  // Buffers all the way down: a name that is not valid UTF-8 can still be opened and descended into.
  const rootBuf = Buffer.from(root);
  async function* walk(dirBuf: Buffer, relBuf: Buffer | undefined): AsyncGenerator<TreeEntry> {
    let dir: fs.Dir;
    try {
      dir = await fs.promises.opendir(dirBuf as unknown as string, { encoding: 'buffer' as BufferEncoding });
    } catch (e) {
      onProblem({ rel: relBuf ? relBuf.toString('utf8') : '.', code: code(e) });
      return;
    }
    try {
      for (;;) {
        let d: fs.Dirent | null;
        try {
          d = await dir.read();
        } catch (e) {
          onProblem({ rel: relBuf ? relBuf.toString('utf8') : '.', code: code(e) });
          return;
        }
        if (!d) return;
        const name = d.name as unknown as Buffer;
        const childRel = relBuf ? Buffer.concat([relBuf, Buffer.from('/'), name]) : name;
        const rel = childRel.toString('utf8');
        const entry: TreeEntry = { rel, type: entryType(d) };
        if (!Buffer.from(rel, 'utf8').equals(childRel)) entry.notUtf8 = true;
        yield entry;
        if (entry.type === 'directory') yield* walk(Buffer.concat([dirBuf, Buffer.from('/'), name]), childRel);
      }
    } finally {
      await dir.close().catch(() => {});
    }
  }
  yield* walk(rootBuf, undefined);
}
