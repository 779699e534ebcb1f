/**
 * Asset paths on disk: map a path stored in the database (`/app/.data/knowledge/7/a.pdf`) to the target tree
 * (`DST_ASSETS_DIR/knowledge/7/a.pdf`) and check it without ever touching anything outside DST_ASSETS_DIR.
 *
 * A stored path outside ASSETS_DB_PATH_PREFIX, with a `..` segment, or resolving (through symlinks, at any level)
 * outside DST_ASSETS_DIR is a failure and is never opened or stat'ed beyond the resolution itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { prefixWithSlash } from './sql/assets.ts';
import { isInside } from '../core/paths.ts';
import { permissionFindings, type AppUser } from './permissions.ts';

export type AssetKind = 'file' | 'dir';

export type PathMapping =
  | { ok: true; /** Relative to the prefix / the assets root, POSIX separators. */ rel: string; diskPath: string }
  | { ok: false; reason: string };

/** Map a stored path to the target tree, refusing anything that could leave it. Pure (no file system access). */
export function mapDbPath(value: string, prefix: string, root: string): PathMapping {
  const head = prefixWithSlash(prefix);
  if (value.includes('\0')) return { ok: false, reason: 'path contains a NUL byte' };
  if (!value.startsWith(head))
    return { ok: false, reason: `path is outside ASSETS_DB_PATH_PREFIX (expected it to start with "${head}")` };
  const rel = value.slice(head.length);
  if (rel.split('/').includes('..')) return { ok: false, reason: 'path contains a ".." segment' };
  const diskPath = path.join(root, rel);
  if (!isWithin(root, diskPath)) return { ok: false, reason: `path maps outside DST_ASSETS_DIR (${diskPath})` };
  return { ok: true, rel, diskPath };
}

/** `p` is `root` or below it (lib/core/paths.ts isInside; kept under this name for the asset checks). */
export const isWithin = (root: string, p: string): boolean => isInside(root, p);

export interface AssetCheckOptions {
  /** ASSETS_DB_PATH_PREFIX. */
  prefix: string;
  /** DST_ASSETS_DIR. */
  dstRoot: string;
  /** SRC_ASSETS_DIR when it is a local path: a file's size must equal the source file's. */
  srcRoot?: string;
  /** Bytes read from a file to prove it is readable (default 64). */
  readBytes?: number;
  /**
   * Whose read permission counts (ASSETS_APP_USER, resolved; lib/checks/permissions.ts): the tool usually runs as
   * root, for whom nothing is unreadable. Unset: files and directories "others" cannot read are warnings.
   */
  appUser?: AppUser;
}

export interface AssetResult {
  ok: boolean;
  /** What is wrong, naming expected and actual. */
  problem?: string;
  diskPath?: string;
  /** Evidence for the report: type, size, bytes read, source size. */
  facts: string[];
  /** Passing, but worth a warning (e.g. not readable by "others" when ASSETS_APP_USER is unset). */
  warnings?: string[];
}

/** The permission verdict for the application's user (or "others"), folded into a passing result. */
async function withPermissions(r: AssetResult, real: string, realRoot: string, opts: AssetCheckOptions) {
  const p = await permissionFindings(real, realRoot, opts.appUser);
  r.facts.push(...p.facts);
  if (p.problems.length) return { ...r, ok: false, problem: p.problems.join('; ') };
  return p.warnings.length ? { ...r, warnings: p.warnings } : r;
}

function describeType(st: fs.Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'an unknown file type';
}

const code = (e: unknown) => (e as NodeJS.ErrnoException)?.code;

/** The deepest existing ancestor of `p`, resolved; used to tell "missing" from "escapes through a symlinked directory". */
async function realAncestor(p: string): Promise<string | undefined> {
  for (let dir = path.dirname(p); ; dir = path.dirname(dir)) {
    try {
      return await fs.promises.realpath(dir);
    } catch {
      if (dir === path.dirname(dir)) return undefined;
    }
  }
}

/**
 * Resolve `diskPath` inside `realRoot`: the real path when it exists and stays inside, else a problem
 * (missing, dangling symlink, symlink loop, or escaping).
 */
async function resolveInside(
  diskPath: string,
  rel: string,
  realRoot: string,
): Promise<{ real: string } | { problem: string }> {
  let real: string;
  try {
    real = await fs.promises.realpath(diskPath);
  } catch (e) {
    // Longer than the system's path limit: no call on this path can succeed, and walking up its ancestors one
    // realpath at a time would stall for a deep tree. Say so at once instead of calling it "missing".
    if (code(e) === 'ENAMETOOLONG')
      return {
        problem: `path too long to check: ${diskPath.length} characters exceed the system's path limit (ENAMETOOLONG); the file was not checked`,
      };
    const link = await fs.promises.lstat(diskPath).catch(() => undefined);
    if (code(e) === 'ELOOP') return { problem: `expected an existing ${rel}, found a symlink loop at ${diskPath}` };
    if (link?.isSymbolicLink()) {
      const target = await fs.promises.readlink(diskPath).catch(() => '?');
      const dest = path.resolve(path.dirname(diskPath), target);
      const destParent = await realAncestor(dest);
      if (!isWithin(realRoot, dest) || (destParent && !isWithin(realRoot, destParent))) {
        return { problem: `symlink escapes DST_ASSETS_DIR: ${diskPath} -> ${target} (not followed)` };
      }
      return { problem: `dangling symlink: ${diskPath} -> ${target}, which does not exist` };
    }
    const parent = await realAncestor(diskPath);
    if (parent && !isWithin(realRoot, parent)) {
      return {
        problem: `path resolves outside DST_ASSETS_DIR through a symlinked directory (${parent}); not followed`,
      };
    }
    return { problem: `missing: expected ${diskPath} to exist, found nothing (${code(e) ?? 'error'})` };
  }
  if (!isWithin(realRoot, real))
    return { problem: `symlink escapes DST_ASSETS_DIR: ${diskPath} resolves to ${real} (not read)` };
  return { real };
}

