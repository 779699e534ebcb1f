/**
 * docs/cases.md maps each real-world case to its test: the "what the test asserts" column is the test file's header,
 * in full (an operator reads the expectation there, not a cut-off line ending in "…"), and every case test is listed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const CASES = path.join(ROOT, 'test/integration/cases');

/** A case test's header doc comment as one line, without its `rwNN: ` / `rwNN (../shared/cases): ` lead, `|` escaped. */
function header(file: string): string {
  const m = /^\/\*\*\n([\s\S]*?)\n \*\//.exec(fs.readFileSync(path.join(CASES, file), 'utf8'));
  const text = (m?.[1] ?? '')
    .split('\n')
    .map((l) => l.replace(/^ \* ?/, ''))
    .join(' ')
    .trim();
  return text.replace(/^rw\d+(?: \([^)]*\))?: /, '').replace(/\|/g, '\\|');
}

test('docs/cases.md: one row per case test, its column the full header of the test', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/cases.md'), 'utf8');
  const rows = new Map(
    [...doc.matchAll(/^\| (rw\d+) \| `test\/integration\/cases\/([^`]+)` \| (.*) \|$/gm)].map((m) => [m[2], m[3]]),
  );
  const files = fs.readdirSync(CASES).filter((f) => /^rw\d+.*\.test\.ts$/.test(f));
  expect([...rows.keys()].sort()).toEqual(files.sort());
  for (const f of files) {
    expect(rows.get(f), f).toBe(header(f));
    expect(rows.get(f), f).not.toMatch(/…$/);
  }
});
