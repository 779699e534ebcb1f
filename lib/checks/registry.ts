import { phaseSchedule, type Config } from '../core/config.ts';
import { displayTable } from '../core/ident.ts';
import type { CheckPlan } from '../core/state.ts';
import { relationDisplay } from './discovery.ts';
import { KINDS } from './schema-parity.ts';

/**
 * The check families: one entry per family, the single list that `--dry-run`, `--list`, `--select`/`--exclude`, the
 * bench, the demo faults, JUnit's classname and the docs' check-name table are read from. A unit test
 * (test/unit/checks/registry.test.ts) fails when `specs/`, this list and docs/architecture.md disagree.
 *
 * Adding a family: an entry here + its module in lib/checks/ + its spec in specs/ + its test + a row in the docs.
 */

/** What a family's dry-run lines are made from: the configuration and the plan discovery made (read-only). */
export interface PlanInput {
  config: Config;
  plan: CheckPlan;
  /** True when the run would restore first: subjects missing in the target now will exist then. */
  restoring: boolean;
  /**
   * When restoring: the asset columns (display names) missing in the target that the source has, i.e. that the
   * restore creates. Undefined: not known (no source database), every missing column is assumed to come with it.
   */
  restoreCreates?: ReadonlySet<string>;
}

/** A family's part of the dry-run: one summary line, then the checks it would run (names as the spec gives them). */
export interface PlanLines {
  /** After the family label: `5 tables, from source`. */
  head: string;
  /** Test names, or a description in parentheses where the subjects are read from the catalogs only at run time. */
  checks: string[];
}

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
  /**
   * The family's lines in `rehearse --dry-run`, from the configuration and the discovered plan; pure (no database).
   * Families whose subjects are read from the catalogs at run time (sequences, pgvector) describe them instead;
   * `rehearse --list` gives their exact names.
   */
  planLines(input: PlanInput): PlanLines;
}

const noSource = '(skipped: SRC_DATABASE_URL is not set: nothing to compare the target with)';

