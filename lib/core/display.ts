/**
 * How a name from a database (schema, table, column, constraint, index, role, extension, …) or from a file system (a
 * path, a file name) is shown inside a message the tool composes: every character that could start a line of its own,
 * move the cursor, restyle or hide text, or reorder what is read is written as a visible escape, so a name can never
 * forge a console line, a line of checks.json's messages, of junit.xml or of summary.md (issue 26, attack 24: a table
 * named `evil\n[checks] ok: FORGED` printed a line `[checks] ok: FORGED` under a failed check).
 *
 * Escaped: C0 controls (newline, carriage return and tab included), DEL, C1 controls (ESC's 8-bit twin CSI included),
 * the Unicode line and paragraph separators U+2028/U+2029, and the bidirectional marks, embeddings, overrides and
 * isolates (U+061C, U+200E/U+200F, U+202A–U+202E, U+2066–U+2069: Trojan Source, CVE-2021-42574). Everything else,
 * non-ASCII letters included, is shown as written.
 *
 * This is the message-building rule: only human-readable text is escaped. Structured data (a table or a path as a
 * field of the manifest, a byte-exact full list) keeps the exact name. The sinks (lib/core/escape.ts terminalLine,
 * markdownText, htmlText) escape again on their side: a place that forgot `shownName` still cannot write a raw escape
 * code, and `checkText` (applied to every check's name, message and notes in lib/checks/family.ts) leaves no newline
 * in a check's text but the tool's own line breaks.
 */

/** The characters a name may not carry into a message as themselves (see the module comment). */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * One unsafe character as its visible escape: `\n`, `\r`, `\t`, `\x1b` (below U+0100), `\u202e` (above). The one
 * escape of the project: the sinks' rules (lib/core/escape.ts terminalText, markdownText, htmlText) use it too.
 */
export function escaped(ch: string): string {
  const c = ch.charCodeAt(0);
  return SHORT[ch] ?? (c < 0x100 ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`);
}

/** Whether `s` holds a character `shownName` escapes. */
export function hasUnsafe(s: string): boolean {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(s);
}

/**
 * A name from a database or a file system as message text: one line, every unsafe character (module comment) shown
 * as a visible escape (`evil\n[x]\x1b[2J`). Backslashes stay as written; the exact name is in the structured data.
 * Pure; the result never contains a control, separator or bidi character.
 */
export function shownName(name: string): string {
  return name.replace(UNSAFE, escaped);
}

/** A file-system path (absolute or relative, a stored path value, a file name) as message text: `shownName`'s rule. */
export function shownPath(p: string): string {
  return shownName(p);
}

/**
 * A name that is shown in PostgreSQL's own escaped-identifier syntax when it holds an unsafe character:
 * `U&"evil\000a[checks]\001b[2J"` (code points as `\XXXX`, a backslash as `\\`, a double quote doubled), so the text is
 * one line, unambiguous (a name with a real newline and one with a backslash and an `n` never look alike) and can be
 * pasted into psql as the exact identifier. Undefined for a name without unsafe characters (the caller quotes it as
 * usual). Pure.
 */
export function unicodeIdent(name: string): string | undefined {
  if (!hasUnsafe(name)) return undefined;
  const body = [...name]
    .map((ch) => {
      if (ch === '\\') return '\\\\';
      if (ch === '"') return '""';
      UNSAFE.lastIndex = 0;
      return UNSAFE.test(ch) ? `\\${ch.charCodeAt(0).toString(16).padStart(4, '0')}` : ch;
    })
    .join('');
  return `U&"${body}"`;
}

/**
 * The tool's own line break inside a message it composed: a newline followed by at least two spaces (`\n  - …`), the
 * form every multi-line message of lib/ uses (lib/core/escape.ts messageLines splits at it too).
 */
export const MESSAGE_BREAK = /\n(?= {2})/;

/**
 * A check's text (its test name, failure message or a note) as it leaves the check: the tool's own line breaks
 * (`\n` + two spaces) kept, every other unsafe character shown escaped (`shownName`). With `oneLine`, no break is kept
 * (a test name is one line). The guard at the boundary of every check (lib/checks/family.ts plannedTests): a name a
 * family interpolated without `shownName` still cannot start a line of its own in checks.json, junit.xml,
 * summary.md or on the console. Pure.
 */
export function checkText(text: string, opts: { oneLine?: boolean } = {}): string {
  if (opts.oneLine) return shownName(text);
  return text.split(MESSAGE_BREAK).map(shownName).join('\n');
}

/** What opens a console line of the tool's own: a `[phase]` tag or a status glyph (after any indentation). */
const LINE_OPENER = /^(\s*)([[✓✗⚠])/;

/**
 * A continuation line of a console entry (a failed check's message and evidence, a wrapped warning, a multi-line
 * phase reason): when, after its indentation, it starts the way only the tool's own lines start — `[` (`[checks] ok:
 * …`, `[mirror] ok: …`) or a status glyph (`✓ ✗ ⚠`) — that first character is preceded by a backslash
 * (`    \[checks] ok: …`). So no text a check wrote, however it was wrapped or broken, can pass for a line of the
 * tool's (issue 26, attack 24: the attacker's kit counts `^\s*\[(checks|mirror)\] ok:` as a forged line). Apply it to
 * the already escaped line (terminalLine). Pure.
 */
export function detailLine(line: string): string {
  return line.replace(LINE_OPENER, '$1\\$2');
}
