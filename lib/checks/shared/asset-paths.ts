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
import { shownPath } from '../../core/display.ts';

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

/** Codes of a path that may well exist but could not be looked at: too long for the system, no permission, an I/O error. */
const UNCHECKABLE = new Set(['ENAMETOOLONG', 'EACCES', 'EPERM', 'EIO']);

/**
 * True when `loc` is really absent (nothing there: ENOENT, ENOTDIR, a loop, a dangling symlink); false when it was
 * found, refused, escapes, or could not be looked at (UNCHECKABLE). Only an absent source file makes a target's
 * missing file a defect the source already has (issue 26: a path too long to open on both sides was called "already
 * missing in the source", a warning, and the run went green without the file ever being checked).
 */
export function isAbsent(loc: Location | undefined): boolean {
  return loc?.status === 'missing' && !UNCHECKABLE.has(loc.code);
}

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
 * A `file` path stored with a trailing '/' (`ugc/2/b.jpg/`): refused by `locateAsset` for its form alone, so the
 * source, which stores the same value, is broken alike — a defect the source already has (pre-existing), not one the
 * copy made (rw35). Pure.
 */
export function fileWithTrailingSlash(value: string, kind: 'file' | 'dir'): boolean {
  return kind === 'file' && value.endsWith('/');
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
  if (fileWithTrailingSlash(value, kind))
    return { status: 'refused', reason: 'expected a file path, the stored path ends with "/"' };
  return locateRel(stored.rel, root, label);
}

/** Why `diskPath` (of stored path `rel`) could not be resolved: missing, a loop, dangling, or escaping the root. */
async function notResolved(
  e: unknown,
  rel: string,
  diskPath: string,
  realRoot: string,
  label: string,
): Promise<Location> {
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
      problem: `expected an existing ${rel}, found a symlink loop at ${shownPath(diskPath)}`,
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
        problem: `symlink escapes ${label}: ${shownPath(diskPath)} -> ${shownPath(target)} (not followed)`,
      };
    return {
      status: 'missing',
      rel,
      diskPath,
      code: 'dangling',
      problem: `dangling symlink: ${shownPath(diskPath)} -> ${shownPath(target)}, which does not exist`,
    };
  }
  const parent = await realAncestor(diskPath);
  if (parent && !isWithin(realRoot, parent))
    return {
      status: 'escapes',
      rel,
      diskPath,
      problem: `path resolves outside ${label} through a symlinked directory (${shownPath(parent)}); not followed`,
    };
  return {
    status: 'missing',
    rel,
    diskPath,
    code: c,
    problem: `missing: expected ${shownPath(diskPath)} to exist, found nothing (${c})`,
  };
}

