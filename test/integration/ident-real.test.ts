/**
 * Awkward identifiers on a real PostgreSQL: configuration values naming tables with upper case, spaces, quotes,
 * unicode and reserved words reach exactly those tables, and hostile ones never run as SQL.
 */
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../lib/core/config.ts';
import { displayTable, quoteIdent, quoteTable } from '../../lib/core/ident.ts';
import { freshDb } from '../helpers/sandbox.ts';

describe('on a real PostgreSQL: awkward names work, hostile ones never run', () => {
  test('tables named with upper case, spaces, quotes, unicode, reserved words, in other schemas', async () => {
    const db = await freshDb('target');
    const names = [
      'Users',
      'my table',
      'a";drop',
      'x) OR 1=1',
      'select',
      '用户',
      'users; DROP TABLE sentinel',
      'Äpfel',
    ];
    await db.query('CREATE TABLE sentinel (id int); INSERT INTO sentinel VALUES (1)');
    await db.query(`CREATE SCHEMA ${quoteIdent('Weird Schema')}`);
    for (const schema of ['public', 'Weird Schema']) {
      for (const name of names) {
        const t = { schema, name };
        await db.query(`CREATE TABLE ${quoteTable(t)} (${quoteIdent('Col "1"')} int)`);
        await db.query(`INSERT INTO ${quoteTable(t)} VALUES (1), (2)`);
      }
    }
    // Configuration values naming them: quoted where PostgreSQL needs quotes, unquoted where it folds.
    const configured = [
      'USERS',
      '"Users"',
      '"my table"',
      '"a"";drop"',
      '"x) OR 1=1"',
      'select',
      '用户',
      '"users; DROP TABLE sentinel"',
      'Äpfel',
      '"Weird Schema"."a"";drop"',
      '"Weird Schema".Select',
    ];
    const c = parseConfig(
      {
        DST_DATABASE_URL: 'postgresql://u@db.example/x',
        DST_ASSETS_DIR: '/srv/x',
        VALIDATE_TABLES: configured.join(','),
      },
      { mode: 'verify-only' },
    );
    expect(c.validateTables).toHaveLength(configured.length);
    const found: string[] = [];
    for (const t of c.validateTables!) {
      const exists = await db.query('SELECT to_regclass($1) IS NOT NULL AS ok', [quoteTable(t)]);
      if (!exists.rows[0].ok) {
        found.push(`${displayTable(t)}: missing`);
        continue;
      }
      const r = await db.query(`SELECT count(*)::int AS n FROM ${quoteTable(t)}`);
      found.push(`${displayTable(t)}: ${r.rows[0].n}`);
    }
    // "USERS" folds to users, which does not exist (the table is "Users"): reported missing, not guessed.
    expect(found).toEqual([
      'public.users: missing',
      'public."Users": 2',
      'public."my table": 2',
      'public."a"";drop": 2',
      'public."x) OR 1=1": 2',
      'public.select: 2',
      'public."用户": 2',
      'public."users; DROP TABLE sentinel": 2',
      'public."Äpfel": 2',
      '"Weird Schema"."a"";drop": 2',
      '"Weird Schema".select: 2',
    ]);
    expect((await db.query('SELECT count(*)::int AS n FROM sentinel')).rows[0].n).toBe(1);
  });
});
