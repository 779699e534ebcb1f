/**
 * lib/core/display.ts: how a name from a database or a file system is shown inside a message (issue 26, attack 24).
 */
import { describe, expect, test } from 'vitest';
import { checkText, detailLine, hasUnsafe, shownName, shownPath, unicodeIdent } from '../../../lib/core/display.ts';
import { terminalMessage } from '../../../lib/core/escape.ts';
import { displayIdent, displayTable } from '../../../lib/core/ident.ts';

/** Every character the rule escapes, one of each class. */
const UNSAFE_SAMPLES = [
  ['\n', '\\n'],
  ['\r', '\\r'],
  ['\t', '\\t'],
  ['\x00', '\\x00'],
  ['\x07', '\\x07'],
  ['\x1b', '\\x1b'],
  ['\x7f', '\\x7f'],
  ['\x85', '\\x85'], // NEL, a C1 line break
  ['\x9b', '\\x9b'], // CSI, ESC [ in one byte
  ['\u2028', '\\u2028'],
  ['\u2029', '\\u2029'],
  ['\u202a', '\\u202a'],
  ['\u202e', '\\u202e'], // right-to-left override
  ['\u2066', '\\u2066'],
  ['\u2069', '\\u2069'],
  ['\u061c', '\\u061c'],
  ['\u200f', '\\u200f'],
] as const;

describe('shownName / shownPath', () => {
  test.each(UNSAFE_SAMPLES)('%j is shown as %s', (ch, shown) => {
    expect(shownName(`a${ch}b`)).toBe(`a${shown}b`);
    expect(shownPath(`/x/${ch}.jpg`)).toBe(`/x/${shown}.jpg`);
    expect(hasUnsafe(ch)).toBe(true);
  });

  test("the attacker's names: one line, no ESC, the text still readable", () => {
    const t = shownName('evil\n[checks] ok: FORGED-TABLE-LINE \x1b[2J\x1b[31m');
    expect(t).toBe('evil\\n[checks] ok: FORGED-TABLE-LINE \\x1b[2J\\x1b[31m');
    expect(shownPath('ugc/x\n[mirror] ok: FORGED-PATH-LINE\x1b[2K.jpg')).toBe(
      'ugc/x\\n[mirror] ok: FORGED-PATH-LINE\\x1b[2K.jpg',
    );
  });

  test('ordinary names, non-ASCII letters, emoji and backslashes are shown as written; idempotent', () => {
    for (const n of ['users', 'Zoë/Ünïcode 文件.jpg', 'a\\nb', 'emoji 🎉', 'tab-less "quoted" name'])
      expect(shownName(n)).toBe(n);
    const once = shownName('x\n\x1b');
    expect(shownName(once)).toBe(once);
    expect(hasUnsafe('plain')).toBe(false);
  });
});

describe('unicodeIdent / displayIdent: an identifier with a control is shown as PostgreSQL U&"…"', () => {
  test('the escaped form is one line and unambiguous', () => {
    expect(unicodeIdent('evil\n[checks] ok: FORGED\x1b[2J')).toBe('U&"evil\\000a[checks] ok: FORGED\\001b[2J"');
    // A real newline and a backslash followed by n never look alike.
    expect(displayIdent('a\nb')).toBe('U&"a\\000ab"');
    expect(displayIdent('a\\nb')).toBe('"a\\nb"');
    expect(unicodeIdent('a\\b\n"c"')).toBe('U&"a\\\\b\\000a""c"""');
    expect(unicodeIdent('plain')).toBeUndefined();
    expect(displayIdent('Users')).toBe('"Users"');
    expect(displayTable({ schema: 'public', name: 'rtl\u202etxt.exe' })).toBe('public.U&"rtl\\202etxt.exe"');
  });
});

describe('checkText: the guard every check text passes', () => {
  test("a name's newline is escaped; the tool's own break (newline + two spaces) stays", () => {
    const msg = 'refused:\n  - table public."evil\n[checks] ok: FORGED\x1b[2J"\n  - second';
    expect(checkText(msg)).toBe('refused:\n  - table public."evil\\n[checks] ok: FORGED\\x1b[2J"\n  - second');
    expect(checkText(msg)).not.toMatch(/^\s*\[checks\] ok: FORGED/m);
  });
  test('oneLine (a test name): no newline at all', () => {
    expect(checkText('row count x\n  [checks] ok: FORGED', { oneLine: true })).toBe(
      'row count x\\n  [checks] ok: FORGED',
    );
  });
});

describe('detailLine: a continuation line never starts like a line of the tool', () => {
  test('a [tag] or a status glyph after the indentation is preceded by a backslash; other lines as they are', () => {
    expect(detailLine('    [checks] ok: FORGED')).toBe('    \\[checks] ok: FORGED');
    expect(detailLine('[mirror] ok: FORGED')).toBe('\\[mirror] ok: FORGED');
    expect(detailLine('  ✓ row count x')).toBe('  \\✓ row count x');
    expect(detailLine('  ✗ x')).toBe('  \\✗ x');
    expect(detailLine('  ⚠ x')).toBe('  \\⚠ x');
    expect(detailLine('    - public.users [ok]')).toBe('    - public.users [ok]');
    expect(detailLine('    · evidence')).toBe('    · evidence');
  });
  test("terminalMessage (the summary's multi-line reasons): continuation lines guarded, the first line not", () => {
    expect(terminalMessage('[restore] failed:\n  [checks] ok: FORGED\n  - x', '    ')).toBe(
      '[restore] failed:\n      \\[checks] ok: FORGED\n      - x',
    );
  });
});
