/**
 * lib/core/escape: names from a database or a file system shown literally on the terminal, in markdown and in HTML
 * (issue 26: newlines and escape codes forging console lines, a table name becoming a remote image in summary.md).
 */
import { describe, expect, test } from 'vitest';
import {
  htmlMessage,
  htmlText,
  markdownCode,
  markdownMessage,
  markdownText,
  messageLines,
  terminalLine,
  terminalMessage,
  terminalText,
} from '../../../lib/core/escape.ts';

const HOSTILE = [
  'users\n[checks] ✓ 28 passed, 0 failed',
  'a\rb',
  'title\x1b]0;owned\x07',
  'clear\x1b[2J\x1b[H',
  'bidi\u202etxt.exe',
  'del\x7f c1\x9b',
];

describe('terminal', () => {
  test.each(HOSTILE)('%j: no control or bidi character survives, the text is still readable', (name) => {
    const out = terminalText(name);
    // eslint-disable-next-line no-control-regex
    expect(out).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(out.split('\n')).toHaveLength(1);
  });

  test('visible forms', () => {
    expect(terminalText('a\nb\rc\x1bd\u202e')).toBe('a\\nb\\rc\\x1bd\\u202e');
    expect(terminalText('plain name, ünïcode "quoted"\tand a tab')).toBe('plain name, ünïcode "quoted"\tand a tab');
  });

  // Issue 26, attack 24: a table named `evil\n[checks] ok: FORGED \e[2J\e[31m` kept its colour code, because the
  // line escaper let SGR sequences through as "our own colours". No escape sequence is ours to let through.
  test.each([
    ['SGR colour', 'evil\x1b[31m red', 'evil\\x1b[31m red'],
    ['SGR reset/bold', '\x1b[0m\x1b[1mx', '\\x1b[0m\\x1b[1mx'],
    ['SGR hidden text', 'a\x1b[8mhidden', 'a\\x1b[8mhidden'],
    [
      'OSC 8 hyperlink',
      '\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\',
      '\\x1b]8;;https://evil.example\\x1b\\click\\x1b]8;;\\x1b\\',
    ],
    ['C1 CSI', 'x\x9b31my', 'x\\x9b31my'],
    ['the attack', 'evil\n[checks] ok: FORGED \x1b[2J\x1b[31m', 'evil\\n[checks] ok: FORGED \\x1b[2J\\x1b[31m'],
  ])('%s: escaped completely by terminalText and terminalLine alike', (_what, name, shown) => {
    for (const f of [terminalText, terminalLine]) {
      const out = f(name);
      expect(out).toBe(shown);
      // eslint-disable-next-line no-control-regex
      expect(out).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/);
    }
  });

  test('a whole console line with a colour code inside a name: nothing of it reaches the terminal raw', () => {
    const line = terminalLine(`✗ row count public."x\x1b[2Jy\nz\x1b[31m"  [row-counts]`);
    expect(line).toBe(`✗ row count public."x\\x1b[2Jy\\nz\\x1b[31m"  [row-counts]`);
  });
});

