/**
 * The tree's promise (docs/architecture.md): each folder of lib/ imports only from the layers below it, and nothing
 * under lib/ imports from setup/ (vitest glue) or scripts/ (thin CLIs). Read from the source text, so a new import that
 * breaks the layering fails here with the file and the import named.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** What each folder of lib/ may import from (besides itself). */
const ALLOWED: Record<string, string[]> = {
  core: [],
  phases: ['core'],
  checks: ['core'],
  audit: ['core', 'checks'],
  sandbox: ['core', 'checks'],
  cli: ['core', 'phases', 'checks', 'audit'],
  cutover: ['core', 'phases', 'checks', 'audit', 'cli'],
  // phases: the bench runs the raw restore with the session settings the restore phase would choose.
  bench: ['core', 'phases', 'checks', 'audit', 'sandbox'],
};

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

test('every folder of lib/ is a known layer', () => {
  const folders = fs
    .readdirSync(path.join(ROOT, 'lib'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  expect(folders.sort()).toEqual(Object.keys(ALLOWED).sort());
  expect(fs.readdirSync(path.join(ROOT, 'lib')).filter((f) => f.endsWith('.ts'))).toEqual([]);
});

test('nothing under lib/ imports upward, from setup/ or from scripts/', () => {
  const bad: string[] = [];
  for (const file of tsFiles(path.join(ROOT, 'lib'))) {
    const layer = path.relative(path.join(ROOT, 'lib'), file).split(path.sep)[0];
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = path.relative(ROOT, path.resolve(path.dirname(file), m[1]));
      const [top, sub] = target.split(path.sep);
      const ok = top === 'lib' && (sub === layer || ALLOWED[layer]?.includes(sub));
      if (!ok) bad.push(`${path.relative(ROOT, file)} imports ${target}`);
    }
  }
  expect(bad).toEqual([]);
});

/** Source text without comments (block and whole-line), so a doc comment may point at where a thing lives. */
function codeOf(file: string): string {
  return fs
    .readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
}

test('lib/core names no copy phase: the phase vocabulary and schedule live in lib/phases, checks get them as data', () => {
  const bad: string[] = [];
  for (const file of tsFiles(path.join(ROOT, 'lib', 'core'))) {
    const code = codeOf(file);
    const rel = path.relative(ROOT, file);
    for (const m of code.matchAll(/\b(PhaseName|PHASES|PhaseResult|ScheduledPhase|phaseSchedule|plannedPhases)\b/g))
      bad.push(`${rel} names ${m[1]}`);
    for (const m of code.matchAll(/'(preflight|restore|mirror)'/g)) bad.push(`${rel} names the phase '${m[1]}'`);
  }
  expect(bad).toEqual([]);
});

test('lib/core builds no command line of pg_dump, pg_restore, psql or rsync (those are lib/phases/commands.ts & co.)', () => {
  // The only option literals lib/core may hold: the tool runner's own wrappers (bash, setpriv), `<tool> --version`,
  // a DSN's database as libpq reads it (`--dbname=`, like the PG* environment), the vitest runner's arguments, and
  // node-postgres's `-c name=value` connection options.
  const RUNNER_OWN = [
    '--norc',
    '--noprofile',
    '-c',
    '--pdeathsig',
    '--version',
    '--dbname',
    '--config',
    '--configLoader',
    '--project',
  ];
  const bad: string[] = [];
  for (const file of tsFiles(path.join(ROOT, 'lib', 'core'))) {
    const code = codeOf(file);
    const rel = path.relative(ROOT, file);
    for (const m of code.matchAll(/['`](--?[a-zA-Z][\w-]*)/g))
      if (!RUNNER_OWN.includes(m[1])) bad.push(`${rel}: ${m[1]}`);
    for (const m of code.matchAll(/\btool:\s*'(\w+)'(?!\s*\|)/g)) bad.push(`${rel} makes a ${m[1]} command`);
  }
  expect(bad).toEqual([]);
});
