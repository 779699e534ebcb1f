/**
 * Where the tool may write and delete: the path refusals the configuration applies before any run starts. A mirror
 * writes into DST_ASSETS_DIR (and ASSETS_DELETE deletes there), so `/`, system directories and the home directory are
 * refused; WORK_DIR and REPORTS_DIR may not lie in a virtual file system; the two asset trees may not overlap; and an
 * rsync remote path is told from a local one. Pure rules over paths (symbolic links followed where they are read).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Env } from './env.ts';
import { isInside, realPathLoose, showResolved, virtualFsRoot } from './paths.ts';

/** Directories no asset mirror may write into (or delete from), whatever else is configured. */
const SYSTEM_DIRS = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
];
const SYSTEM_ROOTS = ['/home', '/media', '/mnt', '/opt', '/root', '/srv', '/tmp', '/var', '/var/lib', '/var/tmp'];

/** Why the absolute path `norm` is off limits for DST_ASSETS_DIR (`home`: the home directory's paths), or undefined. */
function systemDirKind(norm: string, homes: string[]): string | undefined {
  return norm === '/'
    ? 'the root directory'
    : SYSTEM_DIRS.some((s) => isInside(s, norm))
      ? 'a system directory'
      : SYSTEM_ROOTS.includes(norm)
        ? 'a top-level system directory'
        : homes.some((home) => isInside(norm, home))
          ? 'the home directory (or one of its parents)'
          : undefined;
}

/**
 * Why `dir` (resolved, absolute) can never be DST_ASSETS_DIR, or undefined: `/`, a system directory or anything inside
 * one, a top-level root such as /home or /var, the home directory or one of its ancestors. A mirror writes there and
 * ASSETS_DELETE deletes there; a typo must not reach `.ssh/authorized_keys`. Both the path as given and where it
 * really leads (symlinks followed, lib/core/paths.ts realPathLoose) are judged, the home directory likewise; the
 * refusal names both when they differ.
 */
/** A path that does not exist and would be created directly under `/` (a link to `/` must not create one). */
function newTopLevel(real: string): string | undefined {
  return real !== '/' && path.dirname(real) === '/' && !fs.existsSync(real)
    ? 'a new top-level directory (the run would create it under /)'
    : undefined;
}

/**
 * Why a local SRC_ASSETS_DIR (resolved, absolute) can never be mirrored, or undefined: `/`, a system directory
 * (SRC_ASSETS_DIR=/etc would copy /etc/shadow into staging), a top-level root, the home directory or one of its
 * ancestors; judged as given and through its symlinks, like refusedAssetsDir (issue 26).
 */
export function refusedSourceAssetsDir(dir: string, env: Env): string | undefined {
  const given = path.resolve(dir);
  const real = realPathLoose(given);
  const home = env.HOME ? path.resolve(env.HOME) : undefined;
  const homes = home && home !== '/' ? [...new Set([home, realPathLoose(home)])] : [];
  const why = systemDirKind(given, homes) ?? systemDirKind(real, homes);
  return why
    ? `SRC_ASSETS_DIR=${JSON.stringify(dir)}${real !== given ? ` leads to ${real} (through a symbolic link), which` : ''} is ${why}: the mirror would copy it (secrets included) into staging; point it at the source's .data directory itself`
    : undefined;
}

export function refusedAssetsDir(dir: string, env: Env): string | undefined {
  const given = path.resolve(dir);
  const real = realPathLoose(given);
  const home = env.HOME ? path.resolve(env.HOME) : undefined;
  const homes = home && home !== '/' ? [...new Set([home, realPathLoose(home)])] : [];
  // A new top-level directory through a symlink (a link to `/`); one named directly is the operator's explicit choice.
  const why =
    systemDirKind(given, homes) ?? systemDirKind(real, homes) ?? (real !== given ? newTopLevel(real) : undefined);
  return why
    ? `DST_ASSETS_DIR=${JSON.stringify(dir)}${real !== given ? ` leads to ${real} (through a symbolic link), which` : ''} is ${why}: the mirror writes there (and ASSETS_DELETE deletes there); point it at the staging .data directory itself`
    : undefined;
}

/**
 * Why `dir` cannot hold the tool's own files (WORK_DIR, REPORTS_DIR), judged without touching it: a path in (or
 * leading through a symlink into) a virtual file system, /proc, /sys or /dev, where creating directories fails or never
 * returns (Node's recursive mkdir spins on /proc). Undefined when nothing is known against it; whether it can really be
 * created and written is asked when the run starts (lib/core/paths.ts ensureUsableDir).
 */
export function refusedOutputDir(name: string, dir: string): string | undefined {
  const real = realPathLoose(dir);
  const root = virtualFsRoot(path.resolve(dir)) ?? virtualFsRoot(real);
  if (root)
    return `${name} ${showResolved(dir, real)} is not usable: ${root} is a virtual file system of the kernel, not storage; choose a writable directory`;
  // The run writes runs/, latest and junit.xml (REPORTS_DIR) or the dump (WORK_DIR) there, as the user it runs as
  // (often root): never into / or a system directory such as /etc (found by a fresh operator: REPORTS_DIR=/etc).
  const system = [path.resolve(dir), real].find((p) => p === '/' || SYSTEM_DIRS.some((s) => isInside(s, p)));
  return system
    ? `${name} ${showResolved(dir, real)} is ${system === '/' ? 'the root directory' : 'a system directory'}: the run would write its files there; choose a directory of its own (e.g. ./reports)`
    : undefined;
}

/** rsync remote syntax: host:path, user@host:path, host::module, rsync://... (a local path with a colon needs ./). */
export function isRemoteRsyncPath(p: string): boolean {
  if (/^rsync:\/\//.test(p)) return true;
  const colon = p.indexOf(':');
  if (colon <= 0) return false;
  const slash = p.indexOf('/');
  return slash < 0 || colon < slash;
}

/**
 * Where two local directories are relative to each other, lexically (after resolving "." and ".."). Pure: the same
 * question through symlinks needs the file system and is asked again in preflight (setup/preflight.ts).
 */
export function assetDirsOverlap(src: string, dst: string): 'same' | 'dst-inside-src' | 'src-inside-dst' | 'separate' {
  const s = path.resolve(src);
  const d = path.resolve(dst);
  const inside = (parent: string, child: string) => isInside(parent, child, { allowSame: false });
  if (s === d) return 'same';
  if (inside(s, d)) return 'dst-inside-src';
  if (inside(d, s)) return 'src-inside-dst';
  return 'separate';
}