describe('markdown', () => {
  test('a table name cannot become a remote image, a link, raw HTML or an autolink', () => {
    const out = markdownText('![x](https://evil.example/p.png) <img src=x onerror=alert(1)> [a](b)');
    expect(out).not.toMatch(/(^|[^\\])!\[/);
    expect(out).not.toMatch(/(^|[^\\])\]\(/);
    expect(out).not.toContain('<');
    expect(out).not.toMatch(/https:\/\//);
    expect(out).toBe('!\\[x\\](https\\://evil.example/p.png) &lt;img src=x onerror=alert(1)&gt; \\[a\\](b)');
  });

  test('a name cannot split a table row, start a heading or a new line', () => {
    expect(markdownText('a|b')).toBe('a\\|b');
    expect(markdownText('# h')).toBe('\\# h');
    expect(markdownText('x\n| forged | row |')).toBe('x\\\\n\\| forged \\| row \\|');
  });

  test('GFM autolinks stay text: www., scheme://, e-mail', () => {
    expect(markdownText('see www.evil.example now')).toBe('see www\\.evil.example now');
    expect(markdownText('ftp://x.example/a')).toBe('ftp\\://x.example/a');
    expect(markdownText('ops@corp.example')).toBe('ops\\@corp.example');
  });

  test('punctuation markdown would not read as markup in its position is left as written', () => {
    expect(markdownText('WARNING: the restore ran as a superuser (CVE-2024-7348 class); 3 files.')).toBe(
      'WARNING: the restore ran as a superuser (CVE-2024-7348 class); 3 files.',
    );
    expect(markdownText('public.ugc_assets.storage_path = 5 + 1 - 2 # x!')).toBe(
      'public.ugc_assets.storage_path = 5 + 1 - 2 # x!',
    );
  });

  test('what would be markup in its position is escaped: emphasis at a word edge, block markers at the start', () => {
    expect(markdownText('_x_ and *y* and ~z~ and `c`')).toBe('\\_x\\_ and \\*y\\* and \\~z\\~ and \\`c\\`');
    expect(markdownText('- item')).toBe('\\- item');
    expect(markdownText('+ item')).toBe('\\+ item');
    expect(markdownText('1. item')).toBe('1\\. item');
    expect(markdownText('12) item')).toBe('12\\) item');
    expect(markdownText('===')).toBe('\\===');
    expect(markdownText('&copy; a\\b')).toBe('&amp;copy; a\\\\b');
  });

  test('inline code: a fence longer than any backtick run inside', () => {
    expect(markdownCode('plain')).toBe('`plain`');
    expect(markdownCode('a`b')).toBe('``a`b``');
    expect(markdownCode('`x`')).toBe('`` `x` ``');
    expect(markdownCode('a\nb')).toBe('`a\\nb`');
  });
});

describe('html', () => {
  test('text and attribute values', () => {
    expect(htmlText(`<script>alert("x")</script> & 'y'`)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;',
    );
    expect(htmlText('a\nb')).toBe('a\\nb');
  });
});

describe('multi-line messages composed by the tool (a refusal with its list of problems)', () => {
  const NAME = 'db\n[checks] ✓ 28 passed <b>|x|</b>';
  const MSG = `refused before any write (the target is untouched):\n  - DST_DROP_SCHEMA=1 refused\n  - ${NAME} is not reachable`;

  test('console: real newlines with the indentation, the name newline still escaped', () => {
    const out = terminalMessage(MSG, '    ');
    expect(out.split('\n')).toEqual([
      'refused before any write (the target is untouched):',
      '      - DST_DROP_SCHEMA=1 refused',
      '      - db\\n[checks] ✓ 28 passed <b>|x|</b> is not reachable',
    ]);
    expect(out).not.toContain('\\n  -');
  });

  test('markdown: line breaks, the list marker literal, the name escaped', () => {
    const out = markdownMessage(MSG);
    expect(out).not.toContain('\n');
    expect(out).toBe(
      'refused before any write (the target is untouched):<br>\\- DST_DROP_SCHEMA=1 refused<br>\\- db\\\\n\\[checks\\] ✓ 28 passed &lt;b&gt;\\|x\\|&lt;/b&gt; is not reachable',
    );
  });

  test('HTML: <br> inline, real newlines in a <pre>, the name escaped in both', () => {
    expect(htmlMessage(MSG)).toBe(
      'refused before any write (the target is untouched):<br>- DST_DROP_SCHEMA=1 refused<br>- db\\n[checks] ✓ 28 passed &lt;b&gt;|x|&lt;/b&gt; is not reachable',
    );
    expect(htmlMessage(MSG, { pre: true }).split('\n')).toEqual([
      'refused before any write (the target is untouched):',
      '  - DST_DROP_SCHEMA=1 refused',
      '  - db\\n[checks] ✓ 28 passed &lt;b&gt;|x|&lt;/b&gt; is not reachable',
    ]);
  });

  test('messageLines: only a newline followed by an indentation is a break', () => {
    expect(messageLines('a\nb\n  c')).toEqual(['a\nb', '  c']);
  });
});
