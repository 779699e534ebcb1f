/**
 * Sampled assets on disk: a path stored in the database (`/app/.data/knowledge/7/a.pdf`) is resolved with the one
 * path resolver (lib/checks/shared/asset-paths.ts: the census uses the same) to the target tree
 * (`DST_ASSETS_DIR/knowledge/7/a.pdf`) and checked without ever touching anything outside DST_ASSETS_DIR.
 *
 * A stored path outside ASSETS_DB_PATH_PREFIX, with a `..` segment, or resolving (through symlinks, at any level)
 * outside DST_ASSETS_DIR is a failure and is never opened or stat'ed beyond the resolution itself.
 *
 * A missing path is looked up again in the source tree (SRC_ASSETS_DIR, when local): missing there too, it is a
 * defect the source already has (`preexisting`), which the spec reports as a warning unless PREEXISTING_DEFECTS_FAIL=1.
 * A missing path with a near twin (same name in another Unicode normalization, or percent-decoded) says so and is
 * never counted as pre-existing: the source's platform may serve it, the target does not.
 */
import fs from 'node:fs';
import path from 'node:path';
import { shownPath } from '../../../core/display.ts';
import {
  describeEntryType,
  entryType,
  fileWithTrailingSlash,
  findNearTwin,
  isAbsent,
  isWithin,
  locateAsset,
  locateRel,
  realRootOf,
  resolveStoredPath,
  type Location,
} from '../../shared/asset-paths.ts';

export { isWithin };
import { permissionFindings, type AppUser } from './permissions.ts';

export type AssetKind = 'file' | 'dir';

export type PathMapping =
  | {
      ok: true;
      /** Relative to the prefix / the assets root, normalised (see resolveStoredPath). */ rel: string;
      diskPath: string;
    }
  | { ok: false; reason: string };

/** Map a stored path to the target tree, refusing anything that could leave it. Pure (no file system access). */
export function mapDbPath(value: string, prefix: string, root: string): PathMapping {
  const r = resolveStoredPath(value, prefix);
  if (!r.ok) return r;
  const diskPath = path.join(root, r.rel);
  if (!isWithin(root, diskPath))
    return { ok: false, reason: `path maps outside DST_ASSETS_DIR (${shownPath(diskPath)})` };
  return { ok: true, rel: r.rel, diskPath };
}

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
   * Whose read permission counts (ASSETS_APP_USER, resolved; lib/checks/families/assets/permissions.ts): the tool usually runs as
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
  /** The path is missing in the target AND in the (local) source tree: a defect the source already has. */
  preexisting?: boolean;
  /** A near twin exists in the target (another Unicode normalization, percent-decoded/encoded). */
  twin?: { rel: string; how: string };
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
  return describeEntryType(entryType(st));
}

const code = (e: unknown) => (e as NodeJS.ErrnoException)?.code;

/**
 * A missing or escaping location as a failed result: with the near twin when there is one, and, for a plain
 * missing path, whether the source tree lacks it too (pre-existing).
 */
async function notFound(
  loc: Exclude<Location, { status: 'found' | 'refused' }>,
  value: string,
  kind: AssetKind,
  opts: AssetCheckOptions,
  facts: string[],
): Promise<AssetResult> {
  const r: AssetResult = { ok: false, diskPath: loc.diskPath, problem: loc.problem, facts };
  if (loc.status !== 'missing') return r;
  const twin = await findNearTwin(loc.rel, opts.dstRoot);
  if (twin) {
    r.twin = twin;
    r.problem += `; a file whose name ${twin.how} exists: ${shownPath(path.join(opts.dstRoot, twin.rel))}`;
    return r;
  }
  if (opts.srcRoot) {
    const src = await locateAsset(value, kind, opts.prefix, opts.srcRoot, 'SRC_ASSETS_DIR').catch(() => undefined);
    if (src?.status === 'missing' && isAbsent(src) && !(await findNearTwin(src.rel, opts.srcRoot))) {
      r.preexisting = true;
      facts.push(`already missing in the source: ${shownPath(src.diskPath)}`);
    } else if (src?.status === 'found') facts.push(`present in the source: ${shownPath(src.diskPath)}`);
  }
  return r;
}

/** A stored path the resolver refuses; a file path ending in '/' is broken alike in the source: pre-existing (rw35). */
function refused(
  reason: string,
  value: string,
  kind: AssetKind,
  opts: AssetCheckOptions,
  facts: string[],
): AssetResult {
  const preexisting = !!opts.srcRoot && fileWithTrailingSlash(value, kind);
  return { ok: false, problem: `${reason}; not read`, facts, ...(preexisting ? { preexisting } : {}) };
}

