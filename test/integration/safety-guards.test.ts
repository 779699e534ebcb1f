/**
 * Attacks on the destructive steps, each against throw-away databases and directories: the source reached through an
 * alias (a TCP proxy on loopback) with pg_control_system() revoked, a "production" target under DST_DROP_SCHEMA=1,
 * ASSETS_DELETE=1 on an arbitrary directory, DST_ASSETS_DIR=/, and the markers that make `=1` acceptable again.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect, onTestFinished, test } from 'vitest';
import { formatUrl } from '../../lib/core/dsn.ts';
import { withClient } from '../../lib/sandbox/clusters.ts';
import { detailsOf } from '../../lib/phases/phase.ts';
import { describe, failedNames } from '../helpers/family.ts';
import { configRefusal, gateResult, startRefusal } from '../helpers/operator.ts';
import { copyInProcess, expectCopied, familiesOn, preflightOnly } from '../helpers/pipeline.ts';
import { rehearse, scenario, stateOf, tempDir } from '../helpers/scenario.ts';
import { tcpProxy } from '../helpers/tcp-proxy.ts';

test('source reached as the target through a proxy, pg_control_system() revoked: DST_DROP_SCHEMA is refused (exit 2), the source is untouched', async () => {
  const s = await scenario();
  const role = `alias_${randomBytes(3).toString('hex')}`;
  const pw = `Al1as-${randomBytes(6).toString('hex')}`;
  await s.src.query(`CREATE ROLE ${role} LOGIN PASSWORD '${pw}'`);
  onTestFinished(async () => {
    await withClient(s.src.cluster, s.src.cluster.database, (c) => c.query(`DROP ROLE IF EXISTS ${role}`)).catch(
      () => {},
    );
  });
  // The target role cannot identify the cluster: the old fallback compared host strings (different port → "different").
  await s.src.query('REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC');
  await s.src.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
  onTestFinished(async () => {
    await s.src.query(`REVOKE ALL ON SCHEMA public FROM ${role}`).catch(() => {});
  });
  const port = await tcpProxy(s.src.cluster.port);
  const alias = formatUrl({
    host: '127.0.0.1',
    port,
    database: s.src.name,
    user: role,
    password: pw,
    params: {},
    format: 'url',
  });
  const before = (await s.src.query('SELECT count(*)::int AS n FROM users')).rows[0].n;
  const r = await rehearse([], { ...s.env, DST_DATABASE_URL: alias, DST_DROP_SCHEMA: '1', SRC_ASSETS_DIR: undefined });
  expect(r.code, r.output).toBe(2);
  expect(r.output).toMatch(/reach the same database \(an advisory lock held on the source connection is seen as taken/);
  expect((await s.src.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(before);
  expect(stateOf(s)?.phases.find((p) => p.name === 'restore')?.status).toBe('skipped');
});

test('a "production" target (comment DO NOT TOUCH, 500 payments) under DST_DROP_SCHEMA=1: the dry run and the run list the tables with row counts and refuse (exit 2); nothing dropped', async () => {
  const s = await scenario();
  await s.dst.query('CREATE TABLE public.payments (id int PRIMARY KEY, amount numeric)');
  await s.dst.query('INSERT INTO public.payments SELECT g, g * 1.5 FROM generate_series(1, 500) g');
  await s.dst.query(`COMMENT ON DATABASE ${s.dst.name} IS 'DO NOT TOUCH'`);
  const env = { ...s.env, DST_DROP_SCHEMA: '1', SRC_ASSETS_DIR: undefined };

  const dry = await rehearse(['--dry-run'], env);
  expect(dry.code, dry.output).toBe(2);
  expect(dry.stdout).toMatch(
    /DST_DROP_SCHEMA would drop 1 table\(s\) of public in "\w+":\s+public\.payments: 500 rows/,
  );
  expect(dry.stdout).toMatch(new RegExp(`confirm with DST_DROP_SCHEMA=${s.dst.name}`));

  // The run's refusal: the preflight gate a full run calls first (lib/phases/preflight-gate.ts), in-process; its
  // refusal is the run's exit 2 (a whole run refused by that gate: the proxy test above). The tables it lists are the
  // lines the run prints (`[preflight] …`), recorded in the phase's details.
  const r = await preflightOnly(env);
  expect(r, r.reason).toMatchObject({ status: 'failed', rehearseExitCode: 2 });
  expect(detailsOf(r).destructive?.join('\n')).toMatch(/public\.payments: 500 rows/);
  expect(r.reason).toMatch(/DST_DROP_SCHEMA=1 only drops a database this tool restored before/);
  expect((await s.dst.query('SELECT count(*)::int AS n FROM public.payments')).rows[0].n).toBe(500);

  // A confirmation naming another database is refused too, by the same gate.
  const wrong = await gateResult({ ...env, DST_DROP_SCHEMA: 'production' }, 'full');
  expect(wrong.code, wrong.reason).toBe(2);
  expect(wrong.reason).toMatch(/DST_DROP_SCHEMA="production" does not name the target database/);
  expect((await s.dst.query('SELECT count(*)::int AS n FROM public.payments')).rows[0].n).toBe(500);
});

test('ASSETS_DELETE=1 into a directory the tool never mirrored (holding .ssh/authorized_keys): refused with the count from an rsync dry run; nothing deleted', async () => {
  const s = await scenario();
  const keys = path.join(s.dstAssets, '.ssh', 'authorized_keys');
  fs.mkdirSync(path.dirname(keys), { recursive: true });
  fs.writeFileSync(keys, 'ssh-ed25519 AAAA... ops@host\n');
  const env = { ...s.env, ASSETS_DELETE: '1' };
  const dry = await rehearse(['--dry-run'], env);
  expect(dry.code, dry.output).toBe(2);
  expect(dry.stdout).toMatch(
    /ASSETS_DELETE would delete 2 entries \(files and directories\) in \S+ \(rsync --dry-run\)/,
  );
  expect(dry.stdout).toMatch(/ASSETS_DELETE=1 only deletes in a directory this tool mirrored before/);
  // The run's refusal: the preflight gate a full run calls first (lib/phases/preflight-gate.ts), in-process.
  const r = await gateResult(env, 'full');
  expect(r.code, r.reason).toBe(2);
  expect(r.reason).toMatch(/ASSETS_DELETE=1 only deletes in a directory this tool mirrored before/);
  expect(fs.readFileSync(keys, 'utf8')).toMatch(/ops@host/);
});

test('DST_ASSETS_DIR=/ (or the home directory) is refused outright, even in a dry run', async () => {
  const s = await scenario({ assets: false });
  const want = /DST_ASSETS_DIR=".*" is (the root directory|a system directory|a top-level|the home)/;
  // `/` through the CLI (exit 2, the message); the other paths by the configuration parser the CLI calls first.
  const r = await rehearse(['--dry-run'], { ...s.env, DST_ASSETS_DIR: '/' });
  expect(r.code, r.output).toBe(2);
  expect(r.output).toMatch(want);
  for (const dir of ['/etc', process.env.HOME ?? '/root']) {
    const refused = configRefusal({ ...s.env, DST_ASSETS_DIR: dir }, 'dry-run');
    expect(refused?.code, dir).toBe(2);
    expect(refused?.output).toMatch(want);
  }
});

test('after a run restored and mirrored the target, DST_DROP_SCHEMA=1 and ASSETS_DELETE=1 are accepted for it (markers); WORK_DIR is 0700 and the dump 0600', async () => {
  const s = await scenario();
  // The copy phases of a full run, in-process (lib/phases/pipeline.ts copySteps, as global setup runs them): the
  // restore and the mirror leave the marker. The whole run's WORK_DIR (0700 whatever the umask, every file 0600):
  // test/integration/hardening-workdir.test.ts.
  const first = await copyInProcess(s.env);
  expectCopied(first);
  expect(fs.statSync(s.workDir).mode & 0o777).toBe(0o700);
  const dump = detailsOf(first.find((p) => p.name === 'dump')).renamedTo as string;
  expect(fs.statSync(dump).mode & 0o777).toBe(0o600);
  for (const log of fs.readdirSync(path.join(s.workDir, 'logs')))
    expect(fs.statSync(path.join(s.workDir, 'logs', log)).mode & 0o077, log).toBe(0);
  // The marker is the database comment (catalog, not a session setting): invisible to the schema (parity stays green).
  const marks = await s.dst.query(`SELECT pg_catalog.shobj_description(d.oid, 'pg_database') AS c
    FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()`);
  const marker = JSON.parse(marks.rows[0].c).migration_rehearsal;
  // This copy's run (test/helpers/pipeline.ts names it in-process-<uuid>; a whole run's id is its state's).
  expect(marker.runId).toMatch(/^in-process-[0-9a-f-]{36}$/);
  expect(marker.kind).toBe('rehearsal');
  expect(marker.assetsDir).toBe(fs.realpathSync(s.dstAssets));
  const parity = await familiesOn(s, ['schema-parity']);
  expect(parity.length).toBeGreaterThan(0);
  expect(failedNames(parity), describe(parity)).toEqual([]);

  fs.writeFileSync(path.join(s.dstAssets, 'stale.txt'), 'x');
  // The copy phases decide what is dropped and deleted: the preflight says what (the lines a run prints), the restore
  // and the mirror do it.
  const second = await copyInProcess({ ...s.env, DST_DROP_SCHEMA: '1', ASSETS_DELETE: '1' });
  expectCopied(second);
  const said = detailsOf(second[0]).destructive?.join('\n');
  expect(said).toMatch(/DST_DROP_SCHEMA would drop \d+ table\(s\) of public/);
  expect(said).toMatch(/ASSETS_DELETE would delete 1 entries \(files and directories\)/);
  expect(fs.existsSync(path.join(s.dstAssets, 'stale.txt'))).toBe(false);
});

test('DST_ASSETS_DIR through a symlink to /etc or to / is refused like the real path, naming both (exit 2, dry run included); nothing touched', async () => {
  const s = await scenario();
  const links = tempDir('rehearsal-links-');
  fs.symlinkSync('/etc', path.join(links, 'etclink'));
  fs.symlinkSync('/', path.join(links, 'rootlink'));
  const ssl = path.join(links, 'etclink', 'ssl');
  const dry = await rehearse(['--dry-run'], { ...s.env, DST_ASSETS_DIR: ssl, ASSETS_DELETE: ssl });
  expect(dry.code, dry.output).toBe(2);
  expect(dry.output).toContain(
    `DST_ASSETS_DIR="${ssl}" leads to ${fs.realpathSync('/etc/ssl')} (through a symbolic link), which is a system directory`,
  );
  expect(dry.output).not.toMatch(/would delete|rsync/);
  // A link to `/`: a real run through the CLI, the dry run by the configuration parser the CLI calls first.
  const rootLink = { ...s.env, DST_ASSETS_DIR: path.join(links, 'rootlink') };
  const r = await rehearse([], rootLink);
  const rootDry = configRefusal(rootLink, 'dry-run');
  for (const refused of [r, rootDry]) {
    expect(refused?.code, refused?.output).toBe(2);
    expect(refused?.output).toMatch(
      /DST_ASSETS_DIR="\S+\/rootlink" leads to \/ \(through a symbolic link\), which is the root/,
    );
  }
  // A directory that does not exist yet, below the link: judged by its nearest existing ancestor (in-process).
  const later = configRefusal({ ...s.env, DST_ASSETS_DIR: path.join(links, 'etclink', 'new', 'data') }, 'dry-run')!;
  expect(later?.code, later?.output).toBe(2);
  expect(later.output).toMatch(/leads to \/etc\/new\/data \(through a symbolic link\), which is a system directory/);
  expect(fs.existsSync('/etc/new')).toBe(false);
  expect(fs.existsSync(s.workDir)).toBe(false);
});

test('an unusable WORK_DIR or REPORTS_DIR is exit 2 with the reason before anything is written: /proc, /sys, a read-only mount, a regular file', async () => {
  const s = await scenario();
  const ro = tempDir('rehearsal-ro-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', ro]);
  try {
    fs.mkdirSync(path.join(ro, 'existing'));
    execFileSync('mount', ['-o', 'remount,ro', ro]);
    const file = path.join(s.tmp, 'a-file');
    fs.writeFileSync(file, 'not a directory');
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ WORK_DIR: '/proc/x' }, /WORK_DIR \/proc\/x is not usable: \/proc is a virtual file system/],
      [{ WORK_DIR: '/sys/x/y' }, /WORK_DIR \/sys\/x\/y is not usable: \/sys is a virtual file system/],
      [{ REPORTS_DIR: '/proc/1/reports' }, /REPORTS_DIR \/proc\/1\/reports is not usable: \/proc is a virtual/],
      [
        { WORK_DIR: path.join(ro, 'existing') },
        /WORK_DIR \S+ is not usable: it is on a read-only file system \(EROFS\)/,
      ],
      [{ WORK_DIR: path.join(ro, 'missing', 'work') }, /WORK_DIR \S+ is not usable: .*\((EROFS|ENOENT)\)/],
      [{ WORK_DIR: file }, /WORK_DIR \S+ is not usable: it exists and is not a directory \(EEXIST\)/],
      [{ REPORTS_DIR: path.join(ro, 'reports') }, /REPORTS_DIR \S+ is not usable: .*\((EROFS|ENOENT)\)/],
    ];
    // One variant of each kind through the CLI (a virtual file system refused by the configuration; WORK_DIR and
    // REPORTS_DIR on a read-only mount, refused by the run's start); the others by the same functions in-process.
    const viaCli = new Set([0, 3, 6]);
    for (const [i, [over, want]] of cases.entries()) {
      const env = { ...s.env, ...over };
      const r = viaCli.has(i) ? await rehearse(['--verify-only'], env, { timeoutMs: 60_000 }) : await startRefusal(env);
      expect(r.code, `${JSON.stringify(over)}: ${r.output}`).toBe(2);
      expect(r.output).toMatch(want);
      expect(r.output).toMatch(/choose a writable directory/);
      expect(r.output).not.toMatch(/unexpected error|\n\s+at /);
      expect(fs.existsSync(path.join(s.reportsDir, 'runs')), r.output).toBe(false);
      expect(fs.existsSync(path.join(s.workDir, 'rehearsal.lock'))).toBe(false);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('not a directory');
  } finally {
    execFileSync('umount', ['-l', ro]);
  }
});

test('DST_DROP_SCHEMA=yes is a configuration error (not a silent 1); ASSETS_DELETE=<dir>/ is accepted and the log quotes what was set', async () => {
  const s = await scenario();
  // By the configuration parser the CLI calls first (a configuration error through the whole CLI: DST_ASSETS_DIR=/
  // above).
  for (const [name, value] of [
    ['DST_DROP_SCHEMA', 'yes'],
    ['ASSETS_DELETE', 'true'],
  ]) {
    const r = configRefusal({ ...s.env, [name]: value }, 'dry-run')!;
    expect(r?.code, r?.output).toBe(2);
    expect(r.output).toMatch(new RegExp(`configuration error: ${name}="${value}" is ambiguous: use 1 \\(.*\\), 0 \\(`));
    expect(r.output).not.toMatch(new RegExp(`${name}=1`));
  }
  fs.writeFileSync(path.join(s.dstAssets, 'stale.txt'), 'x');
  const dir = `${s.dstAssets}/`;
  // The copy phases act on the confirmations, in-process (the check families are not what this test is about); what
  // they print goes to their logs in WORK_DIR as well (lib/phases/phase.ts consoleSay).
  const phases = await copyInProcess({ ...s.env, ASSETS_DELETE: dir, DST_DROP_SCHEMA: s.dst.name, HEALTH_CHECK: '0' });
  expectCopied(phases);
  const log = phases.map((p) => fs.readFileSync(p.logFile!, 'utf8')).join('');
  expect(log).toContain(`(ASSETS_DELETE=${dir}: target files missing from the source are deleted)`);
  expect(log).toContain(`DST_DROP_SCHEMA=${s.dst.name}: drops schema(s) public`);
  expect(log).not.toMatch(/ASSETS_DELETE=1|DST_DROP_SCHEMA=1:/);
  expect(fs.existsSync(path.join(s.dstAssets, 'stale.txt'))).toBe(false);
});
