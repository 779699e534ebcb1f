/**
 * The named faults of `npm run demo -- --break <fault>`: each models one real migration defect, seeded so that it
 * survives the rehearsal's own copy (dump → restore → rsync) and is then caught by the checks.
 *
 * The rehearsal copies the SOURCE, so every fault is seeded on the source side (or in the operator's inputs) before
 * the rehearsal starts, the way the defect arises in a real migration:
 * - missing-file: a row references a file that is not in the source tree (lost upload); rsync cannot bring it.
 * - orphan: the legacy database lacks a foreign key and holds a row whose parent is gone; the operator declares the
 *   relation in ORPHAN_RELATIONS (as for any undeclared relation), and the orphan check finds the row on the target.
 *   These two are defects the source already has, which the checks report as warnings by default; the demo sets
 *   PREEXISTING_DEFECTS_FAIL=1, as an operator who wants them to block would.
 * - row-loss: the operator restores an existing dump (SRC_DB_DUMP_PATH) and the source takes writes after that dump
 *   was made (no write freeze), so the target lacks the newer rows; the row count comparison catches it.
 * - bad-prefix: a row stores the host path instead of the container path (`/root/dockers/para/data/server/.data/...`
 *   instead of `/app/.data/...`); the path-prefix check catches it (and the path is never read).
 * - health-down: nothing listens on the staging API's health port.
 */
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { familyById, familyOfTest } from '../checks/registry.ts';
import { libpqEnv, parseDsn } from '../core/dsn.ts';
import { assetBytes } from './fixture.ts';
import { clusterUrl, freePort, withClient, type ClusterInfo } from './clusters.ts';

export const FAULTS = ['missing-file', 'orphan', 'row-loss', 'bad-prefix', 'health-down'] as const;
export type FaultName = (typeof FAULTS)[number];

export function isFault(name: string): name is FaultName {
  return (FAULTS as readonly string[]).includes(name);
}

export interface FaultContext {
  source: ClusterInfo;
  sourceDb: string;
  /** The source `.data` root on disk (stands for `prefix`). */
  sourceAssets: string;
  prefix: string;
  /** A scratch directory of the demo (for the row-loss dump). */
  scratch: string;
}

/** Which check families (registry ids, lib/checks/registry.ts) a fault must turn red. */
export interface FaultExpectation {
  /** The family that must report the fault (a registry id). */
  family: string;
  /** Other families (registry ids) that may also fail, for the same culprit only (another view of the same defect). */
  alsoBy: string[];
  /** Matches the name of every failing test that is about this fault. */
  culprit: RegExp;
}

export interface AppliedFault {
  name: FaultName;
  /** One line for the console: what was broken and how. */
  description: string;
  /** Variables the operator sets because of this situation (added to the rehearsal's environment). */
  env: Record<string, string>;
  /** No health endpoint must be started. */
  healthDown: boolean;
  expect: FaultExpectation;
}

/**
 * What each fault must turn red, and nothing else. Some defects are seen by more than one check, each for the same
 * culprit: rows missing on the target also change that table's content checksum; a referenced file that is missing is
 * found by the sampled-asset check and by the census of the whole column; a path outside the prefix is also refused
 * by those two (it is never read).
 */
export const FAULT_EXPECTATIONS: Record<FaultName, FaultExpectation> = {
  'missing-file': { family: 'assets', alsoBy: ['asset-census'], culprit: /ugc_assets\.storage_path/ },
  orphan: { family: 'orphans', alsoBy: [], culprit: /ugc_assets\(user_id\) -> users\(id\)/ },
  'row-loss': { family: 'row-counts', alsoBy: ['checksums'], culprit: /\bpublic\.galleries\b/ },
  'bad-prefix': { family: 'path-prefix', alsoBy: ['assets', 'asset-census'], culprit: /ugc_assets\.storage_path/ },
  'health-down': { family: 'health', alsoBy: [], culprit: /^health\b/ },
};
// Every family named above must be a registered one (familyById throws, naming the known ids, for a typo).
for (const e of Object.values(FAULT_EXPECTATIONS)) for (const id of [e.family, ...e.alsoBy]) familyById(id);

/** The family of a reported check (its test name, by the registry), or undefined for a name no family claims. */
export function reportingFamily(testName: string): string | undefined {
  return familyOfTest(testName)?.id;
}

/** The first ugc_assets row (the fixture always has one): the culprit of the asset faults. */
async function firstUgcAsset(ctx: FaultContext): Promise<{ id: number; path: string }> {
  return withClient(ctx.source, ctx.sourceDb, async (c) => {
    const r = await c.query<{ id: string; storage_path: string }>(
      'SELECT id, storage_path FROM ugc_assets ORDER BY id LIMIT 1',
    );
    if (!r.rows.length) throw new Error('the demo fixture has no ugc_assets row to break');
    return { id: Number(r.rows[0].id), path: r.rows[0].storage_path };
  });
}

function toDisk(ctx: FaultContext, dbPath: string): string {
  return path.join(ctx.sourceAssets, dbPath.slice(ctx.prefix.length));
}