/** A `dir` asset: a directory that can be listed (its first entry goes to `facts`); the failure, or undefined. */
async function listableDir(
  diskPath: string,
  real: string,
  st: fs.Stats,
  facts: string[],
): Promise<AssetResult | undefined> {
  if (!st.isDirectory())
    return {
      ok: false,
      diskPath,
      problem: `expected a directory at ${shownPath(diskPath)}, found ${describeType(st)}`,
      facts,
    };
  let dir: fs.Dir | undefined;
  try {
    dir = await fs.promises.opendir(real);
    const first = await dir.read();
    facts.push(first ? `directory, listable (first entry: ${shownPath(first.name)})` : 'directory, listable, empty');
  } catch (e) {
    return {
      ok: false,
      diskPath,
      problem: `directory ${shownPath(diskPath)} cannot be listed: ${(e as Error).message}`,
      facts,
    };
  } finally {
    await dir?.close().catch(() => {});
  }
  return undefined;
}

/** The failure for something at `diskPath` that is not a regular file (a directory, a FIFO, a device, …). */
function notARegularFile(diskPath: string, st: fs.Stats, facts: string[]): AssetResult {
  return {
    ok: false,
    diskPath,
    problem: `expected a regular file at ${shownPath(diskPath)}, found ${describeType(st)}`,
    facts,
  };
}

/** Check one sampled asset on the target tree. Never throws for a file-system problem: it becomes the result. */
export async function checkAsset(value: string, kind: AssetKind, opts: AssetCheckOptions): Promise<AssetResult> {
  const facts: string[] = [];
  let loc: Location;
  try {
    loc = await locateAsset(value, kind, opts.prefix, opts.dstRoot, 'DST_ASSETS_DIR');
  } catch (e) {
    const diskPath = mapDbPath(value, opts.prefix, opts.dstRoot);
    return {
      ok: false,
      diskPath: diskPath.ok ? diskPath.diskPath : undefined,
      problem: (e as Error).message,
      facts,
    };
  }
  if (loc.status === 'refused') return refused(loc.reason, value, kind, opts, facts);
  const diskPath = loc.diskPath;
  facts.push(`disk path: ${shownPath(diskPath)}`);
  if (loc.status !== 'found') return notFound(loc, value, kind, opts, facts);
  const { real, rel } = loc;
  const realRoot = await realRootOf(opts.dstRoot);
  if (real !== diskPath) facts.push(`resolves to ${shownPath(real)}`);
  const st = loc.stat;
  if (kind === 'dir') {
    const bad = await listableDir(diskPath, real, st, facts);
    return bad ?? withPermissions({ ok: true, diskPath, facts }, real, realRoot, opts);
  }
  // Never open anything that is not a regular file (opening a FIFO would block).
  if (!st.isFile()) return notARegularFile(diskPath, st, facts);
  let read: number;
  let size: number;
  try {
    // O_NOFOLLOW + fstat: what is read is the regular file that was checked, not something swapped in meanwhile.
    const fh = await fs.promises.open(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      const fst = await fh.stat();
      if (!fst.isFile()) return notARegularFile(diskPath, fst, facts);
      size = fst.size;
      ({ bytesRead: read } = await fh.read(Buffer.alloc(opts.readBytes ?? 64), 0, opts.readBytes ?? 64, 0));
    } finally {
      await fh.close();
    }
  } catch (e) {
    return {
      ok: false,
      diskPath,
      problem: `file ${shownPath(diskPath)} cannot be read: ${(e as Error).message}`,
      facts,
    };
  }
  facts.push(`regular file, ${size} bytes, read the first ${read} bytes`);
  if (opts.srcRoot) {
    const srcPath = path.join(opts.srcRoot, rel);
    const src = await sourceSize(rel, opts.srcRoot);
    if (typeof src === 'string') facts.push(`source size not compared: ${src}`);
    else {
      facts.push(`source ${shownPath(srcPath)}: ${src} bytes`);
      if (src !== size)
        return {
          ok: false,
          diskPath,
          problem: `size mismatch: source ${shownPath(srcPath)} has ${src} bytes, target ${shownPath(diskPath)} has ${size} bytes`,
          facts,
        };
    }
  } else {
    facts.push('size not compared (SRC_ASSETS_DIR is not a local path)');
  }
  return withPermissions({ ok: true, diskPath, facts }, real, realRoot, opts);
}

/** The source file's size, or why it is not compared (the source tree is held to the same containment rule). */
async function sourceSize(rel: string, srcRoot: string): Promise<number | string> {
  const srcPath = path.join(srcRoot, rel);
  try {
    const loc = await locateRel(rel, srcRoot, 'SRC_ASSETS_DIR');
    if (loc.status === 'escapes') return `${shownPath(srcPath)} resolves outside SRC_ASSETS_DIR`;
    if (loc.status !== 'found')
      return `${shownPath(srcPath)} is not there (${loc.status === 'missing' ? loc.code : loc.reason})`;
    if (!loc.stat.isFile()) return `${shownPath(srcPath)} is ${describeType(loc.stat)}`;
    return loc.stat.size;
  } catch (e) {
    return `${shownPath(srcPath)} is not there (${code(e) ?? (e as Error).message})`;
  }
}