function assetColumnNote(
  c: CheckPlan['assetColumns'][number],
  { restoring, restoreCreates }: Pick<PlanInput, 'restoring' | 'restoreCreates'>,
): string {
  if (c.exists) return '';
  if (restoring && (restoreCreates?.has(c.display) ?? true)) return ' (not in the target yet: the restore creates it)';
  const why = `${c.reason ?? 'not in the target'}${restoring ? '; not in the source either, so the restore does not create it' : ''}`;
  return ` (${why}: would be reported as skipped)`;
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
    planLines: ({ config }) => ({
      head: 'one test per copy phase, then discovery',
      checks: [
        ...phaseSchedule(config).map((p) => (p.wanted ? `phase ${p.name}` : `phase ${p.name} (skipped: ${p.whyNot})`)),
        'check discovery',
      ],
    }),
  },
  {
    id: 'row-counts',
    label: 'row counts',
    spec: 'specs/row-counts.spec.ts',
    prefixes: ['row count', 'row counts'],
    needsSource: true,
    reads: [
      'VALIDATE_TABLES',
      'ROWCOUNT_TIMEOUT_MS',
      'ROWCOUNT_MAX_DIFF',
      'ROWCOUNT_REQUIRE_EXACT',
      'ROWCOUNT_ESTIMATE_TOLERANCE',
    ],
    passesWhen:
      'exact counts differ by at most ROWCOUNT_MAX_DIFF; estimates by at most ROWCOUNT_ESTIMATE_TOLERANCE % (with a warning); an unknown estimate is not checked',
    planLines: ({ plan }) => ({
      head: `${plan.tables.length} tables, from ${plan.tablesFrom}`,
      checks: plan.tables.map((t) => `row count ${displayTable(t)}`),
    }),
  },
  {
    id: 'orphans',
    label: 'orphans',
    spec: 'specs/orphans.spec.ts',
    prefixes: ['orphans'],
    needsSource: false,
    reads: ['ORPHAN_RELATIONS', 'PREEXISTING_DEFECTS_FAIL'],
    passesWhen:
      'no new child row without its parent (declared FKs, composite keys, ORPHAN_RELATIONS); orphans the source already has warn',
    planLines: ({ plan }) => ({
      head: `${plan.relations.length} relations${plan.relationsFrom ? `, declared in the ${plan.relationsFrom}` : ''} and ORPHAN_RELATIONS`,
      checks: plan.relations.map((r) => `orphans ${relationDisplay(r)}`),
    }),
  },
  {
    id: 'assets',
    label: 'sampled assets',
    spec: 'specs/assets.spec.ts',
    prefixes: ['asset', 'assets'],
    needsSource: false,
    reads: [
      'ASSET_COLUMNS',
      'ASSETS_SAMPLE_N',
      'ASSETS_SAMPLE_SEED',
      'ASSETS_DB_PATH_PREFIX',
      'DST_ASSETS_DIR',
      'PREEXISTING_DEFECTS_FAIL',
    ],
    passesWhen:
      'the sampled path exists in DST_ASSETS_DIR, is of the right kind, readable, same size as the source (near twins named; missing in the source too: a warning)',
    planLines: ({ config, plan, ...when }) => ({
      head: `${config.assetsSampleN} sampled paths per column; the sample is drawn from the target after the restore`,
      checks: plan.assetColumns.map((c) => `asset ${c.display} <sampled path>${assetColumnNote(c, when)}`),
    }),
  },
  {
    id: 'path-prefix',
    label: 'path prefixes',
    spec: 'specs/path-prefix.spec.ts',
    prefixes: ['path prefix'],
    needsSource: false,
    reads: ['ASSET_COLUMNS', 'ASSETS_DB_PATH_PREFIX'],
    passesWhen: 'every stored path starts with ASSETS_DB_PATH_PREFIX/ and has no ..',
    planLines: ({ config, plan, ...when }) => ({
      head: `every asset path starts with ${config.assetsDbPathPrefix}/ and has no ..`,
      checks: plan.assetColumns.map((c) => `path prefix ${c.display}${assetColumnNote(c, when)}`),
    }),
  },
  {
    id: 'health',
    label: 'health probe',
    spec: 'specs/health.spec.ts',
    prefixes: ['health'],
    needsSource: false,
    reads: ['STAGING_API_BASE_URL', 'STAGING_API_PORT', 'STAGING_HEALTH_PATH', 'HEALTH_CHECK', 'HEALTH_TIMEOUT_MS'],
    passesWhen: 'the staging API answers 2xx in time',
    planLines: ({ config }) => ({
      head: config.healthCheck
        ? `GET ${config.stagingApiBaseUrl}${config.stagingHealthPath}`
        : 'skipped (HEALTH_CHECK=0)',
      checks: [
        config.healthCheck
          ? `health GET ${config.stagingHealthPath}`
          : `health GET ${config.stagingHealthPath} (skipped: HEALTH_CHECK=0)`,
      ],
    }),
  },
  {
    id: 'checksums',
    label: 'checksums',
    spec: 'specs/checksums.spec.ts',
    prefixes: ['checksum', 'checksums'],
    needsSource: true,
    reads: ['CHECKSUM', 'CHECKSUM_TABLES'],
    passesWhen: 'order-independent row hashes equal on both sides; a mismatch is narrowed to keys',
    planLines: ({ config, plan }) => {
      if (config.checksum === 'off') return { head: 'skipped (CHECKSUM=off)', checks: [] };
      if (!config.src) return { head: noSource, checks: [] };
      const tables = config.checksumTables ?? plan.tables;
      return {
        head: `${tables.length} tables${config.checksumTables ? ' (CHECKSUM_TABLES)' : ''}`,
        checks: tables.map((t) => `checksum ${displayTable(t)}`),
      };
    },
  },
  {
    id: 'schema-parity',
    label: 'schema parity',
    spec: 'specs/schema-parity.spec.ts',
    prefixes: ['schema'],
    needsSource: true,
    reads: [],
    passesWhen: 'every object kind of the schema matches the source',
    planLines: ({ config }) => {
      const kinds = KINDS.filter((k) => config.src || k.stateProblem);
      return {
        head: config.src ? `${kinds.length} object kinds, source vs target` : `target states only ${noSource}`,
        checks: [
          ...kinds.map((k) => `schema ${k.kind}`),
          phaseSchedule(config).find((p) => p.name === 'dump')?.wanted
            ? 'schema coverage'
            : 'schema coverage (skipped: no archive in this run: nothing to read object types from)',
        ],
      };
    },
  },
  {
    id: 'sequences',
    label: 'sequences',
    spec: 'specs/sequences.spec.ts',
    prefixes: ['sequence', 'sequences'],
    needsSource: false,
    reads: [],
    passesWhen: "the next value is past every value in the column and equals the source's",
    planLines: ({ config }) => ({
      head: `one per sequence owned by a column of the compared tables (read from the ${config.src ? 'source' : 'target'} catalog when the checks run)`,
      checks: ['(sequence <schema.sequence> (<schema.table>.<column>); exact names: rehearse --list)'],
    }),
  },
  {
    id: 'pgvector',
    label: 'pgvector',
    spec: 'specs/pgvector.spec.ts',
    prefixes: ['pgvector'],
    needsSource: false,
    reads: [],
    passesWhen:
      'vector/halfvec/sparsevec/bit: extension version, counts per dimension, HNSW/IVFFlat indexes alike and valid, exact nearest neighbours agree (per dimension group)',
    planLines: () => ({
      head: 'the extension version, then one per vector column of the compared tables (read from the catalogs when the checks run)',
      checks: ['pgvector extension version', '(pgvector <schema.table>.<column>; exact names: rehearse --list)'],
    }),
  },
  {
    id: 'large-objects',
    label: 'large objects',
    spec: 'specs/large-objects.spec.ts',
    prefixes: ['large objects'],
    needsSource: true,
    reads: [],
    passesWhen: 'the same large objects (by OID) on both sides, each with the same size and md5',
    planLines: ({ config }) =>
      config.src
        ? { head: 'one check of every large object (OID, size, md5), source vs target', checks: ['large objects'] }
        : { head: noSource, checks: [] },
  },
  {
    id: 'asset-census',
    label: 'asset census',
    spec: 'specs/asset-census.spec.ts',
    prefixes: ['asset census'],
    needsSource: false,
    reads: [
      'ASSET_COLUMNS',
      'ASSETS_DB_PATH_PREFIX',
      'DST_ASSETS_DIR',
      'SRC_ASSETS_DIR',
      'ASSETS_UNREFERENCED_FAIL',
      'PREEXISTING_DEFECTS_FAIL',
    ],
    passesWhen:
      'every stored path (not just the sample) resolves with the same resolver as the sampled check; dangling in the source too: a warning; unreferenced files warned about',
    planLines: ({ config, plan, ...when }) => ({
      head: 'every stored path of each asset column against the whole tree, not just the sample',
      checks: [
        ...plan.assetColumns.map((c) => `asset census ${c.display}${assetColumnNote(c, when)}`),
        'asset census unreferenced files under DST_ASSETS_DIR',
        !config.srcAssetsDir || config.srcAssetsRemote
          ? `asset census sampled files size and sha256 (source = target) (skipped: ${config.srcAssetsDir ? 'SRC_ASSETS_DIR is remote' : 'SRC_ASSETS_DIR is not set'})`
          : 'asset census sampled files size and sha256 (source = target)',
      ],
    }),
  },
  {
    id: 'isolation',
    label: 'staging isolation',
    spec: 'specs/isolation.spec.ts',
    prefixes: ['isolation'],
    needsSource: false,
    reads: ['ISOLATION'],
    passesWhen:
      "nothing on the target reaches the source or another server (foreign servers, user mappings, subscriptions, connection strings in code) unless detached or ISOLATION=keep; every database / role setting (pg_db_role_setting) equals the source's, cosmetic ones excepted",
    planLines: () => ({
      head: 'what on the target could reach another server, and the behaviour settings',
      checks: [
        'isolation foreign servers and user mappings',
        'isolation subscriptions',
        'isolation publications',
        'isolation connection strings in functions and views',
        'isolation database and role settings (pg_db_role_setting)',
      ],
    }),
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
