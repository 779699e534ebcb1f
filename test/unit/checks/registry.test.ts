/**
 * The registry (lib/checks/registry.ts) is the one list of check families: specs/, the registry and the check-name
 * table of docs/architecture.md must name the same families, and every documented example name must belong to the
 * family it is documented under. Test names come from each family's `name()` alone: the names the runner and
 * `--list` give (`plannedTests`), the dry-run's lines (`planLines`) and the documented names must agree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { plannedTests, skipEntry, splitSkipReason } from '../../../lib/checks/family.ts';
import { FAMILIES, familyById, familyOfTest } from '../../../lib/checks/registry.ts';
import { checkContext } from '../../../lib/checks/shared/context.ts';
import { phaseSchedule } from '../../../lib/phases/phase-schedule.ts';
import { PHASES } from '../../../lib/phases/phase-types.ts';
import { closePools } from '../../../lib/core/db.ts';
import type { CheckPlan } from '../../../lib/core/state.ts';
import { parseConfig } from '../../../lib/core/config.ts';
import { VARS } from '../../../lib/core/config.ts';
import { PROJECT_ROOT } from '../../../lib/core/project.ts';

/** Rows of the "Check names" table of docs/architecture.md: family id → the example names (in backticks). */
function docsTable(): Map<string, string[]> {
  const md = fs.readFileSync(path.join(PROJECT_ROOT, 'docs/architecture.md'), 'utf8');
  const section = md.slice(md.indexOf('## Check names'));
  const body = section.slice(0, section.indexOf('\n## ', 3));
  const rows = new Map<string, string[]>();
  for (const line of body.split('\n')) {
    const m = /^\| `([a-z0-9-]+)` \|([^|]*)\|([^|]*)\|/.exec(line);
    if (m)
      rows.set(
        m[1],
        [...m[3].matchAll(/`([^`]+)`/g)].map((x) => x[1]),
      );
  }
  return rows;
}

test('every spec file in specs/ is a registered family, and every family has its spec file', () => {
  const specs = fs
    .readdirSync(path.join(PROJECT_ROOT, 'specs'))
    .filter((f) => f.endsWith('.spec.ts'))
    .map((f) => `specs/${f}`)
    .sort();
  expect(FAMILIES.map((f) => f.spec).sort()).toEqual(specs);
});

test("the docs' check-name table lists every family of the registry, and nothing else", () => {
  const rows = docsTable();
  expect([...rows.keys()].sort()).toEqual(FAMILIES.map((f) => f.id).sort());
});

test('every documented check name belongs to the family it is documented under', () => {
  for (const [id, names] of docsTable()) {
    expect(names.length, `${id} has no example name in docs/architecture.md`).toBeGreaterThan(0);
    for (const n of names) expect(familyOfTest(n)?.id, `"${n}" under ${id}`).toBe(id);
  }
});

test('ids are unique kebab-case, prefixes belong to one family only, read variables exist in the contract', () => {
  const ids = FAMILIES.map((f) => f.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const id of ids) expect(id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  const prefixes = FAMILIES.flatMap((f) => f.prefixes);
  expect(new Set(prefixes).size).toBe(prefixes.length);
  const known = new Set(VARS.map((v) => v.name));
  for (const f of FAMILIES) for (const v of f.reads) expect(known.has(v), `${f.id} reads ${v}`).toBe(true);
});

test('familyOfTest: the longest prefix wins; familyById names the known ids for an unknown one', () => {
  expect(familyOfTest('asset census knowledge_materials.storage_path')?.id).toBe('asset-census');
  expect(familyOfTest('asset knowledge_materials.storage_path /app/.data/k/1/a.pdf')?.id).toBe('assets');
  expect(familyOfTest('row counts (not checked)')?.id).toBe('row-counts');
  expect(familyOfTest('check discovery')?.id).toBe('phases');
  expect(familyOfTest('rowcount x')).toBeUndefined();
  expect(() => familyById('nope')).toThrow(/unknown check family "nope"; known: phases, row-counts/);
});

test('every family gives dry-run lines for a plan, without a database', () => {
  const config = parseConfig(
    {
      DST_DATABASE_URL: 'postgresql://u@127.0.0.1:5/t',
      DST_ASSETS_DIR: '/tmp/x',
      SRC_DATABASE_URL: 'postgresql://u@127.0.0.1:5/s',
    },
    { mode: 'verify-only' },
  );
  const plan = {
    tablesFrom: 'source' as const,
    tables: [{ schema: 'public', name: 'users' }],
    relations: [],
    assetColumns: [],
    assetSample: { seed: 's', perColumn: 0, items: [] },
  };
  for (const f of FAMILIES) {
    const lines = f.planLines({ config, plan, schedule: phaseSchedule(config), restoring: false });
    expect(lines.head, f.id).not.toBe('');
    for (const c of lines.checks.filter((c) => !c.startsWith('(')))
      expect(familyOfTest(c)?.id, `${f.id}: "${c}"`).toBe(f.id);
  }
});

test('every spec file only registers its family (no check logic in specs/)', () => {
  for (const f of FAMILIES) {
    const text = fs.readFileSync(path.join(PROJECT_ROOT, f.spec), 'utf8');
    const code = text
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('//'));
    expect(code, f.spec).toEqual([
      "import { registerFamily } from '../lib/checks/runner.ts';",
      `await registerFamily('${f.id}');`,
    ]);
  }
});

const config = parseConfig(
  {
    DST_DATABASE_URL: 'postgresql://u@127.0.0.1:5/t',
    DST_ASSETS_DIR: '/tmp/x',
    SRC_DATABASE_URL: 'postgresql://u@127.0.0.1:5/s',
    ASSET_COLUMNS: 'gallery_items.storage_dir:dir',
  },
  { mode: 'verify-only' },
);
const users = { schema: 'public', name: 'users' };
const plan: CheckPlan = {
  tablesFrom: 'source',
  tables: [users, { schema: 'app', name: 'Events' }],
  relations: [
    {
      child: { schema: 'public', name: 'ugc_assets' },
      childColumns: ['user_id'],
      parent: users,
      parentColumns: ['id'],
      origin: 'declared',
    },
  ],
  relationsFrom: 'source',
  assetColumns: [
    {
      display: 'gallery_items.storage_dir',
      table: { schema: 'public', name: 'gallery_items' },
      column: 'storage_dir',
      kind: 'dir',
      exists: true,
    },
  ],
  assetSample: { seed: 's', perColumn: 0, items: [] },
} as CheckPlan;

/** The families whose subjects come from the configuration and the plan alone (the others read catalogs). */
const FROM_PLAN = [
  'phases',
  'row-counts',
  'orphans',
  'path-prefix',
  'health',
  'checksums',
  'schema-parity',
  'large-objects',
  'isolation',
];

/** Planned test names (runnable ones) of a family in a context made of `config` and `plan` (no database is read). */
async function plannedNames(id: string): Promise<string[]> {
  const phases = phaseSchedule(config).map((p) =>
    p.wanted ? { name: p.name, status: 'ok' as const } : { name: p.name, status: 'skipped' as const, reason: p.whyNot },
  );
  const ctx = checkContext(
    { runId: 'unit', mode: 'verify-only', workDir: '/nonexistent', phaseNames: PHASES, phases, plan, toc: {} },
    {},
    config,
  );
  try {
    return (await plannedTests(familyById(id), ctx)).filter((t) => t.run).map((t) => t.name);
  } finally {
    await closePools();
  }
}

test('the names the runner and --list give are the dry-run lines, and each name belongs to its own family', async () => {
  for (const id of FROM_PLAN) {
    const names = await plannedNames(id);
    expect(names.length, id).toBeGreaterThan(0);
    const dry = familyById(id).planLines({ config, plan, schedule: phaseSchedule(config), restoring: false }).checks;
    for (const n of names) {
      expect(familyOfTest(n)?.id, `"${n}"`).toBe(id);
      if (id !== 'schema-parity' || n !== 'schema coverage') expect(dry, `${id}: dry-run lacks "${n}"`).toContain(n);
    }
  }
});

test('the documented names of fixed-name families are exactly what the family plans; the others come from name()', async () => {
  const docs = docsTable();
  for (const id of ['schema-parity', 'isolation', 'large-objects'])
    expect([...(await plannedNames(id))].sort(), id).toEqual([...docs.get(id)!].sort());
  for (const n of await plannedNames('phases')) expect(docs.get('phases'), n).toContain(n);
  const examples: Record<string, unknown> = {
    'row-counts': users,
    checksums: { table: users },
    orphans: plan.relations[0],
    'path-prefix': plan.assetColumns[0],
    health: { path: '/health' },
  };
  for (const [id, subject] of Object.entries(examples))
    expect(docs.get(id), id).toContain(
      familyById(id).name(subject).replace('gallery_items.storage_dir', 'gallery_items.storage_dir'),
    );
});

test('docs/checks.md: every check its archive-coverage table names belongs to a family, and a schema kind is one the family plans', async () => {
  const md = fs.readFileSync(path.join(PROJECT_ROOT, 'docs/checks.md'), 'utf8');
  const named = [...md.matchAll(/^\| `[A-Z][A-Z ]*` \| `([^`]+)` \|/gm)].map((m) => m[1]);
  expect(named.length).toBeGreaterThan(20);
  const schema = await plannedNames('schema-parity');
  for (const n of new Set(named)) {
    expect(familyOfTest(n), `"${n}" in docs/checks.md`).toBeDefined();
    if (familyOfTest(n)!.id === 'schema-parity') expect(schema, n).toContain(n);
  }
});

test('a skipped check has one stable name everywhere: the reason is its skip note, never part of the name', async () => {
  // A context in which each family skips something: no source, no health probe, no asset column, no archive.
  const bare = parseConfig(
    { DST_DATABASE_URL: 'postgresql://u@127.0.0.1:5/t', DST_ASSETS_DIR: '/tmp/x', HEALTH_CHECK: '0', CHECKSUM: 'off' },
    { mode: 'verify-only' },
  );
  const phases = phaseSchedule(bare).map((p) =>
    p.wanted ? { name: p.name, status: 'ok' as const } : { name: p.name, status: 'skipped' as const, reason: p.whyNot },
  );
  const empty = { ...plan, tables: [], relations: [], assetColumns: [] } as CheckPlan;
  const ctx = checkContext(
    { runId: 'unit', mode: 'verify-only', workDir: '/nonexistent', phaseNames: PHASES, phases, plan: empty },
    {},
    bare,
  );
  const skipped: string[] = [];
  try {
    for (const id of FROM_PLAN)
      for (const t of await plannedTests(familyById(id), ctx)) {
        if (t.run) continue;
        skipped.push(t.name);
        expect(t.skipReason, `${id}: "${t.name}" has no reason`).toBeTruthy();
        expect(splitSkipReason(t.name).name, `${id}: "${t.name}" carries its reason in the name`).toBe(t.name);
        expect(t.name, `${id}: "${t.name}" ends with a parenthesised reason`).not.toMatch(/ \([^()]*[ =][^()]*\)$/);
        expect(familyOfTest(t.name)?.id, `"${t.name}"`).toBe(id);
      }
  } finally {
    await closePools();
  }
  for (const n of ['phase mirror', 'large objects', 'schema coverage', 'health GET /health', 'path prefix'])
    expect(skipped, n).toContain(n);
  // The older `name (reason)` entry form is split in one place; the newer form is taken as given.
  expect(skipEntry({ skip: 'row counts (no tables found in the source)' })).toEqual({
    name: 'row counts',
    reason: 'no tables found in the source',
  });
  // A reason without a space cannot be told from a name's own parentheses: it must be given as `reason`.
  expect(skipEntry({ skip: 'checksums (CHECKSUM=off)' })).toEqual({ name: 'checksums (CHECKSUM=off)' });
  expect(skipEntry({ skip: 'large objects', reason: 'x (y)' })).toEqual({ name: 'large objects', reason: 'x (y)' });
});
