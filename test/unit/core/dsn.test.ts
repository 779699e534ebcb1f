/**
 * lib/dsn: both DSN forms, adversarial passwords, the SQLAlchemy refusal, libpq env, sameDatabase, malformed input.
 *
 * Literal DSNs with a made-up password carry `secret-scan:allow` (the repository secret scan would flag them
 * otherwise); most tests build the DSN from PW so no literal password appears at all.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, EXIT } from '../../../lib/core/errors.ts';
import {
  type Dsn,
  describeDsn,
  formatKeyword,
  formatUrl,
  libpqEnv,
  parseDsn,
  passfileLookup,
  sameDatabase,
  toPgConfig,
} from '../../../lib/core/dsn.ts';
import { awkwardPassword } from '../../../lib/sandbox/clusters.ts';

const PW = 'S3cret-Canary';

function dsn(over: Partial<Dsn> = {}): Dsn {
  return {
    host: 'db.example',
    port: 5432,
    database: 'app',
    user: 'alice',
    password: PW,
    params: {},
    format: 'url',
    ...over,
  };
}

/** The ConfigError thrown by fn (fails the test if none). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('URL DSNs', () => {
  test('postgresql:// with every part', () => {
    const d = parseDsn(`postgresql://alice:${PW}@db.example:6543/app`);
    expect(d).toEqual({
      host: 'db.example',
      port: 6543,
      database: 'app',
      user: 'alice',
      password: PW,
      params: {},
      format: 'url',
    });
  });

  test('postgres:// is accepted too, scheme case-insensitive', () => {
    expect(parseDsn(`postgres://alice:${PW}@db.example/app`).database).toBe('app');
    expect(parseDsn(`PostgreSQL://alice@db.example/app`).user).toBe('alice');
  });

  test('surrounding white space is ignored', () => {
    expect(parseDsn(`  postgresql://alice@db.example/app \n`).host).toBe('db.example');
  });

  test('percent-encoding in user, password, host and database', () => {
    const d = parseDsn('postgresql://al%40ice:p%40ss%3Aw%2Fo%25rd%20x@db.example/my%20db'); // secret-scan:allow
    expect(d.user).toBe('al@ice');
    expect(d.password).toBe('p@ss:w/o%rd x');
    expect(d.database).toBe('my db');
  });

  test('a raw "@" and ":" in the password: the userinfo ends at the last "@"', () => {
    const d = parseDsn('postgresql://alice:p@ss:w@rd@db.example:5433/app'); // secret-scan:allow
    expect(d).toMatchObject({ user: 'alice', password: 'p@ss:w@rd', host: 'db.example', port: 5433, database: 'app' });
  });

  test('a user name with a raw "@" (cloud style) and an empty password', () => {
    const d = parseDsn('postgresql://me@corp:@db.example/app');
    expect(d).toMatchObject({ user: 'me@corp', password: '', host: 'db.example' });
  });

  test('"+" in the password stays "+" (libpq does not decode it as a space)', () => {
    expect(parseDsn('postgresql://alice:a+b@db.example/app').password).toBe('a+b'); // secret-scan:allow
    expect(parseDsn('postgresql://alice@db.example/app?application_name=a+b').params.application_name).toBe('a+b');
  });

  test('IPv6 hosts in brackets, with and without a port', () => {
    expect(parseDsn('postgresql://alice@[::1]:5433/app')).toMatchObject({ host: '::1', port: 5433 });
    expect(parseDsn('postgresql://alice@[fe80::1%25eth0]/app')).toMatchObject({ host: 'fe80::1%eth0', port: 5432 });
    expect(parseDsn('postgresql://[2001:db8::7]/app')).toMatchObject({ host: '2001:db8::7', user: undefined });
  });

  test('query parameters: sslmode and friends go to params', () => {
    const d = parseDsn(
      'postgresql://alice@db.example/app?sslmode=require&connect_timeout=7&application_name=mig%20rehearsal',
    );
    expect(d.params).toEqual({ sslmode: 'require', connect_timeout: '7', application_name: 'mig rehearsal' });
  });

  test('host= query parameter: a unix-socket directory, raw or encoded', () => {
    expect(parseDsn('postgresql:///app?host=/var/run/postgresql').host).toBe('/var/run/postgresql');
    expect(parseDsn('postgresql:///app?host=%2Ftmp%2Fpg&port=5499')).toMatchObject({
      host: '/tmp/pg',
      port: 5499,
      database: 'app',
    });
  });

  test('dbname=, user=, password= query parameters override the URL parts', () => {
    const d = parseDsn(`postgresql://db.example/ignored?dbname=real&user=bob&password=${PW}`);
    expect(d).toMatchObject({ database: 'real', user: 'bob', password: PW });
    expect(d.params).toEqual({});
  });

  test('defaults: port 5432; database = user name; no host = libpq default', () => {
    expect(parseDsn('postgresql://alice@db.example')).toMatchObject({ port: 5432, database: 'alice' });
    expect(parseDsn('postgresql://alice@db.example/')).toMatchObject({ database: 'alice' });
    expect(parseDsn('postgresql://')).toMatchObject({ host: undefined, port: 5432, database: '', user: undefined });
    expect(parseDsn('postgresql:///app')).toMatchObject({ host: undefined, database: 'app' });
  });

  test('an unknown query parameter is named', () => {
    expect(configError(() => parseDsn('postgresql://db.example/app?sslmdoe=require')).message).toContain(
      'unknown connection parameter "sslmdoe"',
    );
  });
});

describe('keyword DSNs', () => {
  test('plain values, any order, extra white space', () => {
    const d = parseDsn(`  user=alice   dbname=app host=db.example port=6543 password=${PW} sslmode=disable `);
    expect(d).toEqual({
      host: 'db.example',
      port: 6543,
      database: 'app',
      user: 'alice',
      password: PW,
      params: { sslmode: 'disable' },
      format: 'keyword',
    });
  });

  test('spaces around "="', () => {
    expect(parseDsn('host = db.example dbname =app user= alice')).toMatchObject({
      host: 'db.example',
      database: 'app',
      user: 'alice',
    });
  });

  test("'quoted values' with spaces, \\' and \\\\ escapes", () => {
    const d = parseDsn(String.raw`host=db.example dbname='my db' password='it\'s a \\ back slash'`); // secret-scan:allow
    expect(d.database).toBe('my db');
    expect(d.password).toBe("it's a \\ back slash");
  });

  test('backslash escapes in an unquoted value, as libpq does', () => {
    expect(parseDsn(String.raw`host=db.example password=a\ b\\c`).password).toBe('a b\\c'); // secret-scan:allow
  });

  test('an empty quoted value, and quotes inside an unquoted one', () => {
    expect(parseDsn("host=db.example password=''").password).toBe('');
    expect(parseDsn(`host=db.example password=it's"x`).password).toBe(`it's"x`); // secret-scan:allow
  });

  test('dbname becomes database; defaults port 5432 and database = user', () => {
    expect(parseDsn('host=db.example dbname=app')).toMatchObject({ database: 'app', port: 5432 });
    expect(parseDsn('host=db.example user=alice')).toMatchObject({ database: 'alice' });
  });

  test('hostaddr is used when host is missing; a socket directory as host', () => {
    expect(parseDsn('hostaddr=127.0.0.1 dbname=app').host).toBe('127.0.0.1');
    expect(parseDsn('host=/var/run/postgresql dbname=app').host).toBe('/var/run/postgresql');
  });

  test('an unknown keyword is named', () => {
    expect(configError(() => parseDsn('host=db.example dbnmae=app')).message).toContain('unknown keyword "dbnmae"');
  });

  test('a duplicate keyword is refused', () => {
    expect(configError(() => parseDsn('host=a host=b dbname=app')).message).toContain('keyword "host" is given twice');
  });

  test('an unterminated quote is refused, with the escape hint', () => {
    const e = configError(() => parseDsn("host=db.example password='abc"));
    expect(e.message).toContain('unterminated quoted value for "password"');
    expect(e.message).not.toContain('abc');
  });

  test('a missing "=" and text glued to a quoted value are refused', () => {
    expect(configError(() => parseDsn('host=db.example dbname')).message).toContain('missing "=" after "dbname"');
    expect(configError(() => parseDsn("host='a'dbname=x")).message).toContain(
      'expected a space after the quoted value of "host"',
    );
  });

  test('an unquoted password with a space: the error does not echo the tail of the password', () => {
    for (const text of [
      'host=h password=Hunter2 Tail7=x', // secret-scan:allow
      'host=h password=Hunter2 Tail7 dbname=x', // secret-scan:allow
      'host=h password=Hunter2 !Tail7', // secret-scan:allow
    ]) {
      const e = configError(() => parseDsn(text));
      expect(e.message).toContain("password='...'");
      expect(e.message).not.toContain('Hunter2');
      expect(e.message).not.toContain('Tail7');
    }
  });
});

describe('SQLAlchemy schemes are refused with the corrected DSN', () => {
  const password = awkwardPassword();
  for (const driver of ['psycopg', 'psycopg2', 'asyncpg', 'pg8000']) {
    test(`postgresql+${driver}://`, () => {
      const good = formatUrl(dsn({ password }));
      const bad = good.replace('postgresql://', `postgresql+${driver}://`);
      const e = configError(() => parseDsn(bad, 'SRC_DATABASE_URL'));
      expect(e.exitCode).toBe(EXIT.usage);
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain('SRC_DATABASE_URL');
      expect(e.message).toContain(`Drop the "+${driver}" part`);
      expect(e.message).toContain('postgresql://alice:***@db.example:5432/app');
      expect(e.message).not.toContain(password);
      expect(e.message).not.toContain(encodeURIComponent(password));
      expect(e.message).not.toContain(password.slice(-12)); // the random tail
    });
  }

  test('postgres+psycopg2:// (short scheme) too', () => {
    const e = configError(() => parseDsn(`postgres+psycopg2://alice:${PW}@db.example/app`));
    expect(e.message).toContain('postgresql://alice:***@db.example:5432/app');
    expect(e.message).not.toContain(PW);
  });

  test('an SQLAlchemy URL that is also malformed shows the shape, never a piece of it', () => {
    const e = configError(() => parseDsn('postgresql+psycopg://alice:Tail/Secret9@db.example/app')); // secret-scan:allow
    expect(e.message).toContain('Drop the "+psycopg" part');
    expect(e.message).not.toMatch(/Tail|Secret9/);
  });
});

/** Printable ASCII specials, white space, unicode (BMP, astral, combining), and the sandbox's own password. */
const ADVERSARIAL = [
  ' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
  'p\'a"s@s:w/o%rd 20\\x#y?z&k=v;',
  awkwardPassword(),
  '  leading and trailing  ',
  'tab\there',
  'пароль-密码-🔑-café',
  'e\u0301\u00e9', // combining accent + precomposed
  '%41%zz%',
  "''\\\\''",
  '@@@',
  'a=b c=d',
  "password='x'",
  '***',
  ...Array.from({ length: 95 }, (_, i) => `x${String.fromCharCode(32 + i)}y`), // each printable char alone
];

