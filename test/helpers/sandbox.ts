/**
 * Per-test access to the shared sandbox clusters: fresh databases with unique names, dropped afterwards even when the
 * test fails.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import {
  clusterKeyword,
  clusterUrl,
  createDatabase,
  dropDatabase,
  withClient,
  type ClusterInfo,
  type SandboxState,
} from '../../lib/sandbox/clusters.ts';
import type pg from 'pg';
import { onTestFinished } from './concurrent.ts';

export function sandbox(): SandboxState {
  return inject('sandbox');
}

export function cluster(name: 'source' | 'target'): ClusterInfo {
  const c = sandbox().clusters[name];
  if (!c) throw new Error(`sandbox has no ${name} cluster`);
  return c;
}

export function uniqueName(prefix = 'db'): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export interface TestDb {
  cluster: ClusterInfo;
  name: string;
  url: string;
  keyword: string;
  query<T extends pg.QueryResultRow = any>(sql: string, values?: unknown[]): Promise<pg.QueryResult<T>>;
}

/** A fresh database in `which` cluster, dropped when the current test finishes. */
export async function freshDb(
  which: 'source' | 'target',
  opts: { name?: string; template?: string } = {},
): Promise<TestDb> {
  const c = cluster(which);
  const name = opts.name ?? uniqueName(which === 'source' ? 'src' : 'dst');
  await createDatabase(c, name, { template: opts.template });
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
