/**
 * Issue 26 (item 5): names from a database or a file system are shown as themselves in summary.md, report.html and on
 * the console: a table named `![x](http://127.0.0.1:9/x.png)` is no remote image, a newline forges no line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { buildManifest } from '../../../lib/audit/manifest.ts';
import { listLines, renderReportHtml, renderSummaryMd } from '../../../lib/audit/report-html.ts';
import type { CheckRecord } from '../../../lib/audit/reporter.ts';
import { failureLines } from '../../../lib/audit/reporter.ts';
import { terminalLine } from '../../../lib/core/escape.ts';
import { consoleSay } from '../../../lib/phases/phase.ts';
import { PhaseLog } from '../../../lib/core/tools.ts';
import type { TestCase } from 'vitest/node';

const EVIL = 'public."![x](http://127.0.0.1:9/x.png)\n✓ forged line <img src=x onerror=alert(1)>"';

function fixture() {
  const name = `row counts ${EVIL}`;
  const checks: CheckRecord[] = [
    {
      file: 'specs/x.spec.ts',
      name,
      fullName: name,
      namePath: [name],
      state: 'failed',
      errors: [`${name}: 3 rows missing in ${EVIL}`],
      annotations: [{ type: 'evidence', message: `table ${EVIL}` }],
      family: 'row-counts',
    },
  ];
  const manifest = buildManifest({
    runId: 'r1',
    mode: 'full',
    startedAt: '2026-01-01T00:00:00Z',
    finishedAt: '2026-01-01T00:00:10Z',
    exitCode: 1,
    tools: {},
    config: {},
    totals: { passed: 0, failed: 1, skipped: 0, notSelected: 0, warnings: 0 },
    failures: [],
    auditProblems: [],
    reports: {},
    extra: { tables: [{ table: EVIL, rows: 3, bytes: 10, status: 'failed', seconds: 0.1, failedChecks: [] }] },
  });
  return { checks, manifest };
}

describe('escaping in the audit trail', () => {
  test('summary.md: no image, no link, no raw HTML, no broken table row', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esc-'));
    const md = renderSummaryMd({ ...fixture(), runDir: dir });
    expect(md).not.toMatch(/!\[x\]\(/);
    expect(md).not.toContain('<img');
    expect(md).not.toContain('http://');
    expect(md).toContain('!\\[x\\](http\\://127.0.0.1:9/x.png)');
    // Every table row stays one line with its cells.
    for (const line of md.split('\n').filter((l) => l.startsWith('| row counts'))) expect(line).toMatch(/\|$/);
    expect(md).not.toMatch(/^✓ forged line/m);
    fs.rmSync(dir, { recursive: true });
  });

  test('report.html: the name is text, not markup', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esc-'));
    const html = renderReportHtml({ ...fixture(), runDir: dir });
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    fs.rmSync(dir, { recursive: true });
  });

  test('a console line: a newline or an escape code inside a name is shown, not obeyed', () => {
    const line = terminalLine(`  ✗ row counts ${EVIL}\x1b]0;pwned\x07`);
    expect(line).not.toContain('\n');
    expect(line).not.toContain('\x1b]');
    expect(line).toContain('\\n✓ forged line');
  });
});

/** Issue 26, attack 24: the table the attacker created on the source. */
const ATTACK_TABLE = 'evil\n[checks] ok: FORGED-TABLE-LINE \x1b[2J\x1b[31m';
/** Every C0/C1 control (ESC and CSI included): none may reach the terminal from a name. */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