describe('adversarial passwords round-trip through both formats', () => {
  test.each(ADVERSARIAL.map((p) => [JSON.stringify(p), p]))('password %s', (_, password) => {
    for (const base of [
      dsn({ password }),
      dsn({ password, host: '::1' }),
      dsn({ password, user: 'we ird@user', database: 'data base/ü' }),
    ]) {
      const url = formatUrl(base);
      const kw = formatKeyword(base);
      expect(parseDsn(url), url).toMatchObject({
        password,
        user: base.user,
        host: base.host,
        database: base.database,
        port: base.port,
      });
      expect(parseDsn(kw), kw).toMatchObject({
        password,
        user: base.user,
        host: base.host,
        database: base.database,
        port: base.port,
      });
      // The redacted forms never carry it.
      for (const shown of [
        formatUrl(base, { redact: true }),
        formatKeyword(base, { redact: true }),
        describeDsn(base),
      ]) {
        if (password.length >= 3 && password !== '***') expect(shown).not.toContain(password);
        expect(shown).toContain('***');
      }
    }
  });

  test('an IPv6 host with a zone id round-trips', () => {
    const base = dsn({ host: 'fe80::1%eth0' });
    expect(formatUrl(base)).toContain('@[fe80::1%25eth0]:5432/');
    expect(parseDsn(formatUrl(base)).host).toBe('fe80::1%eth0');
  });

  test('params and a socket host round-trip through the URL form', () => {
    const base = dsn({ host: '/var/run/postgresql', params: { sslmode: 'verify-full', application_name: 'a&b=c d' } });
    expect(parseDsn(formatUrl(base))).toMatchObject({ host: '/var/run/postgresql', params: base.params });
    expect(parseDsn(formatKeyword(base))).toMatchObject({ host: '/var/run/postgresql', params: base.params });
  });

  test('sslpassword is redacted like the password', () => {
    const base = dsn({ params: { sslpassword: 'Key-Secret-42' } });
    expect(formatUrl(base, { redact: true })).not.toContain('Key-Secret-42');
    expect(formatKeyword(base, { redact: true })).not.toContain('Key-Secret-42');
    expect(parseDsn(formatKeyword(base)).params.sslpassword).toBe('Key-Secret-42');
  });
});

