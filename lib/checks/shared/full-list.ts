/**
 * Full lists: a check that finds keys or paths hands over the COMPLETE list, not just the examples in its message.
 *
 * The list is written beside the report, `<run folder>/failures/<check>.txt` (the run protocol's `runDir`), one item per line (a `#` header
 * says what the lines are), capped only by FULL_LIST_MAX with a last line saying how many were left out. The check
 * then carries an annotation of type `full-list` whose message starts with the file's path relative to the run
 * folder, which the report, the summary and the console link to. Without a run folder (a spec run by hand) nothing is
 * written and the annotation says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeAtomic } from '../../core/files.ts';
import { fromEnv } from '../../core/run-protocol.ts';
import type { Annotate } from './verdict.ts';

/** The annotation type of a full list. */
export const FULL_LIST = 'full-list';
/** The folder of the run directory holding the lists. */
export const FAILURES_DIR = 'failures';

/** A file name for a check: its name with every run of unsafe characters as one `-`, at most 120 characters. */
export function listFileName(check: string): string {
  const base = check
    .replace(/[^A-Za-z0-9._()-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 120);
  return `${base || 'check'}.txt`;
}

/**
 * Write the full list of a check and annotate the test with it.
 * @param check the test name (the file is named after it)
 * @param header one line saying what each line is (`missing-on-target <path>`, `<table> <key>`)
 * @param items the items, one per line (newlines inside an item are escaped as `\n`)
 * @param opts.max FULL_LIST_MAX; `total` when the caller knows more items exist than it fetched
 * @returns the path relative to the run folder, or undefined when there is no run folder
 */
export async function writeFullList(
  annotate: Annotate,
  check: string,
  header: string,
  items: string[],
  opts: { max: number; total?: number; runDir?: string | undefined } = { max: 100_000 },
): Promise<string | undefined> {
  const runDir = opts.runDir ?? fromEnv(process.env)?.runDir;
  const total = Math.max(opts.total ?? items.length, items.length);
  const kept = items.slice(0, opts.max);
  const leftOut = total - kept.length;
  if (!runDir) {
    await annotate(`${total} item(s); no run folder, so no full list was written`, FULL_LIST);
    return undefined;
  }
  const rel = `${FAILURES_DIR}/${listFileName(check)}`;
  const lines = [
    `# ${check}`,
    `# ${header}`,
    ...kept.map((i) => i.replace(/\r?\n/g, '\\n')),
    ...(leftOut > 0 ? [`# … ${leftOut} more left out (FULL_LIST_MAX=${opts.max})`] : []),
  ];
  fs.mkdirSync(path.join(runDir, FAILURES_DIR), { recursive: true });
  // Through a temp file and a rename: a reader of the run folder never sees half a list.
  writeAtomic(path.join(runDir, rel), lines.join('\n') + '\n');
  await annotate(
    `${rel}: ${kept.length} item(s)${leftOut > 0 ? `, ${leftOut} more left out (FULL_LIST_MAX=${opts.max})` : ''}`,
    FULL_LIST,
  );
  return rel;
}

/**
 * Write a list of file paths as rclone check's `--missing-on-dst` / `--missing-on-src` / `--differ` files do: one
 * path per line, relative to the tree roots, the name's exact bytes (a name that is not valid UTF-8 stays as it is on
 * disk), no header — ready for `rsync --files-from=<file> SRC/ DST/`. A name containing a newline cannot be one line:
 * it is left out of the file and counted in the annotation (the escaped evidence names it). The file is
 * `failures/<check>.<which>.txt`, announced by a `full-list` annotation.
 * @param which the list's name (`missing-on-target`, `missing-on-source`, `differ`)
 * @param keys the paths as byte keys (one character per byte, lib/checks/shared/asset-paths.ts byteKey)
 * @param total how many paths there are (more than `keys` when the caller kept only the first FULL_LIST_MAX)
 * @returns the path relative to the run folder, or undefined when there is no run folder
 */
export async function writePathList(
  annotate: Annotate,
  check: string,
  which: string,
  keys: string[],
  opts: { max: number; total: number; what: string; runDir?: string | undefined },
): Promise<string | undefined> {
  const runDir = opts.runDir ?? fromEnv(process.env)?.runDir;
  const kept = keys.filter((k) => !k.includes('\n')).slice(0, opts.max);
  const withNewline = keys.length - keys.filter((k) => !k.includes('\n')).length;
  const leftOut = opts.total - kept.length - withNewline;
  if (!runDir) {
    await annotate(`${which}: ${opts.total} path(s); no run folder, so no list was written`, FULL_LIST);
    return undefined;
  }
  const rel = `${FAILURES_DIR}/${listFileName(check).replace(/\.txt$/, '')}.${which}.txt`;
  fs.mkdirSync(path.join(runDir, FAILURES_DIR), { recursive: true });
  const body = Buffer.concat(kept.map((k) => Buffer.from(`${k}\n`, 'latin1')));
  writeAtomic(path.join(runDir, rel), body);
  const notes = [
    ...(leftOut > 0 ? [`${leftOut} more left out (FULL_LIST_MAX=${opts.max})`] : []),
    ...(withNewline ? [`${withNewline} name(s) with a newline left out (not one line)`] : []),
  ];
  await annotate(
    `${rel}: ${kept.length} path(s) ${opts.what}, one per line, byte-exact (rsync --files-from)${notes.length ? `; ${notes.join('; ')}` : ''}`,
    FULL_LIST,
  );
  return rel;
}