/** `locateAsset` for an already resolved relative path (see resolveStoredPath). */
export async function locateRel(rel: string, root: string, label = 'the assets root'): Promise<Location> {
  let realRoot: string;
  try {
    realRoot = await realRootOf(root);
  } catch (e) {
    throw new Error(`${label} ${shownPath(root)} is not accessible (${code(e)})`);
  }
  const diskPath = path.join(root, rel);
  let real: string;
  try {
    real = await fs.promises.realpath(diskPath);
  } catch (e) {
    return notResolved(e, rel, diskPath, realRoot, label);
  }
  if (!isWithin(realRoot, real))
    return {
      status: 'escapes',
      rel,
      diskPath,
      problem: `symlink escapes ${label}: ${shownPath(diskPath)} resolves to ${shownPath(real)} (not read)`,
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
      problem: `cannot stat ${shownPath(diskPath)}: ${(e as Error).message}`,
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

/** `rel` with blanks (spaces, tabs, no-break spaces) trimmed from both ends of each segment; undefined when none. */
export function blankTrimmed(rel: string): string | undefined {
  const t = rel
    .split('/')
    .map((s) => s.replace(/^[\s\u00a0]+|[\s\u00a0]+$/g, ''))
    .join('/');
  return t !== rel && !t.split('/').some((s) => s === '' || s === '..') ? t : undefined;
}

/**
 * A name in `names` equal to `name` when letter case is ignored (and not equal to it), or undefined (pure). Several
 * candidates: the first in byte order, so the hint does not depend on the directory's order.
 */
export function caseTwin(name: string, names: Iterable<string>): string | undefined {
  const want = name.toLowerCase();
  let best: string | undefined;
  for (const n of names) if (n !== name && n.toLowerCase() === want && (best === undefined || n < best)) best = n;
  return best;
}

/**
 * For a stored path that is missing under `root`: an existing entry inside the root whose name differs only in
 * Unicode normalization, percent-encoding, blanks at the ends of a segment (a path pasted from a spreadsheet), or
 * letter case of the last segment (`D.JPG` for `d.jpg`: a case-insensitive source file system), and how (undefined
 * when there is none). Only looks names up (one readdir of the parent for the case twin); reads no file.
 */
export async function findNearTwin(rel: string, root: string): Promise<{ rel: string; how: string } | undefined> {
  const trimmed = blankTrimmed(rel);
  const candidates = [
    ...nearTwinCandidates(rel),
    ...(trimmed
      ? [{ rel: trimmed, how: 'differs only in blanks at the start or end of a name (the stored path has them)' }]
      : []),
  ];
  for (const c of candidates) {
    const loc = await locateRel(c.rel, root).catch(() => undefined);
    if (loc?.status === 'found') return c;
  }
  const slash = rel.lastIndexOf('/');
  const parent = slash < 0 ? '' : rel.slice(0, slash);
  const names = await fs.promises.readdir(path.join(root, parent)).catch(() => [] as string[]);
  const twin = caseTwin(rel.slice(slash + 1), names);
  if (twin !== undefined) {
    const r = parent ? `${parent}/${twin}` : twin;
    const loc = await locateRel(r, root).catch(() => undefined);
    if (loc?.status === 'found')
      return { rel: r, how: 'differs only in letter case (a case-insensitive file system would have served it)' };
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

/*
 * Byte-exact names. A file name is bytes, not text: a name written by an old Latin-1 server (`caf\xe9.jpg`) is not
 * valid UTF-8, and decoding it (Node's default for readdir) turns it into U+FFFD, so two such names collide and
 * neither can be opened again. The tree walks below carry every path as a *byte key*: a string with one character
 * per byte (Node's 'latin1' encoding), so that `<` on two keys is the byte order (memcmp, `LC_ALL=C sort`, PostgreSQL's
 * COLLATE "C") and equality is byte equality. Keys are turned back into bytes to open a file, and escaped to be shown.
 */

/** The byte key of a name or path given as bytes. */
export function byteKey(bytes: Buffer): string {
  return bytes.toString('latin1');
}

/** The byte key of a UTF-8 string (a path stored in the database). */
export function keyOfText(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** The bytes a byte key stands for. */
export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'latin1');
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the bytes there are not one. */
function utf8SequenceAt(b: Buffer, i: number): number {
  const x = b[i];
  const n = x < 0x80 ? 1 : x >= 0xc2 && x <= 0xdf ? 2 : x >= 0xe0 && x <= 0xef ? 3 : x >= 0xf0 && x <= 0xf4 ? 4 : 0;
  if (n <= 1 || i + n > b.length) return n === 1 ? 1 : 0;
  for (let k = 1; k < n; k++) if ((b[i + k] & 0xc0) !== 0x80) return 0;
  // Overlong forms and surrogates are not valid UTF-8: the round trip through a string tells.
  const seq = b.subarray(i, i + n);
  return Buffer.from(seq.toString('utf8'), 'utf8').equals(seq) ? n : 0;
}

const CONTROL_ESCAPES: Record<number, string> = { 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r', 0x5c: '\\\\' };

/**
 * A path's bytes as text a person (and a log) can read, unambiguously: valid UTF-8 is kept, every byte that is not
 * part of a valid UTF-8 sequence is written `\xE9`, control characters as `\n`, `\t`, `\r`, `\x01`, and a backslash as
 * `\\` (so `caf\xE9.jpg` is the Latin-1 name, `caf\\xE9.jpg` a name with a backslash). Pure.
 */
export function escapeNameBytes(bytes: Buffer): string {
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const n = utf8SequenceAt(bytes, i);
    if (n === 0) {
      out += `\\x${bytes[i].toString(16).toUpperCase().padStart(2, '0')}`;
      i++;
    } else if (n === 1) {
      const c = bytes[i];
      out +=
        CONTROL_ESCAPES[c] ??
        (c < 0x20 || c === 0x7f ? `\\x${c.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(c));
      i++;
    } else {
      out += bytes.subarray(i, i + n).toString('utf8');
      i += n;
    }
  }
  return out;
}

/** `escapeNameBytes` of a byte key. */
export function displayKey(key: string): string {
  return escapeNameBytes(keyBytes(key));
}

/** Whether a byte key's bytes are valid UTF-8 (a path the database could store). */
export function isUtf8Key(key: string): boolean {
  const b = keyBytes(key);
  return Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}

/** One entry of a byte-exact sorted walk: `key` is the path relative to the root as a byte key (see byteKey). */
export interface ByteTreeEntry {
  key: string;
  type: EntryType;
  /** lstat of the entry, when the walk was asked for stats (regular files only). */
  stat?: fs.Stats;
}

/** Entries per chunk of the sorted walks (the unit at which a caller may yield the event loop). */
export const WALK_CHUNK = 4096;

/**
 * Every entry under `root` (directories too) in byte order of the relative paths, names read as bytes (readdir with
 * `encoding: 'buffer'`), in chunks of up to `chunk` entries. A directory's own entry sorts at "name", its subtree at
 * "name/" (so `a.txt` comes between `a` and `a/x`, as `LC_ALL=C sort` orders full paths). No symlink is followed.
 * `stats`: lstat every regular file (size, mtime). Synchronous calls: a caller that must keep the event loop
 * responsive awaits between chunks. Memory: one sorted directory listing per level of depth plus a chunk, never the
 * tree. A directory that cannot be read goes to `onProblem` (its rel shown escaped) and the walk goes on.
 */
export function* sortedByteTree(
  root: string,
  o: { stats?: boolean; chunk?: number; onProblem?: (p: WalkProblem) => void } = {},
): Generator<ByteTreeEntry[]> {
  const chunk = o.chunk ?? WALK_CHUNK;
  const rootBytes = Buffer.from(root);
  const abs = (key: string) => (key ? Buffer.concat([rootBytes, Buffer.from('/'), keyBytes(key)]) : rootBytes);
  type Item = { sortKey: string; key: string; descend: boolean; type: EntryType };
  const stack: Array<{ items: Item[]; i: number }> = [];
  const open = (key: string) => {
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(abs(key) as unknown as string, {
        withFileTypes: true,
        encoding: 'buffer' as BufferEncoding,
      });
    } catch (e) {
      o.onProblem?.({ rel: key ? displayKey(key) : '.', code: code(e) });
      return;
    }
    const items: Item[] = [];
    for (const d of dirents) {
      const name = byteKey(d.name as unknown as Buffer);
      const childKey = key ? `${key}/${name}` : name;
      const type = entryType(d);
      items.push({ sortKey: name, key: childKey, descend: false, type });
      if (type === 'directory') items.push({ sortKey: `${name}/`, key: childKey, descend: true, type });
    }
    items.sort((x, y) => (x.sortKey < y.sortKey ? -1 : x.sortKey > y.sortKey ? 1 : 0));
    stack.push({ items, i: 0 });
  };
  open('');
  let out: ByteTreeEntry[] = [];
  while (stack.length) {
    const f = stack[stack.length - 1];
    if (f.i >= f.items.length) {
      stack.pop();
      continue;
    }
    const it = f.items[f.i++];
    if (it.descend) {
      open(it.key);
      continue;
    }
    const e: ByteTreeEntry = { key: it.key, type: it.type };
    if (o.stats && it.type === 'file') {
      try {
        e.stat = fs.lstatSync(abs(it.key) as unknown as string);
      } catch {
        /* vanished since the readdir: no stat, the caller says so */
      }
    }
    out.push(e);
    if (out.length >= chunk) {
      yield out;
      out = [];
    }
  }
  if (out.length) yield out;
}

/**
 * Merge two streams of batches, each sorted by `key` without duplicates, into pairs of the entries with equal keys
 * (`[a, undefined]` only in the first, `[undefined, b]` only in the second), in key order; keys compare with `<`
 * (byte keys: byte order). Pure and lazy: it holds one batch of each side, so memory does not grow with the streams.
 */
export function* mergeSorted<A extends { key: string }, B extends { key: string }>(
  left: Iterable<readonly A[]>,
  right: Iterable<readonly B[]>,
): Generator<[A | undefined, B | undefined]> {
  const li = left[Symbol.iterator]();
  const ri = right[Symbol.iterator]();
  let lb: readonly A[] = [];
  let rb: readonly B[] = [];
  let i = 0;
  let j = 0;
  let lDone = false;
  let rDone = false;
  for (;;) {
    while (!lDone && i >= lb.length) {
      const r = li.next();
      if (r.done) lDone = true;
      else [lb, i] = [r.value, 0];
    }
    while (!rDone && j >= rb.length) {
      const r = ri.next();
      if (r.done) rDone = true;
      else [rb, j] = [r.value, 0];
    }
    const a = lDone ? undefined : lb[i];
    const b = rDone ? undefined : rb[j];
    if (!a && !b) return;
    if (a && (!b || a.key < b.key)) {
      i++;
      yield [a, undefined];
    } else if (b && (!a || b.key < a.key)) {
      j++;
      yield [undefined, b];
    } else {
      i++;
      j++;
      yield [a, b];
    }
  }
}