describe('libpqEnv and toPgConfig', () => {
  test('every connection part as PG* env; the password only in PGPASSWORD', () => {
    const password = awkwardPassword();
    const d = parseDsn(
      formatKeyword(dsn({ password, params: { sslmode: 'require', application_name: 'mr', options: '-c x=y' } })),
    );
    const env = libpqEnv(d);
    expect(env).toMatchObject({
      PGHOST: 'db.example',
      PGPORT: '5432',
      PGDATABASE: 'app',
      PGUSER: 'alice',
      PGPASSWORD: password,
      PGSSLMODE: 'require',
      PGAPPNAME: 'mr',
      PGOPTIONS: '-c x=y',
    });
    for (const [k, v] of Object.entries(env)) {
      if (k === 'PGPASSWORD') continue;
      expect(v, k).not.toContain(password);
      expect(v, k).not.toContain(encodeURIComponent(password));
    }
  });

  test('no password: no PGPASSWORD at all; a connect timeout is always bounded', () => {
    const env = libpqEnv(parseDsn('postgresql://alice@db.example/app'));
    expect(env).not.toHaveProperty('PGPASSWORD');
    expect(env.PGCONNECT_TIMEOUT).toBe('10');
    expect(libpqEnv(parseDsn('postgresql://db.example/app?connect_timeout=3')).PGCONNECT_TIMEOUT).toBe('3');
  });

  test('toPgConfig carries the parts, a bounded connect timeout and the ssl mode', () => {
    const c = toPgConfig(parseDsn(`postgresql://alice:${PW}@db.example:6543/app?sslmode=require`), {
      connectTimeoutMs: 1234,
    });
    expect(c).toMatchObject({
      host: 'db.example',
      port: 6543,
      database: 'app',
      user: 'alice',
      password: PW,
      connectionTimeoutMillis: 1234,
    });
    expect(c.ssl).toEqual({ rejectUnauthorized: false });
    expect(toPgConfig(parseDsn('postgresql://db.example/app?sslmode=verify-full')).ssl).toEqual({
      rejectUnauthorized: true,
    });
    expect(toPgConfig(parseDsn('postgresql://db.example/app')).connectionTimeoutMillis).toBe(10_000);
  });
});

