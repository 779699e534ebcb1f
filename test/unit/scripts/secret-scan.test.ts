/**
 * The repository secret scan (lib/secret-scan): first the scanner itself, seeded with positives and negatives, then
 * the scan of this repository — every git-tracked file plus untracked, non-ignored ones.
 *
 * The positives below are fake credentials written for this test; each such line carries the scanner's own
 * `secret-scan:allow` pragma, which is what keeps the repository scan at the bottom green.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import {
  type FindingKind,
  entropy,
  formatFinding,
  isPlaceholder,
  looksLikeCredential,
  repoFiles,
  scanRepo,
  scanText,
} from '../../../scripts/secret-scan.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');

/** [file name, line, expected kind] — each must be found. */
const POSITIVES: Array<[string, string, FindingKind]> = [
  ['x.md', 'postgresql:' + '//app:Sup3rS3cret@db.internal:5432/app', 'dsn-password'], // secret-scan:allow
  ['x.md', 'postgres:' + '//app:p%40ss%2Fw0rd@db/app', 'dsn-password'], // secret-scan:allow
  ['x.ts', "const url = 'postgresql:" + "//app:Sup3rS3cret@127.0.0.1/app';", 'dsn-password'], // secret-scan:allow
  ['.env', 'DATABASE_URL="postgresql:' + '//u:realpass1@h/db"', 'dsn-password'], // secret-scan:allow
  ['x.md', 'mysql://root:hunter22@localhost/db', 'dsn-password'], // secret-scan:allow
  ['x.yml', 'url: redis://:s3cr3tpass@cache:6379/0', 'dsn-password'], // secret-scan:allow
  ['x.md', 'postgresql:' + '//app:p@ss@w0rd@db/app (raw @ in the password)', 'dsn-password'], // secret-scan:allow
  ['x.md', 'host=db port=5432 dbname=app user=app password=Sup3rS3cret', 'dsn-password'], // secret-scan:allow
  ['x.md', "host=db dbname=app password='it\\'s secret'", 'dsn-password'], // secret-scan:allow
  ['run.sh', 'export PGPASSWORD=Sup3rS3cret', 'dsn-password'], // secret-scan:allow
  ['run.sh', 'PGPASSWORD="Sup3rS3cret" pg_dump -Fc app', 'dsn-password'], // secret-scan:allow
  ['compose.yml', '      PGPASSWORD: Sup3rS3cret', 'dsn-password'], // secret-scan:allow
  ['x.ts', "const env = { PGPASSWORD: 'Sup3rS3cret' };", 'dsn-password'], // secret-scan:allow
  ['x.ts', "spawn('sh', ['-c', 'PGPASSWORD=Sup3rS3cret psql']);", 'dsn-password'], // secret-scan:allow
  ['x.md', 'the staging box is 10.0.0.5', 'private-ip'], // secret-scan:allow
  ['x.md', 'host=172.16.0.1', 'private-ip'], // secret-scan:allow
  ['x.md', 'gateway 172.31.255.254.', 'private-ip'], // secret-scan:allow
  ['x.md', 'http://192.168.1.10:8080/health', 'private-ip'], // secret-scan:allow
  ['x.json', '{"host":"10.255.0.1"}', 'private-ip'], // secret-scan:allow
  ['x.md', 'rsync deploy@10.1.2.3:/srv/.data', 'private-ip'], // secret-scan:allow
  ['x.md', 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE', 'aws-access-key'], // secret-scan:allow
  ['x.md', 'ASIAY34FZKBOKMUTVV7A', 'aws-access-key'], // secret-scan:allow
  ['key.pem', '-----BEGIN RSA PRIVATE KEY-----', 'private-key'], // secret-scan:allow
  ['key', '-----BEGIN OPENSSH PRIVATE KEY-----', 'private-key'], // secret-scan:allow
  ['key', '-----BEGIN PRIVATE KEY-----', 'private-key'], // secret-scan:allow
  ['key', '-----BEGIN EC PRIVATE KEY-----', 'private-key'], // secret-scan:allow
  ['key', '-----BEGIN ENCRYPTED PRIVATE KEY-----', 'private-key'], // secret-scan:allow
  ['key.asc', '-----BEGIN PGP PRIVATE KEY BLOCK-----', 'private-key'], // secret-scan:allow
  ['x.md', 'token: ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R', 'github-token'], // secret-scan:allow
  ['x.md', 'gho_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab', 'github-token'], // secret-scan:allow
  ['x.md', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz', 'github-token'], // secret-scan:allow
  ['x.md', 'xoxb-123456789012-abcdefghijkl', 'slack-token'], // secret-scan:allow
  ['x.env', 'secret=9f8e7d6c5b4a39281706f5e4d3c2b1a0', 'secret-assignment'], // secret-scan:allow
  ['x.yml', 'API_TOKEN: "Zx9Qw8Er7Ty6Ui5Op4As3Df2"', 'secret-assignment'], // secret-scan:allow
  ['x.json', '"client_secret": "AbCdEf0123456789GhIjKl"', 'secret-assignment'], // secret-scan:allow
  ['x.py', "auth_token = 'a1B2c3D4e5F6g7H8i9J0k1L2'", 'secret-assignment'], // secret-scan:allow
  ['x.ts', 'const apiKey = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";', 'secret-assignment'], // secret-scan:allow
];

/** [file name, line] — none may be found. */
const NEGATIVES: Array<[string, string]> = [
  ['x.md', 'postgresql://<user>:<password>@<host>:<port>/<db>'],
  ['x.md', 'postgresql:' + '//user:***@db.example/app'],
  ['x.ts', 'const u = `postgresql://${user}:${password}@${host}/db`;'],
  ['x.ts', 'const u = `postgresql://${u}:${encodeURIComponent(pw)}@h/db`;'],
  ['x.sh', 'psql "postgresql://$PGUSER:$PGPASSWORD@db/app"'],
  ['x.md', 'postgresql://alice@db.example:5432/app'],
  ['x.md', 'postgresql:' + '//user:password@host:5432/db'],
  ['x.md', 'postgresql:' + '//user:pw@host:port/db?sslmode=...'],
  ['x.py', 'url = "postgresql:' + '//%s:%s@%s/%s" % (u, p, h, d)'],
  ['x.py', 'url = f"postgresql://{user}:{password}@{host}/db"'],
  ['x.md', 'https://registry.npmjs.org/pg/-/pg-8.23.1.tgz'],
  ['x.md', 'git@github.com:org/repo.git and ssh://git@host/repo'],
  ['x.md', 'mail alice@example.com, see http://host:8080/path@x'],
  ['x.md', 'host=<host> port=<port> dbname=<db> user=<user> password=<password>'],
  ['x.md', 'host=db dbname=app password=***'],
  ['x.md', 'host=db dbname=app password=${DB_PASSWORD}'],
  ['x.md', "host=db dbname=app password='...'"],
  ['x.md', 'the password= keyword is quoted when needed'],
  ['x.sh', 'PGPASSWORD=$PW psql'],
  ['x.sh', 'PGPASSWORD="${PGPASSWORD}" pg_dump'],
  ['x.yml', '      PGPASSWORD: ${{ secrets.PGPASSWORD }}'],
  ['x.ts', 'env.PGPASSWORD = d.password;'],
  ['x.ts', 'const env = { PGPASSWORD: d.password, PGUSER: d.user };'],
  ['x.ts', 'if (d.password !== undefined) env.PGPASSWORD = d.password;'],
  ['x.md', 'connect to 127.0.0.1 or 127.1.2.3 (loopback is fine)'],
  ['x.md', 'public: 8.8.8.8, 172.15.0.1, 172.32.0.1, 192.169.1.1, 11.0.0.1'],
  ['x.md', 'version v10.1.2.3 and 1.10.0.0.1 and 110.0.0.1 and 10.0.0.256'],
  ['x.md', 'node 20.19.43 needs zx 8.8.5'],
  ['x.md', 'AKIAshort, akiaiosfodnn7example'],
  ['x.md', '-----BEGIN PUBLIC KEY----- and -----BEGIN CERTIFICATE-----'],
  ['x.md', 'ghp_short and gh_1234'],
  ['x.ts', 'const token = process.env.GITHUB_TOKEN;'],
  ['x.ts', "const secret = 'short';"],
  ['x.ts', 'tokenCount: 12345678901234567890'],
  ['x.ts', 'const tokenizer = new Tokenizer();'],
  ['x.ts', 'auth: "basic-authentication-disabled"'],
  [
    'package-lock.json',
    '"integrity": "sha512-Q2mUk6bEGK5JcAe9hfMd1t8tR7r7Mn4QlkBh0cyD6cUwJIjn8rQvR8y8Cz0U5cx6tZ5ldR4Q6jX0qIzuJRf5Jg=="',
  ],
  ['x.md', 'postgresql:' + '//app:Sup3rS3cret@db/app  <- in a fixture: secret-scan:allow'], // the pragma itself
];

describe('scanText: positives are found', () => {
  test.each(POSITIVES)('%s: %s', (file, line, kind) => {
    const findings = scanText(line, file);
    expect(findings.map((f) => f.kind)).toContain(kind);
    for (const f of findings) {
      expect(f.file).toBe(file);
      expect(f.line).toBe(1);
    }
  });
});

describe('scanText: negatives are not', () => {
  test.each(NEGATIVES)('%s: %s', (file, line) => {
    expect(scanText(line, file).map(formatFinding)).toEqual([]);
  });
});

describe('scanText details', () => {
  test('findings carry the line number and never the secret', () => {
    const text = [
      'ok',
      'still ok',
      'postgresql:' + '//app:Sup3rS3cretValue@db/app', // secret-scan:allow
      'PGPASSWORD=An0therSecret', // secret-scan:allow
    ].join('\n');
    const f = scanText(text, 'notes.md');
    expect(f.map((x) => [x.line, x.kind])).toEqual([
      [3, 'dsn-password'],
      [4, 'dsn-password'],
    ]);
    for (const x of f) {
      expect(formatFinding(x)).not.toMatch(/Sup3|An0t|Value|Secret/);
    }
    expect(formatFinding(f[0])).toMatch(/^notes\.md:3: dsn-password \(/);
  });

  test('CRLF line endings', () => {
    expect(scanText('a\r\nhost 10.9.8.7\r\n', 'x.txt')).toMatchObject([{ line: 2, kind: 'private-ip' }]); // secret-scan:allow
  });

  test('"secret-scan:allow-next-line" allows exactly the next line', () => {
    const text = [
      '// secret-scan:allow-next-line (fixture)',
      'host 10.9.8.7', // secret-scan:allow
      'host 10.9.8.6', // secret-scan:allow
    ].join('\n');
    expect(scanText(text, 'x.ts').map((f) => f.line)).toEqual([3]);
  });

  test('a private key block is found by its header line', () => {
    const pem = [
      '-----BEGIN PRIVATE KEY-----', // secret-scan:allow
      'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
      '-----END PRIVATE KEY-----',
    ].join('\n');
    expect(scanText(pem, 'k.pem')).toMatchObject([{ line: 1, kind: 'private-key' }]);
  });

  test('isPlaceholder', () => {
    for (const v of [
      '<password>',
      '***',
      '${PW}',
      '${opts.x',
      '$PGPASSWORD',
      '$(cat pw)',
      '%s',
      '%(password)s',
      '{password}',
      '{{ password }}',
      '...',
      '',
      'xxxx',
      'password',
      "'<pw>'",
    ]) {
      expect(isPlaceholder(v), v).toBe(true);
    }
    for (const v of ['hunter2', 'Sup3rS3cret', 'p@ss', '<x', 'x>']) expect(isPlaceholder(v), v).toBe(false);
  });

  test('entropy and looksLikeCredential', () => {
    expect(entropy('aaaa')).toBe(0);
    expect(entropy('abcd')).toBe(2);
    expect(looksLikeCredential('9f8e7d6c5b4a39281706f5e4d3c2b1a0')).toBe(true);
    expect(looksLikeCredential('aaaaaaaaaaaaaaaaaaaaaaaa1')).toBe(false); // low entropy
    expect(looksLikeCredential('process.env.GITHUB_TOKEN')).toBe(false); // no digit
    expect(looksLikeCredential('a1b2c3')).toBe(false); // short
  });
});

describe('scanRepo on a throw-away git repository', () => {
  test('tracked and untracked files are scanned; ignored and binary ones are not', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secret-scan-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { stdio: 'pipe' });
    git('init', '-q');
    fs.writeFileSync(path.join(dir, '.gitignore'), 'ignored.txt\n');
    fs.writeFileSync(path.join(dir, 'tracked.md'), 'clean line\nhost 10.0.0.9\n'); // secret-scan:allow
    fs.writeFileSync(path.join(dir, 'untracked.sh'), 'export PGPASSWORD=Sup3rS3cret\n'); // secret-scan:allow
    fs.writeFileSync(path.join(dir, 'ignored.txt'), 'host 192.168.0.1\n'); // secret-scan:allow
    fs.writeFileSync(path.join(dir, 'blob.bin'), Buffer.from([0x31, 0x30, 0x2e, 0x30, 0, 0x2e, 0x30]));
    fs.mkdirSync(path.join(dir, 'sub dir'));
    fs.writeFileSync(path.join(dir, 'sub dir', 'näme with space.md'), 'ok\n');
    git('add', 'tracked.md', '.gitignore');
    expect(repoFiles(dir)).toEqual([
      '.gitignore',
      'blob.bin',
      'sub dir/näme with space.md',
      'tracked.md',
      'untracked.sh',
    ]);
    const r = scanRepo(dir);
    expect(r.findings.map(formatFinding)).toEqual([
      'tracked.md:2: private-ip (10.0.*.*)',
      'untracked.sh:1: dsn-password (PGPASSWORD=***(11 chars))',
    ]);
    expect(r.skipped).toEqual([{ file: 'blob.bin', reason: 'binary' }]);
    expect(r.scanned).toContain('sub dir/näme with space.md');
  });

  test('a tracked file deleted from the working tree is reported as skipped, not a crash', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secret-scan-'));
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
    execFileSync('git', ['-C', dir, 'init', '-q']);
    fs.writeFileSync(path.join(dir, 'gone.md'), 'x\n');
    execFileSync('git', ['-C', dir, 'add', 'gone.md']);
    fs.rmSync(path.join(dir, 'gone.md'));
    expect(scanRepo(dir)).toMatchObject({ findings: [], skipped: [{ file: 'gone.md' }] });
  });
});

describe('this repository', () => {
  test('no tracked or untracked (non-ignored) file holds an inline DSN password, a private IP or a credential', () => {
    const r = scanRepo(ROOT);
    expect(r.scanned).toEqual(
      expect.arrayContaining([
        'package.json',
        'lib/core/dsn.ts',
        'scripts/secret-scan.ts',
        'test/unit/scripts/secret-scan.test.ts',
      ]),
    );
    expect(r.scanned.some((f) => f.startsWith('node_modules/'))).toBe(false);
    expect(
      r.findings.map(formatFinding),
      'secret scan findings (add a placeholder, or `secret-scan:allow` for a deliberate fixture)',
    ).toEqual([]);
  });
});
