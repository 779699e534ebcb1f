/**
 * lib/ident: identifier parsing and quoting with upper case, spaces, quotes, unicode, reserved words and schemas;
 * hostile VALIDATE_TABLES / ORPHAN_RELATIONS / ASSET_COLUMNS values are refused at config parse time or end up as
 * quoted identifiers — never as SQL. test/integration/ident-real.test.ts proves it on a real
 * PostgreSQL.
 */
import { describe, expect, test } from 'vitest';
import { type Env, parseAssetColumns, parseConfig, parseOrphanRelations } from '../../../lib/core/config.ts';
import { ConfigError } from '../../../lib/core/errors.ts';
import {
  type TableRef,
  displayIdent,
  displayTable,
  foldIdent,
  parseColumnRef,
  parseTableRef,
  quoteIdent,
  quoteTable,
  splitIdentifiers,
  splitOutsideQuotes,
} from '../../../lib/core/ident.ts';

describe('splitIdentifiers', () => {
  test.each<[string, string[]]>([
    ['users', ['users']],
    ['Users', ['users']], // unquoted: folded, as PostgreSQL does
    ['PUBLIC.USERS', ['public', 'users']],
    ['"Users"', ['Users']], // quoted: kept
    ['"My Schema"."My Table"', ['My Schema', 'My Table']],
    ['audit."Events 2024".id', ['audit', 'Events 2024', 'id']],
    ['"a""b"', ['a"b']], // doubled quote inside a quoted name
    ['"a.b"', ['a.b']], // a dot inside quotes is not a separator
    ['"select"', ['select']],
    ['select', ['select']], // a reserved word is fine: it is always quoted on the way to SQL
    ['"from"."where"', ['from', 'where']],
    ['_x$1', ['_x$1']],
    ['données', ['données']],
    ['Äpfel', ['Äpfel']], // only ASCII A-Z is folded (a UTF-8 database leaves Ä alone)
    ['ÄPFEL_X', ['ÄpfEL_x'.replace('EL', 'el')]],
    ['用户表', ['用户表']],
    ['cafe\u0301', ['cafe\u0301']], // combining mark
    ['"😀 emoji"', ['😀 emoji']],
    ['  users  ', ['users']], // surrounding white space trimmed
    ['"  spaced  "', ['  spaced  ']],
    ['"new\nline"', ['new\nline']],
  ])('%j → %j', (text, parts) => {
    expect(splitIdentifiers(text)).toEqual(parts);
  });

  test.each<[string, RegExp]>([
    ['', /empty name/],
    ['   ', /empty name/],
    ['"unterminated', /unterminated quoted identifier/],
    ['""', /empty quoted identifier/],
    ['users.', /ends with a dot/],
    ['.users', /is not a valid name/],
    ['a..b', /is not a valid name/],
    ['1users', /is not a valid name/],
    ['my table', /unexpected " "/],
    ['"a"b', /unexpected "b"/],
    ['a"b"', /unexpected """/],
    ['"nul\0byte"', /NUL byte/],
    ['users;', /unexpected ";"/],
    ['users--', /unexpected "-"/],
    ['users/**/', /unexpected "\/"/],
    ['$1', /is not a valid name/],
  ])('%j is refused (%s)', (text, message) => {
    expect(() => splitIdentifiers(text)).toThrow(message);
  });
});

describe('foldIdent and splitOutsideQuotes', () => {
  test('foldIdent folds ASCII only', () => {
    expect(foldIdent('AbC_ÄÖÜ_İ')).toBe('abc_ÄÖÜ_İ');
  });

  test('splitOutsideQuotes keeps separators inside quoted names', () => {
    expect(splitOutsideQuotes('a,"b,c",d', ',')).toEqual(['a', '"b,c"', 'd']);
    expect(splitOutsideQuotes('"x->y".a->b.c', '->')).toEqual(['"x->y".a', 'b.c']);
    expect(splitOutsideQuotes('"a""b,c",d', ',')).toEqual(['"a""b,c"', 'd']);
    expect(splitOutsideQuotes('a+"b+c"', '+')).toEqual(['a', '"b+c"']);
    expect(splitOutsideQuotes('', ',')).toEqual(['']);
  });
});

describe('parseTableRef and parseColumnRef', () => {
  test('table, schema.table; public by default', () => {
    expect(parseTableRef('users')).toEqual({ schema: 'public', name: 'users' });
    expect(parseTableRef('Audit."Log Entries"')).toEqual({ schema: 'audit', name: 'Log Entries' });
    expect(() => parseTableRef('a.b.c')).toThrow(/too many dots/);
  });

  test('table.column, schema.table.column', () => {
    expect(parseColumnRef('ugc_assets.storage_path')).toEqual({
      table: { schema: 'public', name: 'ugc_assets' },
      column: 'storage_path',
    });
    expect(parseColumnRef('"Media"."Files"."Path"')).toEqual({
      table: { schema: 'Media', name: 'Files' },
      column: 'Path',
    });
    expect(() => parseColumnRef('col')).toThrow(/must be table.column or schema.table.column/);
    expect(() => parseColumnRef('a.b.c.d')).toThrow(/must be table.column/);
  });
});

describe('quoteIdent, quoteTable, display', () => {
  test.each<[string, string]>([
    ['users', '"users"'],
    ['Users', '"Users"'],
    ['select', '"select"'],
    ['a"b', '"a""b"'],
    ['"', '""""'],
    ['my table', '"my table"'],
    ['x); DROP TABLE users; --', '"x); DROP TABLE users; --"'],
    ['用户', '"用户"'],
  ])('quoteIdent(%j) = %s', (name, quoted) => {
    expect(quoteIdent(name)).toBe(quoted);
  });

  test('a NUL byte cannot be quoted', () => {
    expect(() => quoteIdent('a\0b')).toThrow(/NUL/);
  });

  test('quoteTable quotes both parts', () => {
    expect(quoteTable({ schema: 'My Schema', name: 'a"b' })).toBe('"My Schema"."a""b"');
  });

  test('display names quote only where needed', () => {
    expect(displayTable({ schema: 'public', name: 'users' })).toBe('public.users');
    expect(displayTable({ schema: 'public', name: 'Users' })).toBe('public."Users"');
    expect(displayIdent('my col')).toBe('"my col"');
    expect(displayIdent('a"b')).toBe('"a""b"');
  });

  test('quoteIdent inverts splitIdentifiers for any name', () => {
    for (const name of ['a', 'A', 'a"b', '""', 'with space', 'select', 'x;y', '用户', 'tab\tname', "it's"]) {
      expect(splitIdentifiers(quoteIdent(name))).toEqual([name]);
      const t: TableRef = { schema: name, name };
      expect(parseTableRef(quoteTable(t))).toEqual(t);
    }
  });
});

/** Injection attempts: each must be refused at parse time or come out as identifiers (never as SQL). */
const HOSTILE = [
  'users; DROP TABLE x',
  'users--',
  'users -- comment',
  'users/*',
  '"a"";drop"',
  'x) OR 1=1',
  "x' OR '1'='1",
  'users WHERE 1=1',
  'users UNION SELECT 1',
  'pg_sleep(10)',
  '(select 1)',
  'users\nDROP TABLE x',
  '"users"; DROP TABLE x; --"',
  '"x"" OR 1=1 --"',
  'users\0',
  '$$ drop $$',
  "E'\\x41'",
];

/** The one quoting function produces a single quoted-identifier token: no way out of the quotes. */
function expectSafelyQuoted(name: string) {
  const q = quoteIdent(name);
  expect(q).toMatch(/^"(?:[^"]|"")*"$/);
  expect(q.slice(1, -1).replace(/""/g, '"')).toBe(name);
}

