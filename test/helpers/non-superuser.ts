/**
 * A staging target as managed services hand it out: a database owned by a LOGIN role that is not a superuser, with
 * (optionally) `vector` installed beforehand by the DBA (a superuser). Role and database are removed afterwards.
 */
import fs from 'node:fs';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import { awkwardPassword, clusterUrl, withClient, type ClusterInfo } from '../../lib/sandbox/clusters.ts';
import { freshDbIn } from './majors.ts';
import { cluster, freshDb, uniqueName, type TestDb } from './sandbox.ts';
import { tempDir } from './scenario.ts';

export const CASES_DIR = path.resolve(import.meta.dirname, '../..', '../shared/cases');

/** The SQL of a real-world case from ../shared/cases. */
export function caseSql(file: string): string {
  return fs.readFileSync(path.join(CASES_DIR, file), 'utf8');
}

export interface OwnerTarget {
  db: TestDb;
  role: string;
  /** DST_DATABASE_URL logging in as the non-superuser owner. */
  url: string;
  password: string;
}

/**
 * A target database owned by a fresh non-superuser LOGIN role; `vector` pre-installed by the superuser if asked.
 * `cluster`: another major's cluster (test/helpers/majors.ts `useMajor`); default the shared sandbox's target.
 */
export async function ownerTarget(opts: { vector: boolean; cluster?: ClusterInfo }): Promise<OwnerTarget> {
  const t = opts.cluster ?? cluster('target');
  const role = uniqueName('app');
  const password = awkwardPassword();
  await withClient(t, t.database, (c) =>
    c.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${password.replace(/'/g, "''")}'`),
  );
  const db = opts.cluster ? await freshDbIn(opts.cluster, 'dst') : await freshDb('target');
  onTestFinished(async () => {
    await withClient(t, t.database, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${role}`);
    }).catch(() => {});
  });
  await db.query(`ALTER DATABASE ${db.name} OWNER TO ${role}`);
  if (opts.vector) await db.query('CREATE EXTENSION vector');
  return { db, role, password, url: clusterUrl({ ...t, user: role, password }, db.name) };
}

/** A source database loaded with a case's SQL, and the environment of a run without assets or health endpoint. */
export async function caseRun(sqlFile: string, target: { url: string }) {
  const src = await freshDb('source');
  await src.query(caseSql(sqlFile));
  const tmp = tempDir('rehearsal-case-');
  const workDir = path.join(tmp, 'work');
  const reportsDir = path.join(tmp, 'reports');
  fs.mkdirSync(path.join(tmp, 'dst-data'));
  return {
    src,
    workDir,
    reportsDir,
    env: {
      SRC_DATABASE_URL: src.url,
      DST_DATABASE_URL: target.url,
      DST_ASSETS_DIR: path.join(tmp, 'dst-data'),
      ASSET_COLUMNS: '',
      HEALTH_CHECK: '0',
      WORK_DIR: workDir,
      REPORTS_DIR: reportsDir,
    },
  };
}
