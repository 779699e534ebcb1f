/**
 * File-system errors as an operator reads them (issue 26: ENOSPC in WORK_DIR during the mirror was an unhandled stack
 * trace; a chmod-000 file failed the census with a bare `EACCES`; a 1,500-level path was "missing in source"): which
 * directory or file, what happened, and — for a full disk — how much is free there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { formatBytes } from './format.ts';

/** Free bytes for this user on the file system holding `dir` (or its nearest existing parent); undefined if unknown. */
export function freeBytes(dir: string): number | undefined {
  let d = path.resolve(dir);
  for (;;) {
    try {
      const s = fs.statfsSync(d);
      return s.bavail * s.bsize;
    } catch {
      const up = path.dirname(d);
      if (up === d) return undefined;
      d = up;
    }
  }
}

/**
 * The clear message for a file-system error `e` on `file` (default: the error's own path), or undefined when `e` is
 * none of: a full disk or quota (ENOSPC, EDQUOT), no permission (EACCES, EPERM), a path too long (ENAMETOOLONG).
 */
export function fsProblem(e: unknown, file?: string): string | undefined {
  const err = e as NodeJS.ErrnoException | undefined;
  const where = file ?? err?.path;
  switch (err?.code) {
    case 'ENOSPC':
    case 'EDQUOT': {
      const dir = where ? path.dirname(path.resolve(where)) : undefined;
      const free = dir ? freeBytes(dir) : undefined;
      return `no space left (${err.code}) writing ${where ?? 'a file'}${dir ? `: ${formatBytes(free)} free in ${dir}` : ''}; free space there (or point WORK_DIR at a larger disk) and rerun`;
    }
    case 'EACCES':
    case 'EPERM':
      return `unreadable: permission denied (${err.code}) on ${where ?? 'a file'}; the rehearsal's user may not open it (fix its mode or owner, or run as a user who may read it)`;
    case 'ENAMETOOLONG':
      return `path too long (ENAMETOOLONG: beyond this system's PATH_MAX/NAME_MAX) at ${where ? `${where.slice(0, 120)}…` : 'a file'}; it exists but cannot be opened by its full path`;
    default:
      return undefined;
  }
}