describe('hostile configuration values are refused or quoted, never executable', () => {
  const base: Env = { DST_DATABASE_URL: 'postgresql://u@db.example/staging', DST_ASSETS_DIR: '/srv/x' };
  const cases: Array<[string, (v: string) => string]> = [
    ['VALIDATE_TABLES', (v) => v],
    ['CHECKSUM_TABLES', (v) => v],
    ['ORPHAN_RELATIONS', (v) => `${v}.user_id->users.id`],
    ['ORPHAN_RELATIONS', (v) => `ugc.user_id->users.${v}`],
    ['ASSET_COLUMNS', (v) => `${v}.path:file`],
    ['ASSET_COLUMNS', (v) => `media.${v}:dir`],
  ];
  for (const [name, wrap] of cases) {
    describe(name, () => {
      test.each(HOSTILE)('%j', (hostile) => {
        const raw = wrap(hostile);
        let config;
        try {
          config = parseConfig({ ...base, [name]: raw }, { mode: 'verify-only' });
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          expect((e as ConfigError).problems).toHaveLength(1);
          expect((e as ConfigError).problems[0]).toMatch(new RegExp(`^${name}: `));
          return;
        }
        // Accepted: only as quoted identifiers (e.g. "a"";drop" is the table a";drop).
        const idents: string[] = [];
        for (const t of [...(config.validateTables ?? []), ...(config.checksumTables ?? [])])
          idents.push(t.schema, t.name);
        for (const r of config.orphanRelations)
          idents.push(
            r.child.schema,
            r.child.name,
            r.parent.schema,
            r.parent.name,
            ...r.childColumns,
            ...r.parentColumns,
          );
        for (const a of config.assetColumns) idents.push(a.table.schema, a.table.name, a.column);
        expect(idents.length).toBeGreaterThan(0);
        for (const id of idents) expectSafelyQuoted(id);
      });
    });
  }

  test('the quoted hostile names that are accepted are exactly the quoted text', () => {
    expect(parseTableRef('"a"";drop"')).toEqual({ schema: 'public', name: 'a";drop' });
    expect(parseTableRef('"x"" OR 1=1 --"')).toEqual({ schema: 'public', name: 'x" OR 1=1 --' });
  });

  test('a quoted name may hold the list separators (",", ";", "->", "+", ":")', () => {
    expect(parseAssetColumns('"a,b".c:file,"d:dir".e:dir')).toEqual([
      { table: { schema: 'public', name: 'a,b' }, column: 'c', kind: 'file' },
      { table: { schema: 'public', name: 'd:dir' }, column: 'e', kind: 'dir' },
    ]);
    expect(parseOrphanRelations('"c;1"."x->y"+"p+q"->"p;2".a+b')).toEqual([
      {
        child: { schema: 'public', name: 'c;1' },
        childColumns: ['x->y', 'p+q'],
        parent: { schema: 'public', name: 'p;2' },
        parentColumns: ['a', 'b'],
        origin: 'configured',
      },
    ]);
    const c = parseConfig({ ...base, VALIDATE_TABLES: '"a,b",c' }, { mode: 'verify-only' });
    expect(c.validateTables).toEqual([
      { schema: 'public', name: 'a,b' },
      { schema: 'public', name: 'c' },
    ]);
  });
});