/** Check one sampled asset on the target tree. Never throws for a file-system problem: it becomes the result. */
export async function checkAsset(value: string, kind: AssetKind, opts: AssetCheckOptions): Promise<AssetResult> {
  const facts: string[] = [];
  const mapped = mapDbPath(value, opts.prefix, opts.dstRoot);
  if (!mapped.ok) return { ok: false, problem: `${mapped.reason}; not read`, facts };
  const { rel } = mapped;
  if (kind === 'file' && rel.endsWith('/'))
    return { ok: false, problem: `expected a file path, the stored path ends with "/"; not read`, facts };
  // A directory may be stored with a trailing slash (`/app/.data/gallery/4/`); resolve it without, so a regular
  // file there is reported as such rather than as ENOTDIR.
  const diskPath = rel.endsWith('/') ? mapped.diskPath.replace(/\/+$/, '') : mapped.diskPath;
  facts.push(`disk path: ${diskPath}`);
  let realRoot: string;
  try {
    realRoot = await fs.promises.realpath(opts.dstRoot);
  } catch (e) {
    return {
      ok: false,
      diskPath,
      problem: `DST_ASSETS_DIR ${opts.dstRoot} is not accessible (${code(e) ?? (e as Error).message})`,
      facts,
    };
  }
  const resolved = await resolveInside(diskPath, rel, realRoot);
  if ('problem' in resolved) return { ok: false, diskPath, problem: resolved.problem, facts };
  const { real } = resolved;
  if (real !== diskPath) facts.push(`resolves to ${real}`);
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(real);
  } catch (e) {
    return { ok: false, diskPath, problem: `cannot stat ${diskPath}: ${(e as Error).message}`, facts };
  }
  if (kind === 'dir') {
    if (!st.isDirectory())
      return { ok: false, diskPath, problem: `expected a directory at ${diskPath}, found ${describeType(st)}`, facts };
    let dir: fs.Dir | undefined;
    try {
      dir = await fs.promises.opendir(real);
      const first = await dir.read();
      facts.push(first ? `directory, listable (first entry: ${first.name})` : 'directory, listable, empty');
    } catch (e) {
      return { ok: false, diskPath, problem: `directory ${diskPath} cannot be listed: ${(e as Error).message}`, facts };
    } finally {
      await dir?.close().catch(() => {});
    }
    return withPermissions({ ok: true, diskPath, facts }, real, realRoot, opts);
  }
  // Never open anything that is not a regular file (opening a FIFO would block).
  if (!st.isFile())
    return { ok: false, diskPath, problem: `expected a regular file at ${diskPath}, found ${describeType(st)}`, facts };
  let read: number;
  let size: number;
  try {
    // O_NOFOLLOW + fstat: what is read is the regular file that was checked, not something swapped in meanwhile.
    const fh = await fs.promises.open(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      const fst = await fh.stat();
      if (!fst.isFile())
        return {
          ok: false,
          diskPath,
          problem: `expected a regular file at ${diskPath}, found ${describeType(fst)}`,
          facts,
        };
      size = fst.size;
      ({ bytesRead: read } = await fh.read(Buffer.alloc(opts.readBytes ?? 64), 0, opts.readBytes ?? 64, 0));
    } finally {
      await fh.close();
    }
  } catch (e) {
    return { ok: false, diskPath, problem: `file ${diskPath} cannot be read: ${(e as Error).message}`, facts };
  }
  facts.push(`regular file, ${size} bytes, read the first ${read} bytes`);
  if (opts.srcRoot) {
    const srcPath = path.join(opts.srcRoot, rel);
    const src = await sourceSize(srcPath, opts.srcRoot);
    if (typeof src === 'string') facts.push(`source size not compared: ${src}`);
    else {
      facts.push(`source ${srcPath}: ${src} bytes`);
      if (src !== size)
        return {
          ok: false,
          diskPath,
          problem: `size mismatch: source ${srcPath} has ${src} bytes, target ${diskPath} has ${size} bytes`,
          facts,
        };
    }
  } else {
    facts.push('size not compared (SRC_ASSETS_DIR is not a local path)');
  }
  return withPermissions({ ok: true, diskPath, facts }, real, realRoot, opts);
}

/** The source file's size, or why it is not compared (the source tree is held to the same containment rule). */
async function sourceSize(srcPath: string, srcRoot: string): Promise<number | string> {
  try {
    const [real, realRoot] = await Promise.all([fs.promises.realpath(srcPath), fs.promises.realpath(srcRoot)]);
    if (!isWithin(realRoot, real)) return `${srcPath} resolves outside SRC_ASSETS_DIR`;
    const st = await fs.promises.stat(real);
    if (!st.isFile()) return `${srcPath} is ${describeType(st)}`;
    return st.size;
  } catch (e) {
    return `${srcPath} is not there (${code(e) ?? (e as Error).message})`;
  }
}
