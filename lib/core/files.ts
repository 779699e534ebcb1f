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
 * Write `file` through a temp file beside it and a rename (readers never see half a file, and a crash leaves the old
 * file whole); creates the parent folder. `mode` applies to a new file (the temp file is created with it).
 * A failed write (ENOSPC, EACCES...) removes its temp file before the error is thrown: nothing half-written remains
 * (issue 26, a full REPORTS_DIR left zero-byte `*.tmp` files).
 */
export function writeAtomic(file: string, data: string | Buffer, opts: { mode?: number } = {}): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, data, opts.mode === undefined ? undefined : { mode: opts.mode });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
