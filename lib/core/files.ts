/**
 * Small file-system helpers used by the copy phases (the dump's digest), the audit trail (report hashes) and the
 * checks (sampled files): one sha256 of a file, one listing of a tree, one atomic write.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

/** sha256 (lowercase hex) of a file's bytes, streamed (constant memory, any size). Throws the fs error (ENOENT...). */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(fs.createReadStream(file), h);
  return h.digest('hex');
}

/** sha256 (lowercase hex) of a small file, read at once (report files). Throws the fs error. */
export function sha256FileSync(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * Every regular file under `dir`, as paths relative to it, `/`-separated, sorted (byte order of the UTF-16 code
 * units, as Array.sort). Directories are walked (symlinks are not followed and not listed); a missing `dir` gives [].
 */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.push(r);
    }
  };
  if (fs.existsSync(dir)) walk('');
  return out.sort();
}

/**
 * Create `dir` and every missing parent with mode 0700 (less the umask): the one way the run makes a directory under
 * WORK_DIR (docs/safety.md: WORK_DIR holds 0700 directories and 0600 files; issue 26 found `scans/` 0755). An existing
 * directory is left as it is (WORK_DIR itself is judged by lib/core/paths.ts ensurePrivateWorkDir).
 * @throws the file-system error (ENOSPC, EACCES, EEXIST for a file in the way…).
 */
export function mkdirPrivate(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Write `file` through a temp file beside it and a rename (readers never see half a file, and a crash leaves the old
 * file whole); creates the parent folder. `mode` applies to a new file (the temp file is created with it).
 * A failed write (ENOSPC, EACCES...) removes its temp file before the error is thrown: nothing half-written remains
 * (issue 26, a full REPORTS_DIR left zero-byte `*.tmp` files).
 */
export function writeAtomic(file: string, data: string | Buffer, opts: { mode?: number } = {}): void {
  // A private file's missing folders are private too (WORK_DIR: every directory 0700, issue 26).
  if (opts.mode !== undefined && (opts.mode & 0o077) === 0) mkdirPrivate(path.dirname(file));
  else fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, data, opts.mode === undefined ? undefined : { mode: opts.mode });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
