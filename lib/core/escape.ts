/**
 * Output escaping for names that come from a database or a file system (table, column and schema names, asset paths,
 * file names): one rule per medium, so such a name is always shown as itself and never becomes markup or terminal
 * control (issue 26: a newline or an escape code in a path forged console lines; a table name became a remote image
 * in summary.md).
 *
 * - terminal: every control character (C0 incl. newline, carriage return and ESC, DEL, C1) and every Unicode
 *   bidirectional override/isolate is shown as a visible escape (`\n`, `\x1b`, `\u202e`). No escape sequence is
 *   "allowed" through, not even a colour code (SGR): a name from the database cannot be told from a colour the tool
 *   added, so `\e[31m` or `\e[8m` (hidden text) in a table name would restyle or hide the tool's own lines (issue 26,
 *   attack 24). The tool's console lines carry no colour codes of their own; a colour, if one is ever added, is added
 *   by the formatter after the line was escaped, never passed through it.
 * - markdown: every character CommonMark/GFM would read as markup in its position is backslash-escaped (and nothing
 *   else), `<`/`>`/`&` become entities (no raw HTML, no autolink), a newline becomes a visible `\n`, a `|` cannot end a
 *   table cell.
 * - HTML: `& < > " '` as entities (text and attribute values alike), controls as in the terminal rule.
 */
import { detailLine, escaped, MESSAGE_BREAK } from './display.ts';

/**
 * Controls, the line/paragraph separators U+2028/U+2029 (a line break to JavaScript, JSON viewers and some log tools)
 * and the bidirectional formatting characters (Trojan Source, CVE-2021-42574): shown escaped everywhere.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * A name for the terminal or a plain-text log: every control and bidi character shown as a visible escape (a tab
 * stays a tab). The result never contains a newline, a carriage return or an escape sequence.
 */
export function terminalText(s: string): string {
  return s.replace(CONTROL, escaped);
}

/**
 * A whole console line composed by the tool (or by vitest's reporters, which run with colours off): every control or
 * bidi character shown escaped, escape sequences included — a name inside it cannot colour, hide or overwrite text,
 * move the cursor, clear the screen, set the window title, open a hyperlink (OSC 8) or start a new line. The same rule
 * as `terminalText`, named for the place it is applied: just before a line is written to stdout/stderr.
 */
export function terminalLine(line: string): string {
  return terminalText(line);
}

/** Inline markup characters that mean something wherever they stand: escape, code, emphasis, links, cells, strike. */
const MD_INLINE = /[\\`*[\]|~]/g;
/** What may open a block, but only at the start of a line (the text's start): heading, list item, setext underline. */
const MD_BLOCK_START = /^(\s*)(#|[+\-=]|\d+[.)])/;
const WORD = /[\p{L}\p{N}]/u;

/**
 * A name as inline markdown text (a paragraph or a table cell): shown literally by any CommonMark/GFM renderer, with
 * a backslash only where markdown would read the character as markup in that position, so ordinary punctuation stays
 * as written (`WARNING: x`, `file.name (copy)`, `storage_path`). Escaped: backslash, backtick, `*`, `[`, `]`, `|`,
 * `~` everywhere; `_` at a word
 * edge (CommonMark never reads an intraword `_` as emphasis); the `:` of `scheme://` and the `.` of `www.` and every
 * `@` (GFM autolinks); `#`, `+`, `-`, `=`, `1.`/`1)` at the start (block markers); `< > &` as entities (no raw HTML,
 * no autolink, no entity). `![x](https://…)` stays text (no remote image), a newline is shown as `\n`, a `|` cannot
 * split a table row.
 */
export function markdownText(s: string): string {
  return terminalText(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(MD_INLINE, (c) => `\\${c}`)
    .replace(/_/g, (c, i: number, t: string) => (WORD.test(t[i - 1] ?? '') && WORD.test(t[i + 1] ?? '') ? c : '\\_'))
    .replace(/([A-Za-z][A-Za-z0-9+.-]*):(?=\/\/)/g, '$1\\:')
    .replace(/\b(www)\./gi, '$1\\.')
    .replace(/@/g, '\\@')
    .replace(MD_BLOCK_START, (_m, pad: string, mark: string) => `${pad}${mark.replace(/[#+\-=.)]$/, (c) => `\\${c}`)}`);
}

/** A name as markdown inline code (`` `name` ``): a fence longer than any run of backticks in it, controls escaped. */
export function markdownCode(s: string): string {
  const t = terminalText(s);
  const longest = Math.max(0, ...[...t.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = t.startsWith('`') || t.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}

/** A name as HTML text or a quoted attribute value: `& < > " '` as entities, controls shown escaped. */
export function htmlText(s: string): string {
  return terminalText(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * The tool's own line break inside a message it composed (a refusal's list of problems, a command's stderr tail): a
 * newline followed by an indentation of at least two spaces (`\n  - …`, `\n    …`), the form every multi-line message
 * of lib/ uses. Any other newline (one that came inside a database or file name) is not a break and stays escaped;
 * an indented one can at most read as a continuation line of the message it is in, never as a line of its own.
 */

/** A message's lines at the tool's own breaks (MESSAGE_BREAK), each still raw: escape them with the medium's rule. */
export function messageLines(s: string): string[] {
  return s.split(MESSAGE_BREAK);
}

/**
 * A multi-line message for the console: the tool's breaks (MESSAGE_BREAK) as real newlines, each continuation line
 * prefixed by `indent` (to line up under the line the message starts on), every other control escaped (terminalLine);
 * a continuation line cannot start like a line of the tool's own (lib/core/display.ts detailLine).
 */
export function terminalMessage(s: string, indent = ''): string {
  return messageLines(s)
    .map((l, i) => (i ? detailLine(terminalLine(l)) : terminalLine(l)))
    .join('\n' + indent);
}

/**
 * A multi-line message as inline markdown (a paragraph, a list item or a table cell): each line by markdownText, the
 * tool's breaks (MESSAGE_BREAK) as `<br>` (GFM keeps a table row on one line; a renderer that allows no HTML shows
 * the tag, never a forged row).
 */
export function markdownMessage(s: string): string {
  return messageLines(s)
    .map((l) => markdownText(l.trimStart()))
    .join('<br>');
}

/**
 * A multi-line message as HTML: each line by htmlText, the tool's breaks (MESSAGE_BREAK) as `<br>` (`pre`: false) or
 * as real newlines for a `<pre>` element (`pre`: true, indentation kept).
 */
export function htmlMessage(s: string, opts: { pre?: boolean } = {}): string {
  const lines = messageLines(s);
  return opts.pre ? lines.map(htmlText).join('\n') : lines.map((l) => htmlText(l.trimStart())).join('<br>');
}
