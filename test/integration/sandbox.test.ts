import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import pg from 'pg';
import { parseDsn, toPgConfig } from '../../lib/core/dsn.ts';
import { freshDb, sandbox } from '../helpers/sandbox.ts';

describe('sandbox clusters', () => {
  test('use an awkward password (quotes, @, :, /, %, space, backslash)', () => {
    const pw = sandbox().password;
    for (const ch of ["'", '"', '@', ':', '/', '%', ' ', '\\']) expect(pw).toContain(ch);
  });

  for (const which of ['source', 'target'] as const) {
    test(`${which}: CREATE EXTENSION vector works`, async () => {
      const db = await freshDb(which);
      await db.query('CREATE EXTENSION vector');
      const r = await db.query(`SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector AS d`);
      expect(r.rows[0].d).toBe(1);
    });

    for (const form of ['url', 'keyword'] as const) {
      test(`${which}: login with the awkward password through the ${form} DSN (node-postgres)`, async () => {
        const db = await freshDb(which);
        const client = new pg.Client(toPgConfig(parseDsn(form === 'url' ? db.url : db.keyword)));
        await client.connect();
        try {
          const r = await client.query('SELECT current_database() AS db');
          expect(r.rows[0].db).toBe(db.name);
        } finally {
          await client.end();
        }
      });
    }

    test(`${which}: psql logs in through the keyword DSN given as env (no password in argv)`, async () => {
      const db = await freshDb(which);
      const { libpqEnv } = await import('../../lib/core/dsn.ts');
      const out = execFileSync('psql', ['-XAtc', 'SELECT current_database()'], {
        env: { PATH: process.env.PATH, ...libpqEnv(parseDsn(db.keyword)) },
        encoding: 'utf8',
      });
      expect(out.trim()).toBe(db.name);
    });
  }

  test('password authentication is enforced (a wrong password is refused)', async () => {
    const db = await freshDb('target');
    const d = parseDsn(db.url);
    const client = new pg.Client(toPgConfig({ ...d, password: 'wrong' }));
    await expect(client.connect()).rejects.toThrow(/password authentication failed/);
  });
});

test('rsync --version runs', () => {
  expect(execFileSync('rsync', ['--version'], { encoding: 'utf8' })).toMatch(/rsync\s+version/);
});