describe('sameDatabase', () => {
  const url = (rest: string) => parseDsn(`postgresql://${rest}`);
  test('URL form vs keyword form', () => {
    expect(
      sameDatabase(url(`alice:${PW}@db.example:5432/app`), parseDsn('host=db.example port=5432 dbname=app user=bob')),
    ).toBe(true);
  });

  test('localhost, 127.0.0.1, 127.x, ::1, [::1], a socket directory and no host are all this machine', () => {
    const local = [
      url('localhost/app'),
      url('127.0.0.1/app'),
      url('127.0.0.2/app'),
      url('[::1]/app'),
      url('LOCALHOST/app'),
      parseDsn('host=::1 dbname=app'),
      parseDsn('host=/var/run/postgresql dbname=app'),
      parseDsn('dbname=app'),
      url('localhost./app'),
    ];
    for (const a of local)
      for (const b of local) expect(sameDatabase(a, b), `${describeDsn(a)} vs ${describeDsn(b)}`).toBe(true);
  });

  test('default port 5432 equals an explicit 5432', () => {
    expect(sameDatabase(url('db.example/app'), url('db.example:5432/app'))).toBe(true);
    expect(sameDatabase(parseDsn('host=db.example dbname=app'), url('db.example:5432/app'))).toBe(true);
  });

  test('database defaulted from the user name equals the explicit name', () => {
    expect(sameDatabase(url('app@db.example'), parseDsn('host=db.example dbname=app'))).toBe(true);
  });

  test('different port, database (case-sensitive) or host are different databases', () => {
    expect(sameDatabase(url('localhost:5432/app'), url('localhost:5433/app'))).toBe(false);
    expect(sameDatabase(url('localhost/app'), url('localhost/app_staging'))).toBe(false);
    expect(sameDatabase(url('localhost/app'), url('localhost/App'))).toBe(false);
    expect(sameDatabase(url('db1.example/app'), url('db2.example/app'))).toBe(false);
    expect(sameDatabase(url('DB.example/app'), url('db.example/app'))).toBe(true);
  });
});