/** What seeding a fault did: the AppliedFault without its name and expectation. */
type SeededFault = Omit<AppliedFault, 'name' | 'expect'>;

/** A file the source references, deleted from the source tree. */
async function seedMissingFile(ctx: FaultContext): Promise<SeededFault> {
  const asset = await firstUgcAsset(ctx);
  fs.rmSync(toDisk(ctx, asset.path));
  return {
    healthDown: false,
    env: { PREEXISTING_DEFECTS_FAIL: '1' },
    description: `deleted ${asset.path} from the source asset tree (ugc_assets id ${asset.id} still references it); PREEXISTING_DEFECTS_FAIL=1 makes this defect of the source fail`,
  };
}

/** A ugc_assets row whose user does not exist (its foreign key dropped), declared in ORPHAN_RELATIONS. */
async function seedOrphan(ctx: FaultContext): Promise<SeededFault> {
  const parentless = await withClient(ctx.source, ctx.sourceDb, async (c) => {
    await c.query('ALTER TABLE ugc_assets DROP CONSTRAINT IF EXISTS ugc_assets_user_id_fkey');
    const missing = Number(
      (await c.query<{ n: string }>('SELECT coalesce(max(id), 0) + 1000 AS n FROM users')).rows[0].n,
    );
    const p = `${ctx.prefix}/ugc/${missing}/orphan upload.jpg`;
    await c.query('INSERT INTO ugc_assets (user_id, storage_path, sha256) VALUES ($1, $2, md5($2))', [missing, p]);
    return { user: missing, path: p };
  });
  // The orphan row's file exists, so only the relation is wrong.
  const file = toDisk(ctx, parentless.path);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, assetBytes(parentless.path));
  return {
    healthDown: false,
    env: { ORPHAN_RELATIONS: 'ugc_assets.user_id->users.id', PREEXISTING_DEFECTS_FAIL: '1' },
    description: `dropped the foreign key ugc_assets(user_id) → users(id) in the source and inserted a ugc_assets row for user ${parentless.user}, who does not exist; the relation is declared in ORPHAN_RELATIONS, and PREEXISTING_DEFECTS_FAIL=1 makes this defect of the source fail`,
  };
}

/** A dump of the source, then rows the source took after it (no write freeze): the rehearsal restores the dump. */
async function seedRowLoss(ctx: FaultContext): Promise<SeededFault> {
  const dump = path.join(ctx.scratch, `${ctx.sourceDb}.dump`);
  const d = parseDsn(clusterUrl(ctx.source, ctx.sourceDb));
  // One pg_dump run to its end (execa rejects on a non-zero exit with the tool's stderr); the environment is exactly
  // PATH and the source's libpq variables, nothing inherited.
  await execa('pg_dump', ['--format=custom', '--no-owner', '--no-acl', `--file=${dump}`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...libpqEnv(d) },
    extendEnv: false,
  });
  const late = await withClient(ctx.source, ctx.sourceDb, async (c) => {
    // galleries has a natural key (no sequence): only the row set differs, not a sequence position.
    const r = await c.query(`INSERT INTO galleries (owner_id, slug, title)
      SELECT id, 'late-' || id, 'Created after the dump' FROM users ORDER BY id LIMIT 3`);
    return r.rowCount ?? 0;
  });
  return {
    healthDown: false,
    env: { SRC_DB_DUMP_PATH: dump },
    description: `dumped the source to ${dump}, then the source took ${late} more galleries rows (no write freeze); the rehearsal restores that dump (SRC_DB_DUMP_PATH)`,
  };
}

/** A stored path that names the production host's tree instead of the asset prefix. */
async function seedBadPrefix(ctx: FaultContext): Promise<SeededFault> {
  const asset = await firstUgcAsset(ctx);
  const hostPath = `/root/dockers/para/data/server/.data${asset.path.slice(ctx.prefix.length)}`;
  await withClient(ctx.source, ctx.sourceDb, (c) =>
    c.query('UPDATE ugc_assets SET storage_path = $1 WHERE id = $2', [hostPath, asset.id]),
  );
  return {
    healthDown: false,
    env: {},
    description: `ugc_assets id ${asset.id} now stores the host path ${hostPath} instead of ${asset.path}`,
  };
}

/** A staging API base URL where nothing listens. */
async function seedHealthDown(ctx: FaultContext): Promise<SeededFault> {
  const port = await freePort();
  return {
    healthDown: true,
    env: { STAGING_API_BASE_URL: `http://127.0.0.1:${port}` },
    description: `no health endpoint: nothing listens on 127.0.0.1:${port}`,
  };
}

/** How each fault is seeded into the demo's source side. */
const SEEDERS: Record<FaultName, (ctx: FaultContext) => Promise<SeededFault>> = {
  'missing-file': seedMissingFile,
  orphan: seedOrphan,
  'row-loss': seedRowLoss,
  'bad-prefix': seedBadPrefix,
  'health-down': seedHealthDown,
};

/** Seed `name` into the demo's source side. */
export async function applyFault(name: FaultName, ctx: FaultContext): Promise<AppliedFault> {
  return { name, ...(await SEEDERS[name](ctx)), expect: FAULT_EXPECTATIONS[name] };
}
