/**
 * Plain-text wrapping for the console and summary.md: lines broken at spaces (a word longer than the width is broken
 * only when nothing else is possible), so nothing is cut mid-word or lost off the right edge.
 */

/**
 * Wrap `text` (may contain newlines) to `width` columns; the first line starts with `first`, the others with `rest`
 * (default: as many spaces as `first`). Returns the lines without trailing newlines.
 */
export function wrapText(text: string, width: number, first = '', rest = ' '.repeat(first.length)): string[] {
  const out: string[] = [];
  let prefix = first;
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(' ')) {
      const room = width - prefix.length;
      if (!line && line !== word) line = word;
      else if (line.length + 1 + word.length <= room) line += ` ${word}`;
      else {
        out.push(prefix + line);
        prefix = rest;
        line = word;
      }
      while (line.length > width - prefix.length && width - prefix.length > 20) {
        const cut = width - prefix.length;
        out.push(prefix + line.slice(0, cut));
        prefix = rest;
        line = line.slice(cut);
      }
    }
    out.push(prefix + line);
    prefix = rest;
  }
  return out;
}

/**
 * A check failure's message as a finding: vitest's matcher tail (`: expected 1 to be +0 // Object.is equality`, the
 * diff after a blank line) is dropped — the check's own message already says expected and found.
 */
export function findingMessage(message: string): string {
  const text = message.replace(/\n\s*\n[\s\S]*$/, '');
  const at = text.lastIndexOf(': expected ');
  if (at >= 0 && / to (?:be|equal|deeply equal|strictly equal|match|contain) /.test(text.slice(at)))
    return text.slice(0, at);
  return text.trimEnd();
}