describe('every malformed DSN gets a specific message, naming the variable, never the password', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['empty', '', /DST_DATABASE_URL is empty/],
    ['white space only', '   ', /DST_DATABASE_URL is empty/],
    ['garbage', 'not a dsn at all', /neither a URL DSN .* nor a libpq keyword DSN/],
    ['bare host:port', 'db.example:5432/app', /neither a URL DSN/],
    ['port not a number', 'postgresql://db.example:54x2/app', /port "54x2" is not a number/],
    ['empty port', 'postgresql://db.example:/app', /port "" is not a number/],
    ['port 0', 'postgresql://db.example:0/app', /port 0 is out of range 1-65535/],
    ['port out of range', 'postgresql://db.example:65536/app', /port 65536 is out of range 1-65535/],
    ['keyword port out of range', 'host=db.example port=99999', /port 99999 is out of range/],
    ['keyword port not a number', 'host=db.example port=abc', /port "abc" is not a number/],
    [
      'bad percent-encoding in the password',
      'postgresql://alice:Hunter%zz9@db.example/app', // secret-scan:allow
      /password has an invalid percent-encoding; encode "%" as %25/,
    ],
    [
      'bad percent-encoding in the database',
      'postgresql://db.example/ap%E0%A4p',
      /database name has an invalid percent-encoding/,
    ],
    [
      'unencoded "/" in the password',
      'postgresql://alice:Hun/ter9@db.example/app',
      /contains a "\/", "\?" or "#" that is not percent-encoded/,
    ], // secret-scan:allow
    [
      'unencoded "#" in the password',
      'postgresql://alice:Hun#ter9@db.example/app',
      /contains a "\/", "\?" or "#" that is not percent-encoded/,
    ], // secret-scan:allow
    [
      'unencoded "?" in the password',
      'postgresql://alice:Hun?ter9@db.example/app',
      /contains a "\/", "\?" or "#" that is not percent-encoded/,
    ], // secret-scan:allow
    ['"@" and "/" in the password', 'postgresql://alice:Hu@nt/er9@db.example/app', /not percent-encoded/], // secret-scan:allow
    ['"@" and "?" in the password', 'postgresql://alice:Hu@nt?er9@db.example/app', /not percent-encoded/], // secret-scan:allow
    ['a fragment', 'postgresql://db.example/app#frag', /cannot contain a raw "#"/],
    [
      '"&" in a query password',
      'postgresql://db.example/app?password=Hunter&Tail9=1',
      /percent-encode "&" in the password as %26/,
    ],
    ['unknown scheme', 'mysql://alice@db.example/app', /has scheme "mysql:\/\/"; use postgresql:\/\//],
    ['http scheme', 'http://db.example/app', /has scheme "http:\/\/"/],
    ['JDBC URL', 'jdbc:postgresql://db.example/app', /JDBC URL; drop the "jdbc:" prefix/],
    ['missing //', 'postgresql:db.example/app', /missing the "\/\/" after the scheme/],
    ['unterminated IPv6', 'postgresql://[::1/app', /unterminated IPv6 address/],
    ['junk after IPv6', 'postgresql://[::1]x/app', /unexpected "x" after the IPv6 address/],
    ['IPv6 without brackets', 'postgresql://::1:5432/app', /IPv6 host must be written in brackets/],
    ['several hosts', 'postgresql://h1,h2/app', /multiple hosts are not supported/],
    ['keyword without "="', 'host', /neither a URL DSN/],
    ['keyword DSN with a stray token', 'host=db.example =x', /expected a keyword at position 17/],
  ];
  test.each(cases)('%s', (_, input, message) => {
    const e = configError(() => parseDsn(input, 'DST_DATABASE_URL'));
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(message);
    expect(e.message).toContain('DST_DATABASE_URL');
    expect(e.message).not.toMatch(/Hunter|Hun|ter9|er9|Tail9/);
  });
});

