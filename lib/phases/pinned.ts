/**
 * Objects opened once and used through their open file descriptor (issue 26, attacks E7 and E8): a path is looked up
 * again every time it is used, so whoever can rename a directory on it (WORK_DIR's parent, DST_ASSETS_DIR's resolved
 * directory) can swap what the path names between the check and the use. An open descriptor cannot be swapped: the
 * archive the restore hashed is the archive pg_restore reads, and the directory the mirror judged is the directory
 * rsync writes into.
 *
 * How a child tool uses the descriptor: it is handed to the tool as its fd 3 (lib/core/tools.ts `Command.fds`), and
 * the tool is given the path `/proc/self/fd/3`. Opening that path (or a path below it, for a directory) reaches the
 * open file itself, never a name looked up again from `/`, and a process the tool forks (pg_restore's `-j` workers,
 * rsync's receiver) inherits the descriptor, so the same path works there. In this process the same object is
 * `/proc/self/fd/<fd>`. Linux only (procfs), as the rest of the tool.
 */
import fs from 'node:fs';
import type { Command } from '../core/tools.ts';

/** The descriptor number a child tool sees the pinned object as (its first fd after stdin, stdout, stderr). */
export const CHILD_FD = 3;

/** An object opened once: its descriptor here, the path it was opened by, and how a child tool names it. */
export interface Pinned {
  /** The open descriptor in this process. */
  fd: number;
  /** The path it was opened by (for messages only: never used to reach the object again). */
  path: string;
  /** The object as this process reaches it: `/proc/self/fd/<fd>`. */
  here: string;
  /** The object as a child tool given `fds: [fd]` reaches it: `/proc/self/fd/3`. */
  child: string;
  /** The device and inode opened. */
  dev: number;
  ino: number;
  /** Close the descriptor (idempotent). */
  close(): void;
}

/**
 * Open `p` once, without following a symbolic link in its last component (O_NOFOLLOW: a link planted or swapped in
 * there fails with ELOOP instead of being followed; `followLinks`: the operator's own path, links followed), as a
 * regular file or a directory (O_DIRECTORY).
 * @throws the fs error (ENOENT, ELOOP, ENOTDIR …), or an Error when a file was expected and something else is there.
 */
export function openPinned(p: string, kind: 'file' | 'directory', opts: { followLinks?: boolean } = {}): Pinned {
  const flags =
    fs.constants.O_RDONLY |
    (opts.followLinks ? 0 : fs.constants.O_NOFOLLOW) |
    (kind === 'directory' ? fs.constants.O_DIRECTORY : 0);
  const fd = fs.openSync(p, flags);
  const st = fs.fstatSync(fd);
  if (kind === 'file' && !st.isFile()) {
    fs.closeSync(fd);
    throw Object.assign(new Error(`${p} is not a regular file`), { code: 'EFTYPE' });
  }
  let open = true;
  return {
    fd,
    path: p,
    here: `/proc/self/fd/${fd}`,
    child: `/proc/self/fd/${CHILD_FD}`,
    dev: st.dev,
    ino: st.ino,
    close: () => {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}

/** Where the pinned object is now reachable by name (the kernel's path of the open descriptor). */
export function pinnedLocation(pin: Pinned): string {
  return fs.readlinkSync(pin.here);
}

/** `cmd` with the pinned object handed over as the tool's fd 3 (so `pin.child` names it in its arguments). */
export function withPinned<C extends Command>(cmd: C, pin: Pinned | undefined): C {
  return pin ? { ...cmd, fds: [pin.fd] } : cmd;
}
