/**
 * The check families: one entry per family, the single list that `--dry-run`, `--list`, `--select`/`--exclude`, the
 * bench, the demo faults, JUnit's classname and the docs' check-name table are read from. A unit test
 * (test/unit/checks/registry.test.ts) fails when `specs/`, this list and docs/architecture.md disagree.
 *
 * Adding a family: an entry here + its module in lib/checks/ + its spec in specs/ + its test + a row in the docs.
 */

/** One family of checks: one spec file, one module, tests named with one of its prefixes. */
export interface CheckFamily {
  /** Stable id, kebab-case: `--select`/`--exclude` values, JUnit classname, manifest keys. */
  id: string;
  /** Human label, plural (`row counts`). */
  label: string;
  /** The spec file that defines the family's tests, relative to the project root. */
  spec: string;
  /**
   * Test-name prefixes (each followed by a space or the end of the name): a test belongs to the family whose prefix
   * is the longest match. E.g. `row count` matches `row count public.users` and `row counts (not checked)`.
   */
  prefixes: string[];
  /** Whether the family needs the source database to compare anything (it still reports `not checked` without it). */
  needsSource: boolean;
  /** The configuration variables the family reads (the env contract names). */
  reads: string[];
  /** What passes, one sentence (README "What is checked" table). */
  passesWhen: string;
}

export const FAMILIES: readonly CheckFamily[] = [
  {
    id: 'phases',
    label: 'copy phases',
    spec: 'specs/phases.spec.ts',
    prefixes: ['phase', 'check discovery'],
    needsSource: false,
    reads: [],
    passesWhen: 'each copy phase ran and succeeded (a failed phase is a red test with the reason)',
  },
  {
    id: 'row-counts',
    label: 'row counts',
    spec: 'specs/row-counts.spec.ts',
    prefixes: ['row count', 'row counts'],
    needsSource: true,
    reads: ['VALIDATE_TABLES', 'ROWCOUNT_TIMEOUT_MS', 'ROWCOUNT_MAX_DIFF', 'ROWCOUNT_REQUIRE_EXACT'],
    passesWhen: 'exact counts differ by at most ROWCOUNT_MAX_DIFF',
  },
  {
    id: 'orphans',
    label: 'orphans',
    spec: 'specs/orphans.spec.ts',
    prefixes: ['orphans'],
    needsSource: false,
    reads: ['ORPHAN_RELATIONS'],
    passesWhen: 'no child row without its parent (declared FKs, composite keys, ORPHAN_RELATIONS)',
  },
  {
    id: 'assets',
    label: 'sampled assets',
    spec: 'specs/assets.spec.ts',
    prefixes: ['asset', 'assets'],
    needsSource: false,
    reads: ['ASSET_COLUMNS', 'ASSETS_SAMPLE_N', 'ASSETS_SAMPLE_SEED', 'ASSETS_DB_PATH_PREFIX', 'DST_ASSETS_DIR'],
    passesWhen: 'the sampled path exists in DST_ASSETS_DIR, is of the right kind, readable, same size as the source',
  },
  {
    id: 'path-prefix',
    label: 'path prefixes',
    spec: 'specs/path-prefix.spec.ts',
    prefixes: ['path prefix'],
    needsSource: false,
    reads: ['ASSET_COLUMNS', 'ASSETS_DB_PATH_PREFIX'],
    passesWhen: 'every stored path starts with ASSETS_DB_PATH_PREFIX/ and has no ..',
  },
  {
    id: 'health',
    label: 'health probe',
    spec: 'specs/health.spec.ts',
    prefixes: ['health'],
    needsSource: false,
    reads: ['STAGING_API_BASE_URL', 'STAGING_API_PORT', 'STAGING_HEALTH_PATH', 'HEALTH_CHECK', 'HEALTH_TIMEOUT_MS'],
    passesWhen: 'the staging API answers 2xx in time',
  },
  {
    id: 'checksums',
    label: 'checksums',
    spec: 'specs/checksums.spec.ts',
    prefixes: ['checksum', 'checksums'],
    needsSource: true,
    reads: ['CHECKSUM', 'CHECKSUM_TABLES'],
    passesWhen: 'order-independent row hashes equal on both sides; a mismatch is narrowed to keys',
  },
  {
    id: 'schema-parity',
    label: 'schema parity',
    spec: 'specs/schema-parity.spec.ts',
    prefixes: ['schema'],
    needsSource: true,
    reads: [],
    passesWhen: 'every object kind of the schema matches the source',
  },
  {
    id: 'sequences',
    label: 'sequences',
    spec: 'specs/sequences.spec.ts',
    prefixes: ['sequence', 'sequences'],
    needsSource: false,
    reads: [],
    passesWhen: "the next value is past every value in the column and equals the source's",
  },
  {
    id: 'pgvector',
    label: 'pgvector',
    spec: 'specs/pgvector.spec.ts',
    prefixes: ['pgvector'],
    needsSource: false,
    reads: [],
    passesWhen: 'extension version, non-null counts, dims, vector indexes valid, exact nearest neighbours agree',
  },
  {
    id: 'large-objects',
    label: 'large objects',
    spec: 'specs/large-objects.spec.ts',
    prefixes: ['large objects'],
    needsSource: true,
    reads: [],
    passesWhen: 'the same large objects (by OID) on both sides, each with the same size and md5',
  },
  {
    id: 'asset-census',
    label: 'asset census',
    spec: 'specs/asset-census.spec.ts',
    prefixes: ['asset census'],
    needsSource: false,
    reads: ['ASSET_COLUMNS', 'ASSETS_DB_PATH_PREFIX', 'DST_ASSETS_DIR', 'SRC_ASSETS_DIR', 'ASSETS_UNREFERENCED_FAIL'],
    passesWhen: 'every stored path (not just the sample) resolves; unreferenced files warned about',
  },
  {
    id: 'isolation',
    label: 'staging isolation',
    spec: 'specs/isolation.spec.ts',
    prefixes: ['isolation'],
    needsSource: false,
    reads: ['ISOLATION'],
    passesWhen:
      "nothing on the target reaches the source or another server (foreign servers, user mappings, subscriptions, connection strings in code) unless detached or ISOLATION=keep; behaviour settings (pg_db_role_setting) equal the source's",
  },
];

/** The family a test name belongs to (longest matching prefix), or undefined for a name no family claims. */
export function familyOfTest(name: string): CheckFamily | undefined {
  let best: { f: CheckFamily; len: number } | undefined;
  for (const f of FAMILIES) {
    for (const p of f.prefixes) {
      if ((name === p || name.startsWith(p + ' ')) && (!best || p.length > best.len)) best = { f, len: p.length };
    }
  }
  return best?.f;
}

/** The family with this id; throws a message listing the known ids for an unknown one. */
export function familyById(id: string): CheckFamily {
  const f = FAMILIES.find((x) => x.id === id);
  if (!f) throw new Error(`unknown check family "${id}"; known: ${FAMILIES.map((x) => x.id).join(', ')}`);
  return f;
}