describe('issue 26: values libpq would reject are refused at parse time; a passfile that is not a regular file', () => {
  test.each([
    ['postgresql://u@h/db?sslmode=bogus', /sslmode="bogus" is not one of disable, allow, prefer, require/],
    ['host=h dbname=db sslmode=bogus', /sslmode="bogus" is not one of/],
    ['postgresql://u@h/db?gssencmode=maybe', /gssencmode="maybe"/],
    ['postgresql://u@h/db?connect_timeout=ten', /connect_timeout="ten" is not a whole number/],
    ['host=h dbname=db target_session_attrs=writable', /target_session_attrs="writable"/],
  ])('%s', (dsn, message) => {
    expect(() => parseDsn(dsn, 'DST_DATABASE_URL')).toThrow(message);
  });

  test('valid values pass', () => {
    expect(parseDsn('postgresql://u@h/db?sslmode=verify-full&connect_timeout=5').params.sslmode).toBe('verify-full');
  });

  test('a PGPASSFILE that is a FIFO is refused at once (no hang), a directory too; a missing one is no password', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'passfile-'));
    try {
      const fifo = path.join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const d = { host: 'h', port: 5432, database: 'db', user: 'u' };
      expect(() => passfileLookup(fifo, d)).toThrow(/is not a regular file; point PGPASSFILE at a 0600 file/);
      expect(() => passfileLookup(dir, d)).toThrow(/is not a regular file/);
      expect(passfileLookup(path.join(dir, 'missing'), d)).toBeUndefined();
      const ok = path.join(dir, 'pgpass');
      fs.writeFileSync(ok, 'h:5432:db:u:s3cret-9\n', { mode: 0o600 });
      expect(passfileLookup(ok, d)).toBe('s3cret-9');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