/** What the writer under test wrote to stdout while `fn` ran. */
function stdoutOf(fn: () => void): string {
  const chunks: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((c: string | Uint8Array) => (chunks.push(String(c)), true)) as typeof write;
  try {
    fn();
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

describe("the console writers, with the attack's table name", () => {
  test('a phase line (consoleSay): escape codes inside the line shown escaped, SGR colour and hidden text included', () => {
    // consoleSay keeps the tool's own line breaks (each line prefixed); everything else in a line is escaped.
    const out = stdoutOf(() =>
      consoleSay(new PhaseLog(), 'restore')('table public."evil \x1b[2J\x1b[31m\x1b[8m\x9b2J" restored'),
    );
    expect(out).toBe('[restore] table public."evil \\x1b[2J\\x1b[31m\\x1b[8m\\x9b2J" restored\n');
    expect(out.slice(0, -1)).not.toMatch(RAW_CONTROL);
  });

  test('a failed check as the quiet console prints it (failureLines, then terminalLine): nothing raw', () => {
    const name = `row count public."${ATTACK_TABLE}"`;
    const tc = {
      name,
      result: () => ({ state: 'failed', errors: [{ message: `${name}: expected it in the target, it is missing` }] }),
      annotations: () => [{ type: 'evidence', message: `source has 1 row in public."${ATTACK_TABLE}"` }],
    } as unknown as TestCase;
    const lines = failureLines(tc, 160).map(terminalLine);
    for (const l of lines) expect(l).not.toMatch(RAW_CONTROL);
    expect(lines[0]).toContain('evil\\n[checks] ok: FORGED-TABLE-LINE \\x1b[2J\\x1b[31m');
    // The kit's pattern: leading whitespace allowed (a detail line is indented), so the detail lines must not break
    // at a name's newline either (they did: wrapping split every newline of the message before escaping it).
    expect(lines.join('\n')).not.toMatch(/^\s*\[checks\] ok: FORGED/m);
    expect(lines[1]).toContain('row count public."evil\\n[checks] ok: FORGED-TABLE-LINE');
    expect(lines.some((l) => l.includes('· source has 1 row in public."evil\\n[checks]'))).toBe(true);
  });

  test('a name wrapped onto a line of its own (no newline at all) cannot pass for a line of the tool either', () => {
    const tc = {
      name: 'row count x',
      result: () => ({
        state: 'failed',
        errors: [{ message: `${'word '.repeat(23)}[checks] ok: FORGED ${'x '.repeat(5)}` }],
      }),
      annotations: () => [],
    } as unknown as TestCase;
    const lines = failureLines(tc, 120).map(terminalLine);
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.join('\n')).not.toMatch(/^\s*\[checks\] ok: FORGED/m);
    expect(lines.join('\n')).toMatch(/^\s*\\\[checks\] ok: FORGED/m);
  });

  test("a failed check's detail lines: the tool's own breaks (newline + two spaces) kept, a name's newline escaped", () => {
    const tc = {
      name: 'asset census x',
      result: () => ({
        state: 'failed',
        errors: [
          { message: `missing:\n  - /app/.data/ugc/x\n[mirror] ok: FORGED\x1b[2K.jpg\n  - /app/.data/ugc/y.jpg` },
        ],
      }),
      annotations: () => [{ type: 'evidence', message: 'disk path: /t/ugc/x\n    [mirror] ok: FORGED\u2028.jpg' }],
    } as unknown as TestCase;
    const lines = failureLines(tc, 160).map(terminalLine);
    expect(lines).toEqual([
      '✗ asset census x  [asset-census]',
      '    missing:',
      '       - /app/.data/ugc/x\\n[mirror] ok: FORGED\\x1b[2K.jpg',
      '       - /app/.data/ugc/y.jpg',
      // A name's newline followed by spaces reads like the tool's break (shownName, where a name enters a message,
      // escapes it first): split, but a detail line never starts like a line of the tool's own (detailLine).
      '    · disk path: /t/ugc/x',
      '           \\[mirror] ok: FORGED\\u2028.jpg',
    ]);
  });
});

describe('full lists in report.html', () => {
  test('a byte-exact path list that is not UTF-8: every name escaped as the console shows it, no U+FFFD', () => {
    const bytes = Buffer.concat([
      Buffer.from('legacy/caf', 'latin1'),
      Buffer.from([0xe9]),
      Buffer.from('.jpg\nZoë/ok.txt\nback\\slash\n', 'utf8'),
    ]);
    const lines = listLines(bytes);
    expect(lines).toEqual(['legacy/caf\\xE9.jpg', 'Zoë/ok.txt', 'back\\\\slash']);
    expect(lines.join('\n')).not.toContain('\ufffd');
  });
  test('a valid UTF-8 list is shown as written', () => {
    expect(listLines(Buffer.from('# 2 rows\nZoë\\x\n', 'utf8'))).toEqual(['# 2 rows', 'Zoë\\x']);
  });
});

describe('multi-line messages of the tool in summary.md and report.html', () => {
  const REFUSAL = `refused before any write (the target is untouched):\n  - DST_DROP_SCHEMA=1 refused\n  - WORK_DIR ${EVIL} is missing`;
  function refusal(dir: string) {
    const { manifest } = fixture();
    const checks: CheckRecord[] = [
      {
        file: 'specs/phases.spec.ts',
        name: 'phase preflight',
        fullName: 'phase preflight',
        namePath: ['phase preflight'],
        state: 'failed',
        errors: [REFUSAL],
        annotations: [],
        family: 'phases',
      },
    ];
    fs.mkdirSync(path.join(dir, 'failures'));
    fs.writeFileSync(path.join(dir, 'failures', 'asset-census-x.txt'), '# 2 paths\na.jpg\nb.jpg\n');
    return { manifest, checks, runDir: dir };
  }

  test('summary.md: the refusal keeps its lines (<br>) in its one table row; the name newline stays escaped', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esc-'));
    const md = renderSummaryMd(refusal(dir));
    const row = md.split('\n').find((l) => l.startsWith('| phase preflight'))!;
    expect(row).toContain('(the target is untouched):<br>\\- DST_DROP_SCHEMA=1 refused<br>\\- WORK_DIR');
    expect(row).not.toContain('\\\\n  ');
    expect(row).toContain('x.png)\\\\n✓ forged line');
    expect(row).toMatch(/\|$/);
    fs.rmSync(dir, { recursive: true });
  });

  test('report.html: the refusal in its <pre> with real line breaks; a full list inline one path a line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esc-'));
    const input = refusal(dir);
    input.checks.push({
      ...input.checks[0]!,
      file: 'specs/asset-census.spec.ts',
      name: 'asset census x',
      errors: ['2 path(s) missing on target'],
      annotations: [{ type: 'full-list', message: 'failures/asset-census-x.txt: 2 item(s)' }],
    });
    const html = renderReportHtml(input);
    expect(html).toContain('(the target is untouched):\n  - DST_DROP_SCHEMA=1 refused\n  - WORK_DIR');
    expect(html).not.toContain('untouched):\\n');
    expect(html).toContain('x.png)\\n✓ forged line');
    expect(html).toMatch(/<pre class="full-list"># 2 paths\na\.jpg\nb\.jpg<\/pre>/);
    fs.rmSync(dir, { recursive: true });
  });
});
