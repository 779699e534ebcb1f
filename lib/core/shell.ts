/** Quoting for text meant to be pasted into a POSIX shell (export lines, printed commands). */

/** `v` as one single-quoted shell word, whatever it holds (`it's` → `'it'\''s'`). */
export function shellQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

/** `v` unchanged when it is a plain word (letters, digits, `_@%+=:,./-`), else single-quoted. */
export function shellWord(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : shellQuote(v);
}
