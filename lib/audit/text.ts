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
