/**
 * lib/redact: a canary password with every awkward character never survives, whatever encoding it took on the way
 * out and whatever shape carries it; unknown secrets in the known shapes are masked by pattern; ordinary text is
 * left alone.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { formatKeyword, formatUrl, type Dsn } from '../../../lib/core/dsn.ts';
import {
  secretAnchor,
  MASK,
  MIN_SECRET_LENGTH,
  Redactor,
  numberLike,
  redactDeep,
  redactJson,
  secretVariants,
} from '../../../lib/core/redact.ts';

/** The random tail is plain hex: it looks the same in every encoding, so finding it means the canary leaked. */
const TAIL = randomBytes(8).toString('hex');
const CANARY = `Cn'ry"p@ss:w/o%rd 20\\x#y?z&k=v;<b>é🔑+${TAIL}`;

const dsn = (password: string): Dsn => ({
  host: 'db.example',
  port: 5432,
  database: 'app',
  user: 'alice',
  password,
  params: {},
  format: 'url',
});

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const json = (s: string) => JSON.stringify(s).slice(1, -1);

/** The encodings a password meets on its way into our outputs (console, logs, JUnit XML, HTML, JSON, SQL). */
const ENCODINGS: Record<string, (s: string) => string> = {
  raw: (s) => s,
  'percent (encodeURIComponent)': encodeURIComponent,
  'percent, + for space': (s) => encodeURIComponent(s).replace(/%20/g, '+'),
  'percent, lower-case hex': (s) => encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
  'percent, everything (URLSearchParams)': (s) => new URLSearchParams({ p: s }).toString().slice(2),
  "keyword-quoted (\\' \\\\)": (s) => s.replace(/\\/g, '\\\\').replace(/'/g, "\\'"),
  'JSON-escaped': json,
  'JSON, ensure_ascii (\\uXXXX)': (s) =>
    json(s).replace(/[^\x00-\x7f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')),
  'double JSON': (s) => json(json(s)),
  'XML (&amp; &lt;)': xml,
  'HTML &quot; &apos;': (s) => xml(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;'),
  'HTML &quot; &#39;': (s) => xml(s).replace(/"/g, '&quot;').replace(/'/g, '&#39;'),
  'HTML &#34; &#x27;': (s) => xml(s).replace(/"/g, '&#34;').replace(/'/g, '&#x27;'),
  "SQL literal ('' doubling)": (s) => s.replace(/'/g, "''"),
  "shell single quotes ('\\'')": (s) => s.replace(/'/g, `'\\''`),
  'JSON inside XML': (s) => xml(json(s)).replace(/"/g, '&quot;'),
  'percent inside JSON inside XML': (s) => xml(json(encodeURIComponent(s))),
  'keyword-quoted inside JSON inside XML': (s) =>
    xml(json(s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")))
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;'),
};

/** The shapes a password is carried in. */
const SHAPES: Record<string, (encoded: string) => string> = {
  'bare, in a sentence': (e) => `connecting with ${e} now`,
  'URL DSN': (e) => `postgresql://alice:${e}@db.example:5432/app?sslmode=disable`,
  'keyword DSN': (e) => `host=db.example port=5432 dbname=app user=alice password='${e}' sslmode=disable`,
  'PGPASSWORD=': (e) => `PGPASSWORD=${e} pg_dump --format=custom`,
  '"password": "..."': (e) => `{"host":"db.example","password":"${e}","user":"alice"}`,
  'error text': (e) => `FATAL:  password authentication failed for user "alice" (tried ${e})`,
};

function expectGone(out: string, encoded: string) {
  expect(out).not.toContain(TAIL);
  expect(out).not.toContain(CANARY);
  if (encoded.length >= MIN_SECRET_LENGTH) expect(out).not.toContain(encoded);
  expect(out).toContain(MASK);
}

describe('a known canary password never survives, in any encoding and shape', () => {
  const r = new Redactor([CANARY]);
  for (const [encName, encode] of Object.entries(ENCODINGS)) {
    describe(encName, () => {
      for (const [shapeName, shape] of Object.entries(SHAPES)) {
        test(shapeName, () => {
          const encoded = encode(CANARY);
          const out = r.redact(shape(encoded));
          expectGone(out, encoded);
        });
      }
    });
  }

  test('the DSN formatters output: URL, keyword, both inside JSON and inside XML', () => {
    for (const text of [formatUrl(dsn(CANARY)), formatKeyword(dsn(CANARY))]) {
      for (const wrapped of [
        text,
        JSON.stringify({ dsn: text }),
        xml(JSON.stringify({ dsn: text })),
        JSON.stringify(JSON.stringify({ dsn: text })),
      ]) {
        const out = r.redact(wrapped);
        expect(out).not.toContain(TAIL);
        expect(out).toContain('db.example'); // only the secret goes
      }
    }
  });

  test('several occurrences on one line, and a line of nothing else', () => {
    expect(r.redact(`${CANARY} and ${encodeURIComponent(CANARY)}`)).toBe(`${MASK} and ${MASK}`);
    expect(r.redact(CANARY)).toBe(MASK);
  });

  test('the sandbox-style password (quotes, @ : / % space \\ # ? & = ;) too', () => {
    const pw = `p'a"s@s:w/o%rd 20\\x#y?z&k=v;${TAIL}`;
    const rr = new Redactor([pw]);
    for (const encode of Object.values(ENCODINGS)) {
      for (const shape of Object.values(SHAPES)) expect(rr.redact(shape(encode(pw)))).not.toContain(TAIL);
    }
  });

  test('secretVariants lists the encoded forms (at least the usual ones)', () => {
    const v = secretVariants(CANARY);
    for (const e of [
      CANARY,
      encodeURIComponent(CANARY),
      json(CANARY),
      json(json(CANARY)),
      xml(CANARY),
      CANARY.replace(/'/g, "''"),
    ]) {
      expect(v).toContain(e);
    }
  });

  test('two secrets, one containing the other: the longer is masked whole', () => {
    const rr = new Redactor(['abc123', 'xxabc123yy']);
    expect(rr.redact('a xxabc123yy b abc123 c')).toBe(`a ${MASK} b ${MASK} c`);
  });
});

describe('pattern redaction: unknown secrets in the known shapes', () => {
  const r = new Redactor(); // knows no secret
  const secret = `Unk'now"n@pw:x/y%z&q=1;${TAIL}`;
  const noSpace = `Unk'now"n@pw:x%z&q=1;${TAIL}`;
  const cases: Record<string, string> = {
    "URL DSN from formatUrl (raw ' left by encodeURIComponent)": formatUrl(dsn(secret)),
    'URL DSN with a raw "@" in the password': `postgresql://alice:p@ss${TAIL}@db.example/app`,
    'URL DSN in JSON': JSON.stringify({ url: formatUrl(dsn(secret)) }),
    'URL DSN, HTML-escaped': xml(formatUrl(dsn(secret))).replace(/'/g, '&#39;'),
    'redis URL with an empty user': `redis://:${TAIL}@cache.example:6379/0`,
    'keyword DSN from formatKeyword (quoted)': formatKeyword(dsn(secret)),
    'keyword DSN, bare value': `host=db.example password=${TAIL}x dbname=app`,
    'keyword DSN, bare value with \\ escapes': `host=db.example password=a\\ b\\'${TAIL} dbname=app`, // secret-scan:allow
    'keyword DSN, unterminated quote (a truncated line)': `host=db.example password='abc ${TAIL}`,
    'keyword DSN in JSON': JSON.stringify({ dsn: `host=h password=${TAIL}` }),
    'sslpassword=': `host=h sslpassword=${TAIL} sslkey=/k`,
    'URL query ?password=': `postgresql://db.example/app?user=alice&password=${encodeURIComponent(secret)}&sslmode=require`,
    'PGPASSWORD= bare': `PGPASSWORD=${encodeURIComponent(noSpace)} psql`,
    'PGPASSWORD in double quotes': `PGPASSWORD="${secret.replace(/["\\$`]/g, '\\$&')}" psql`,
    "PGPASSWORD in single quotes, with '\\'' inside": `PGPASSWORD='${secret.replace(/'/g, `'\\''`)}' psql`,
    'PGPASSWORD: in YAML': `  PGPASSWORD: ${TAIL}`,
    '"password": "..."': JSON.stringify({ password: secret }),
    '"PGPASSWORD": "..." (env as JSON)': JSON.stringify({ PGHOST: 'h', PGPASSWORD: secret }),
    '"db_password": "..."': JSON.stringify({ db_password: secret }, null, 2),
    'double JSON "password"': JSON.stringify(JSON.stringify({ password: secret })),
    '&quot;password&quot; in XML': xml(JSON.stringify({ password: secret })).replace(/"/g, '&quot;'),
    "SQL: ALTER ROLE ... PASSWORD '...'": `ALTER ROLE rehearsal PASSWORD '${secret.replace(/'/g, "''")}'`,
  };
  test.each(Object.entries(cases))('%s', (_, text) => {
    const out = r.redact(text);
    expect(out).not.toContain(TAIL);
    expect(out).toContain(MASK);
  });

  test('the shape around the secret stays readable', () => {
    expect(r.redact(`postgresql://alice:${TAIL}@db.example:5432/app`)).toBe(
      'postgresql://alice:***@db.example:5432/app',
    );
    expect(r.redact(`host=h password='${TAIL}' dbname=app`)).toBe('host=h password=*** dbname=app');
    expect(r.redact(`{"password":"${TAIL}","user":"u"}`)).toBe('{"password":"***","user":"u"}');
    expect(r.redact(`PGPASSWORD=${TAIL} pg_dump -Fc`)).toBe('PGPASSWORD=*** pg_dump -Fc');
    expect(r.redact(`?user=u&password=${TAIL}&sslmode=require`)).toBe('?user=u&password=***&sslmode=require');
  });

  test('redacting twice changes nothing more (idempotent)', () => {
    for (const text of Object.values(cases)) {
      const once = r.redact(text);
      expect(r.redact(once)).toBe(once);
    }
  });
});

describe('ordinary text is left alone', () => {
  const r = new Redactor([CANARY]);
  const ordinary = [
    'row count public.users: source 30, target 30',
    'password reset is handled by the API',
    'the password authentication failed for user "alice"',
    'postgresql://alice@db.example:5432/app',
    'postgresql://db.example:5432/app?sslmode=require',
    'host=db.example port=5432 dbname=app user=alice',
    'https://example.com/path?x=1&y=2#frag',
    'mail alice@example.com about it',
    'PGHOST=db.example PGPORT=5432 PGUSER=alice',
    '{"user":"alice","passwords_checked":3}',
    'password=*** already masked',
    'a:b@c is not a URL',
    '',
  ];
  test.each(ordinary)('%j', (text) => {
    expect(r.redact(text)).toBe(text);
  });

  test(`secrets shorter than ${MIN_SECRET_LENGTH} characters are ignored by design (they would mask ordinary text)`, () => {
    // A 2-character password is not registered: masking every "ab" would wreck every line and protect next to
    // nothing. Pattern redaction still masks it in a DSN shape.
    const rr = new Redactor(['ab', 'é', '', undefined]);
    expect(rr.size).toBe(0);
    expect(rr.redact('table ab_cd has 2 rows')).toBe('table ab_cd has 2 rows');
    expect(rr.redact('postgresql://u:ab@db.example/app')).toBe('postgresql://u:***@db.example/app'); // secret-scan:allow
    expect(rr.redact('host=h password=ab')).toBe('host=h password=***'); // secret-scan:allow
  });

  test('a 3-character secret is registered and masked', () => {
    const rr = new Redactor(['q7z']);
    expect(rr.size).toBeGreaterThan(0);
    expect(rr.redact('x q7z y')).toBe(`x ${MASK} y`);
  });

  test('adding the same secret twice is harmless', () => {
    const rr = new Redactor([CANARY]);
    const n = rr.size;
    rr.add(CANARY);
    expect(rr.size).toBe(n);
  });
});

describe('redactDeep', () => {
  test('masks password/secret/token keys and redacts every string, keeping the structure', () => {
    const r = new Redactor([CANARY]);
    const value = {
      password: 'anything',
      PGPASSWORD: 'x', // secret-scan:allow
      sslpassword: 'y',
      token: 12345,
      nested: [{ dsn: formatUrl(dsn(CANARY)), note: `tried ${CANARY}` }, 7, null, true],
      count: 3,
      missing: undefined,
    };
    const out = redactDeep(value, r);
    expect(out.password).toBe(MASK);
    expect(out.PGPASSWORD).toBe(MASK);
    expect(out.sslpassword).toBe(MASK);
    expect(out.token).toBe(MASK);
    expect(out.count).toBe(3);
    expect(out.nested[1]).toBe(7);
    expect(out.nested[2]).toBe(null);
    expect(JSON.stringify(out)).not.toContain(TAIL);
    expect((out.nested[0] as { dsn: string }).dsn).toBe('postgresql://alice:***@db.example:5432/app');
  });
});

describe('issue 26: redaction never breaks JSON or rewrites numbers', () => {
  test('a number-like password (2026, 12.5, a date) is not masked as a literal, only where secrets go', () => {
    for (const pw of ['2026', '12.5', '2026-12-07', '1234567']) {
      const rr = new Redactor([pw]);
      expect(rr.size).toBe(0);
      expect(rr.redact(`finished 2026-12-07T04:00:00Z, 2026 rows, 12.5 s, 1234567 bytes`)).toBe(
        `finished 2026-12-07T04:00:00Z, 2026 rows, 12.5 s, 1234567 bytes`,
      );
      expect(rr.redact(`postgresql://u:${pw}@db.example/app`)).toBe(`postgresql://u:${MASK}@db.example/app`); // secret-scan:allow
      expect(rr.redact(`host=h password=${pw}`)).toBe(`host=h password=${MASK}`); // secret-scan:allow
      expect(rr.redact(`PGPASSWORD=${pw}`)).toBe(`PGPASSWORD=${MASK}`);
    }
  });

  test('redactJson: valid JSON out, numbers untouched, keys and strings redacted, a "password" key masked', () => {
    const rr = new Redactor(['s3cr3t-Key']);
    const doc = {
      finishedAt: '2026-12-07T04:00:00Z',
      durationMs: 2026,
      totals: { passed: 28, failed: 0 },
      errors: [`cannot connect to postgresql://u:${'s3cr3t-Key'}@h/db`], // secret-scan:allow
      ['s3cr3t-Key in a name']: true,
      password: '2026',
    };
    const text = JSON.stringify(doc, null, 2) + '\n';
    const out = redactJson(text, (s) => rr.redact(s));
    const back = JSON.parse(out);
    expect(back.durationMs).toBe(2026);
    expect(back.totals).toEqual({ passed: 28, failed: 0 });
    expect(back.finishedAt).toBe('2026-12-07T04:00:00Z');
    expect(back.password).toBe(MASK);
    expect(out).not.toContain('s3cr3t-Key');
    expect(out.endsWith('}\n')).toBe(true);
    expect(out).toMatch(/^\{\n {2}"/);
  });

  test('redactJson leaves a document without secrets byte for byte, and redacts non-JSON as text', () => {
    const rr = new Redactor(['s3cr3t-Key']);
    const text = '{"a":1,  "b":[2026]}';
    expect(redactJson(text, (s) => rr.redact(s))).toBe(text);
    expect(redactJson('not json s3cr3t-Key', (s) => rr.redact(s))).toBe(`not json ${MASK}`);
  });

  test('numberLike', () => {
    for (const s of ['2026', '3.14', '2026-12-07', '10:00', '1e5']) expect(numberLike(s)).toBe(true);
    for (const s of ['abc', 's3cret', 'p@55', '']) expect(numberLike(s)).toBe(false);
  });
});

describe('the anchor pre-check: the literal pattern runs only on text that can hold a secret', () => {
  test("a secret's anchor is its longest run of characters no encoder changes", () => {
    expect(secretAnchor(`p@ss w0rd-x'"ab`)).toBe('w0rd-x');
    expect(secretAnchor(`'"@ %&`)).toBe('');
  });

  test('every encoded form of a secret (each variant, and a mix) contains its anchor and is masked', () => {
    for (const secret of [`Zq'"\\ %&<>${'é'}ab12`, `'"@ %&<>`, `x${randomBytes(6).toString('base64')}'"`]) {
      const r = new Redactor([secret]);
      const anchor = secretAnchor(secret);
      for (const v of secretVariants(secret)) {
        if (anchor) expect(v).toContain(anchor);
        expect(r.redact(`before ${v} after`), v).toBe(`before ${MASK} after`);
      }
      expect(r.size).toBe(new Set(secretVariants(secret)).size);
    }
  });

  test('text without any anchor is returned as it is (no literal pattern built)', () => {
    const r = new Redactor([`Anchor9'"%`]);
    expect(r.redact('nothing to see: 12 rows, public.users')).toBe('nothing to see: 12 rows, public.users');
    expect((r as unknown as { literalRe: RegExp | null }).literalRe).toBeNull();
    expect(r.redact(`x Anchor9%27"%25 y`)).toBe(`x ${MASK} y`);
  });
});
