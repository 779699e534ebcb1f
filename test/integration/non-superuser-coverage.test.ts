/**
 * Two fixes of issue 26 that only a process without superuser powers shows (the CI runs as root):
 * (a) a sampled source asset that cannot be read (chmod 000) is "not compared, the source could not be read"
 *     (`sourceUnreadable`: a warning of the sample check), not a failure of the target. Root reads a chmod-000 file, so
 *     the comparison runs in a child process (the compiled build, bin/build.mjs) that has dropped every capability
 *     (`setpriv --bounding-set=-all --inh-caps=-all`): without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH uid 0 is bound by
 *     the mode bits like any user, and it can still read the build and the test's own files (owned by it). A uid
 *     switch (e.g. to `nobody`) would also need every folder on the way readable by that user (the build is 0700).
 * (b) free connection slots counted for a NOSUPERUSER role (lib/core/db.ts freeConnectionSlots): other roles'
 *     sessions show `backend_type` NULL to it without pg_read_all_stats, and must still be counted.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { expect, onTestFinished, test } from 'vitest';
import { PROJECT_ROOT } from '../../lib/core/project.ts';
import { awkwardPassword, clusterUrl, connect, withClient } from '../../lib/sandbox/clusters.ts';
import { freeConnectionSlots, withConnection } from '../../lib/core/db.ts';
import { parseDsn } from '../../lib/core/dsn.ts';
import { privateTarget } from '../helpers/hardening.ts';
import { uniqueName } from '../helpers/sandbox.ts';
import { tempDir } from '../helpers/scenario.ts';

/** Run `compareSampledFiles` of the build in a child without any capability; its JSON result. */
function compareWithoutCapabilities(build: string, srcRoot: string, dstRoot: string, items: string[]) {
  const census = pathToFileURL(path.join(build, 'lib/checks/families/asset-census/census.js')).href;
  const script = `const { compareSampledFiles } = await import(${JSON.stringify(census)});
const r = await compareSampledFiles(${JSON.stringify(srcRoot)}, ${JSON.stringify(dstRoot)}, 'uploads', ${JSON.stringify(items)});
process.stdout.write(JSON.stringify(r));`;
  const r = spawnSync(
    'setpriv',
    ['--bounding-set=-all', '--inh-caps=-all', '--', process.execPath, '--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as {
    compared: Array<{ path: string; problem?: string; notCompared?: boolean; sourceUnreadable?: boolean }>;
    skipped: string[];
  };
}

test('(a) a chmod-000 source asset, read by a process without superuser powers: sourceUnreadable (a warning), the readable one compared', async () => {
  // The launcher's build step (bin/build.mjs, plain JavaScript without type declarations).
  const builder = pathToFileURL(path.join(PROJECT_ROOT, 'bin', 'build.mjs')).href;
  const build = await ((await import(builder)) as { ensureBuild(): Promise<string> }).ensureBuild();
  const root = tempDir('rehearsal-unreadable-');
  for (const side of ['src', 'dst']) {
    fs.mkdirSync(path.join(root, side, 'a'), { recursive: true });
    fs.writeFileSync(path.join(root, side, 'a', 'ok.pdf'), 'same bytes');
    fs.writeFileSync(path.join(root, side, 'a', 'locked.pdf'), 'invoice');
  }
  fs.chmodSync(path.join(root, 'src', 'a', 'locked.pdf'), 0o000);
  onTestFinished(() => fs.chmodSync(path.join(root, 'src', 'a', 'locked.pdf'), 0o600));
  const r = compareWithoutCapabilities(build, path.join(root, 'src'), path.join(root, 'dst'), [
    'uploads/a/ok.pdf',
    'uploads/a/locked.pdf',
  ]);
  const byPath = Object.fromEntries(r.compared.map((c) => [c.path, c]));
  expect(byPath['uploads/a/ok.pdf'].problem).toBeUndefined();
  expect(byPath['uploads/a/locked.pdf']).toMatchObject({ notCompared: true, sourceUnreadable: true });
  expect(byPath['uploads/a/locked.pdf'].problem).toMatch(/^source file .*permission denied.*: not compared$/i);
  // The same comparison as root (this process) reads the file: the child really is what makes it unreadable.
  const { compareSampledFiles } = await import('../../lib/checks/families/asset-census/census.ts');
  const asRoot = await compareSampledFiles(path.join(root, 'src'), path.join(root, 'dst'), 'uploads', [
    'uploads/a/locked.pdf',
  ]);
  expect(asRoot.compared[0].problem).toBeUndefined();
}, 120_000);

test('(b) free slots for a NOSUPERUSER role while another role holds idle sessions (max_connections=10): counted as a superuser counts them, less the reserved slots', async () => {
  const { cluster: t } = await privateTarget({ maxConnections: 10 });
  const role = uniqueName('app');
  const password = awkwardPassword();
  await withClient(t, 'postgres', (c) =>
    c.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '${password.replace(/'/g, "''")}'`),
  );
  const idle: pg.Client[] = [];
  try {
    // Another role's (the superuser's) idle sessions: 4 of the 10 slots.
    for (let i = 0; i < 4; i++) {
      const c = await connect(t, 'postgres');
      c.on('error', () => {});
      idle.push(c);
    }
    const dsn = parseDsn(clusterUrl({ ...t, user: role, password }, 'postgres'));
    const facts = (
      await idle[0].query(`SELECT current_setting('superuser_reserved_connections')::int AS su,
        coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) AS res,
        (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS clients`)
    ).rows[0] as { su: number; res: number; clients: number };
    expect(facts.clients).toBe(4);
    // The fault the fix is about: to this role the other sessions are not client backends (backend_type NULL).
    const seen = await withConnection(dsn, async (c) => {
      const r = await c.query(
        `SELECT count(*) FILTER (WHERE backend_type = 'client backend')::int AS typed, count(*)::int AS all FROM pg_catalog.pg_stat_activity WHERE usesysid IS NOT NULL AND datid IS NOT NULL`,
      );
      return r.rows[0] as { typed: number; all: number };
    });
    expect(seen).toEqual({ typed: 1, all: 5 });
    // 10 − the 4 idle sessions − the reserved slots a non-superuser cannot use (its asking connection's slot is free
    // again once it ends). Counting only the sessions it sees as client backends would say 4 more.
    const free = await freeConnectionSlots(dsn, { connectTimeoutMs: 10_000 });
    expect(free).toBe(10 - 4 - facts.su - facts.res);
    // The superuser's view agrees on the sessions (no reserved slots subtracted).
    const asSuper = await freeConnectionSlots(parseDsn(clusterUrl(t, 'postgres')), { connectTimeoutMs: 10_000 });
    expect(asSuper).toBe(10 - 4);
  } finally {
    for (const c of idle) await c.end().catch(() => {});
    await withClient(t, 'postgres', (c) => c.query(`DROP ROLE IF EXISTS ${role}`)).catch(() => {});
  }
}, 240_000);
