/**
 * The tool wrappers and command builders in-process: secrets never in argv or in the displayed commands, rsync path
 * normalisation and remote flags, archive detection (custom file vs directory, plain SQL, garbage) on real dumps.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { parseConfig } from '../../lib/core/config.ts';
import { libpqEnv, parseDsn } from '../../lib/core/dsn.ts';
import { FIXTURE_TABLES } from '../../lib/sandbox/fixture.ts';
import { redactor } from '../../lib/core/redact.ts';
import { displayCommand } from '../../lib/core/tools.ts';
import {
  dbnameArg,
  dumpCommand,
  psqlCommand,
  rsyncCommand,
  rsyncMeaning,
  rsyncSource,
} from '../../lib/phases/commands.ts';
import { restoreCommand, restoreMode, restorePipeline } from '../../lib/phases/restore-commands.ts';
import { archiveDigest, detectArchive, inspectArchive, parseToc } from '../../lib/phases/dump.ts';
import { freshDb } from '../helpers/sandbox.ts';
import { tempDir } from '../helpers/scenario.ts';

const PW = `p'a"s@s:w/o%rd 20\\x#y?z&k=v;unit`;
const base = {
  DST_DATABASE_URL: `host=db.staging port=5433 dbname=app user=app password='${PW.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`,
  SRC_DATABASE_URL: `postgresql://app:${encodeURIComponent(PW)}@db.prod:5432/app`,
  DST_ASSETS_DIR: '/srv/staging/.data',
  SRC_ASSETS_DIR: '/srv/prod/.data',
};

test('no command carries the password in argv; the displayed form shows PGPASSWORD=*** and the libpq settings', () => {
  const c = parseConfig({ ...base, DST_DROP_SCHEMA: '1' });
  const cmds = [
    dumpCommand(c, '/w/source.dump'),
    restoreCommand(c, '/w/source.dump'),
    psqlCommand(c, 'ANALYZE'),
    restorePipeline(c, '/w/x').apply,
    rsyncCommand(c),
  ];
  for (const cmd of cmds) {
    expect(cmd.args.join(' ')).not.toContain('s@s:w');
    const shown = redactor.redact(displayCommand(cmd));
    expect(displayCommand(cmd)).not.toContain('s@s:w');
    expect(shown).toBe(displayCommand(cmd));
  }
  expect(dumpCommand(c, '/w/source.dump').env.PGPASSWORD).toBe(PW);
  expect(displayCommand(dumpCommand(c, '/w/d'))).toMatch(
    /^PGHOST=db\.prod PGPORT=5432 PGDATABASE=app PGUSER=app PGPASSWORD=\*\*\* PGCONNECT_TIMEOUT=10 PGOPTIONS='-c statement_timeout=0 -c lock_timeout=0 -c idle_in_transaction_session_timeout=0' pg_dump /,
  );
  expect(displayCommand(restoreCommand(parseConfig(base), '/w/d'))).toMatch(
    /PGHOST=db\.staging .* pg_restore --no-owner --no-acl --single-transaction --exit-on-error --dbname=app \/w\/d$/,
  );
});

test('restore modes follow RESTORE_JOBS, RESTORE_SINGLE_TRANSACTION and DST_DROP_SCHEMA', () => {
  expect(restoreMode(parseConfig(base))).toBe('single-transaction');
  expect(restoreMode(parseConfig({ ...base, DST_DROP_SCHEMA: '1' }))).toBe('single-transaction-with-drop');
  expect(restoreMode(parseConfig({ ...base, RESTORE_JOBS: '4' }))).toBe('parallel');
  expect(restoreCommand(parseConfig({ ...base, RESTORE_JOBS: '4' }), '/a').args).toEqual([
    '--no-owner',
    '--no-acl',
    '--jobs=4',
    '--exit-on-error',
    '--dbname=app',
    '/a',
  ]);
  expect(restoreMode(parseConfig({ ...base, RESTORE_SINGLE_TRANSACTION: '0' }))).toBe('plain');
  expect(
    dumpCommand(
      parseConfig({ ...base, DUMP_FORMAT: 'directory', DUMP_JOBS: '3', DUMP_SERIALIZABLE_DEFERRABLE: '1' }),
      '/o',
    ).args,
  ).toEqual(['--format=directory', '--no-owner', '--no-acl', '--jobs=3', '--serializable-deferrable', '--file=/o']);
});

test("a database name libpq would read as a connection string is passed as dbname='...'", () => {
  expect(dbnameArg(parseDsn('postgresql://u@h/plain'))).toBe('--dbname=plain');
  expect(dbnameArg(parseDsn("host=h dbname='a=b'"))).toBe("--dbname=dbname='a=b'");
});

test('rsync: contents land at the target root whatever slash was given; remotes get bounded, non-interactive connects', () => {
  expect(rsyncSource('/a/b')).toBe('/a/b/');
  expect(rsyncSource('/a/b/')).toBe('/a/b/');
  expect(rsyncSource('deploy@old-host:/srv/.data')).toBe('deploy@old-host:/srv/.data/');
  expect(rsyncSource('old-host:')).toBe('old-host:./');
  const local = rsyncCommand(parseConfig(base));
  expect(local.args).toEqual([
    '-a',
    '--sparse',
    '--hard-links',
    '--safe-links',
    '--info=name1',
    '--partial-dir=.rsync-partial',
    '--numeric-ids',
    '--itemize-changes',
    '--stats',
    '--timeout=300',
    '/srv/prod/.data/',
    '/srv/staging/.data/',
  ]);
  const ssh = rsyncCommand(
    parseConfig({
      ...base,
      SRC_ASSETS_DIR: 'deploy@old-host:/srv/.data',
      ASSETS_DELETE: '1',
      CONNECT_TIMEOUT_MS: '5000',
    }),
  );
  expect(ssh.args).toContain('--rsh=ssh -o BatchMode=yes -o ConnectTimeout=5');
  expect(ssh.args).toContain('--delete');
  expect(ssh.args.slice(-2)).toEqual(['deploy@old-host:/srv/.data/', '/srv/staging/.data/']);
  const daemon = rsyncCommand(parseConfig({ ...base, SRC_ASSETS_DIR: 'rsync://old-host/data' }));
  expect(daemon.args).toContain('--contimeout=10');
  expect(rsyncMeaning(23)).toMatch(/PARTIAL transfer due to error/);
  expect(rsyncMeaning(24)).toMatch(/vanished/);
});

test('archives: custom file and directory detected, TOC summarised, directory digest stable; plain SQL and garbage refused with the fix', async () => {
  const src = await freshDb('source', { template: (await import('vitest')).inject('fixtureTemplate') });
  const dir = tempDir();
  const env = { PATH: process.env.PATH ?? '', ...libpqEnv(parseDsn(src.url)) };
  const custom = path.join(dir, 'x.dump');
  const directory = path.join(dir, 'x.dir');
  const plain = path.join(dir, 'x.sql');
  execFileSync('pg_dump', ['--format=custom', `--file=${custom}`], { env });
  execFileSync('pg_dump', ['--format=directory', `--file=${directory}`], { env });
  execFileSync('pg_dump', ['--format=plain', `--file=${plain}`], { env });
  const a = await inspectArchive(custom, { phase: 'preflight', deep: true });
  const b = await inspectArchive(directory, { phase: 'preflight', deep: true });
  expect(a.format).toBe('custom');
  expect(b.format).toBe('directory');
  expect(a.toc).toEqual(b.toc);
  expect(a.toc.TABLE).toBe(FIXTURE_TABLES.length);
  expect(a.extensions).toEqual(['vector']);
  expect(a.schemas).toEqual(['public']);
  const d1 = await archiveDigest(directory, 'directory');
  const d2 = await archiveDigest(directory, 'directory');
  expect(d1.sha256).toBe(d2.sha256);
  expect(d1.files).toBeGreaterThan(1);
  expect(() => detectArchive(plain, 'preflight')).toThrow(/is a plain SQL dump; .*pg_dump --format=custom/);
  const garbage = path.join(dir, 'garbage.dump');
  fs.writeFileSync(garbage, 'not a dump at all');
  expect(() => detectArchive(garbage, 'preflight')).toThrow(/no PGDMP header/);
  fs.mkdirSync(path.join(dir, 'empty-dir'));
  expect(() => detectArchive(path.join(dir, 'empty-dir'), 'preflight')).toThrow(/without toc\.dat/);
  // A damaged TOC: pg_restore --list itself fails, and the message says what to do.
  const broken = path.join(dir, 'broken.dump');
  fs.writeFileSync(broken, Buffer.concat([fs.readFileSync(custom).subarray(0, 40), Buffer.alloc(200, 0xff)]));
  await expect(inspectArchive(broken, { phase: 'preflight' })).rejects.toThrow(
    /not a readable pg_dump archive .*make a new dump/,
  );
});

test('parseToc counts multi-word entry types and collects schemas and extensions', () => {
  const toc = parseToc(
    [
      ';',
      '; Archive created at 2024-01-01',
      '2; 3079 16385 EXTENSION - vector',
      '215; 1259 16390 TABLE public users rehearsal',
      '3363; 0 16390 TABLE DATA public users rehearsal',
      '6; 2615 2200 SCHEMA - app rehearsal',
      '3200; 2606 16400 FK CONSTRAINT app orders orders_user_fkey rehearsal',
      '3201; 0 16401 MATERIALIZED VIEW DATA public user_asset_counts rehearsal',
    ].join('\n'),
  );
  expect(toc.toc).toEqual({
    EXTENSION: 1,
    TABLE: 1,
    'TABLE DATA': 1,
    SCHEMA: 1,
    'FK CONSTRAINT': 1,
    'MATERIALIZED VIEW DATA': 1,
  });
  expect(toc.entries).toBe(6);
  expect(toc.schemas).toEqual(['app', 'public']);
  expect(toc.extensions).toEqual(['vector']);
});
