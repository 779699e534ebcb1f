/**
 * Hardening guards that need no cluster: one DSN resolution for checks and tools, what a tool inherits, passwords that
 * would corrupt evidence, catalog asset columns.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { evidenceLikePassword, parseConfig } from '../../../lib/core/config.ts';
import { libpqEnv, parseDsn, passfileLookup, resolveDsn, toPgConfig } from '../../../lib/core/dsn.ts';
import { ConfigError, PhaseError, escapeControls } from '../../../lib/core/errors.ts';
import { isWithheldFromTools, toolEnv } from '../../../lib/core/tools.ts';
import { withParentDeathSignal } from '../../../lib/core/signals.ts';

const PW = 'S3cr3t!x';

describe('one DSN resolution for the checks and the tools', () => {
  test('service= is refused with the reason (the service file could point the tools elsewhere)', () => {
    const d = parseDsn(`host=db.example service=prod dbname=app user=u password=${PW}`, 'DST_DATABASE_URL');
    expect(() => resolveDsn(d, {}, 'DST_DATABASE_URL')).toThrow(
      /DST_DATABASE_URL uses service=prod: .*different servers/,
    );
  });
  test('no host: PGHOST if set, else a unix-socket directory, written explicitly for both sides', () => {
    const d = parseDsn(`postgresql://u:${encodeURIComponent(PW)}@/app`);
    expect(resolveDsn(d, { PGHOST: 'db.internal' }).host).toBe('db.internal');
    const r = resolveDsn(d, {});
    expect(r.host).toMatch(/^\//);
    expect(toPgConfig(r).host).toBe(r.host);
    expect(libpqEnv(r).PGHOST).toBe(r.host);
  });
  test('no user / no password: PGUSER / PGPASSWORD or the passfile, resolved once', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpass-'));
    const file = path.join(dir, 'pass');
    fs.writeFileSync(file, `# comment\nother:5432:*:*:nope\ndb.example:5432:app:svc:${PW}\n`, { mode: 0o600 });
    const d = parseDsn(`host=db.example dbname=app user=svc passfile=${file}`);
    const r = resolveDsn(d, {});
    expect(r.password).toBe(PW);
    expect(r.params.passfile).toBeUndefined();
    expect(toPgConfig(r).password).toBe(PW);
    expect(libpqEnv(r).PGPASSWORD).toBe(PW);
    fs.chmodSync(file, 0o644); // libpq ignores a passfile others can read; so does the resolution
    expect(passfileLookup(file, r)).toBeUndefined();
    expect(resolveDsn(parseDsn('host=h dbname=app'), { PGUSER: 'ops' }).user).toBe('ops');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  test('host= with hostaddr=: both sides connect to hostaddr (it was silently dropped)', () => {
    const d = parseDsn(`host=db.example hostaddr=192.0.2.10 dbname=app user=u password=${PW}`);
    expect(d.host).toBe('db.example');
    expect(toPgConfig(d).host).toBe('192.0.2.10');
    expect(libpqEnv(d)).toMatchObject({ PGHOST: 'db.example', PGHOSTADDR: '192.0.2.10' });
    expect(toPgConfig(parseDsn(`postgresql://u@db.example/app?hostaddr=192.0.2.10`)).host).toBe('192.0.2.10');
  });
});

describe('what a tool inherits', () => {
  test('no libpq variable, no DSN, no secret of the run reaches a tool', () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        PGSERVICE: 'prod',
        PGSYSCONFDIR: '/etc/elsewhere',
        PGHOST: 'other',
        SRC_DATABASE_URL: `postgresql://u:${PW}@src/app`,
        DST_DATABASE_URL: `postgresql://u:${PW}@dst/app`,
        SOME_API_TOKEN: 'x',
      });
      const env = toolEnv({ PGHOST: 'dst', PGPASSWORD: PW });
      for (const k of ['PGSERVICE', 'PGSYSCONFDIR', 'SRC_DATABASE_URL', 'DST_DATABASE_URL', 'SOME_API_TOKEN'])
        expect(env[k], k).toBeUndefined();
      expect(env.PGHOST).toBe('dst');
      expect(isWithheldFromTools('PATH')).toBe(false);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
  test('tools and the check runner are started with a parent-death signal', () => {
    const [file, args] = withParentDeathSignal('pg_restore', ['--list', 'x']);
    expect(path.basename(file)).toBe('setpriv');
    expect(args).toEqual(['--pdeathsig', 'KILL', '--', 'pg_restore', '--list', 'x']);
  });
});

describe('evidence is never rewritten by redaction', () => {
  const base = { DST_ASSETS_DIR: '/srv/staging/.data' };
  test.each(['public', 'postgres', 'users', 'Secret_Word'])(
    'the plain-word password %j is refused with the reason',
    (pw) => {
      expect(() =>
        parseConfig(
          { ...base, DST_DATABASE_URL: `postgresql://app:${pw}@db.example:5432/staging` },
          { mode: 'verify-only' },
        ),
      ).toThrow(/plain word .*rewrite table names and DSNs/);
    },
  );
  test('a password equal to the user or database name is refused; a strong one is accepted', () => {
    const sameAsDb = {
      host: 'h',
      port: 5432,
      database: 'app1',
      user: 'app',
      password: 'app1',
      params: {},
      format: 'url' as const,
    };
    expect(evidenceLikePassword(sameAsDb)).toMatch(/equals the DSN's own/);
    expect(evidenceLikePassword(parseDsn(`postgresql://app:${encodeURIComponent(PW)}@h/db`))).toBeUndefined();
  });
  test('ASSET_COLUMNS naming a catalog schema is refused', () => {
    expect(() =>
      parseConfig(
        {
          ...base,
          DST_DATABASE_URL: `postgresql://app:x9-${PW}@h/db`,
          ASSET_COLUMNS: 'pg_catalog.pg_authid.rolpassword:file',
        },
        { mode: 'verify-only' },
      ),
    ).toThrow(/system schema pg_catalog/);
  });
  test('control characters in an echoed value are escaped', () => {
    expect(escapeControls('a\nb\r\u001b[31m')).toBe('a\\nb\\r\\x1b[31m');
    expect(new ConfigError('X="1\nok"').problems[0]).toBe('X="1\\nok"');
  });
});

test('PhaseError carries its facts as declared fields', () => {
  const e = new PhaseError('restore', 'boom', 3, { toolExitCode: 1, details: { a: 1 } });
  expect(e.toolExitCode).toBe(1);
  expect(e.details).toEqual({ a: 1 });
  expect(new PhaseError('dump', 'x').toolExitCode).toBeUndefined();
});

test('tool output: UTF-8 names are never split across chunks, carriage returns end lines, memory stays bounded', async () => {
  const { runCommand } = await import('../../../lib/core/tools.ts');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'utf8-lines-'));
  try {
    for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(dir, `файл-данные-${i}-数据.txt`), '');
    const lines: string[] = [];
    const r = await runCommand(
      { tool: 'rsync', args: ['--list-only', '-r', `${dir}/`], env: {} },
      { phase: 'mirror', onStdout: (l) => lines.push(l) },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBeUndefined(); // nothing kept unless asked for
    expect(lines.filter((l) => l.includes('数据')).length).toBe(3000);
    expect(lines.some((l) => l.includes('\uFFFD'))).toBe(false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
