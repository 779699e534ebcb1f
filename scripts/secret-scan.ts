/**
 * Repository secret scan: finds what must never be committed (the seed: real DSNs, passwords, internal IPs and
 * credentials live only in the environment or a server-side .env).
 *
 * - a DSN with an inline password (URL userinfo, a keyword DSN's password=, PGPASSWORD=) that is not a placeholder
 *   such as `<password>`, `***` or `${...}`;
 * - a private IPv4 address (10/8, 172.16/12, 192.168/16; loopback 127/8 is fine);
 * - a credential-like token: AWS access key ids, PEM private keys, GitHub and Slack tokens, and long high-entropy
 *   values assigned to secret/token/key names.
 *
 * scanText() is pure; repoFiles()/scanRepo() apply it to every git-tracked file plus untracked, non-ignored ones.
 * A deliberate fixture (a test of this scanner or of the DSN parser) is allowed by a pragma on the same line,
 * `secret-scan:allow`, or on the line before, `secret-scan:allow-next-line`; there is no file-wide switch, so every
 * exception is visible where it is.
 * Findings never carry the secret itself: only its kind, place and a masked hint.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export type FindingKind =
  | 'dsn-password'
  | 'private-ip'
  | 'aws-access-key'
  | 'private-key'
  | 'github-token'
  | 'slack-token'
  | 'secret-assignment';

export interface Finding {
  file: string;
  /** 1-based. */
  line: number;
  kind: FindingKind;
  /** A masked hint of what matched (never the secret). */
  hint: string;
}

const ALLOW_THIS = /secret-scan:allow(?!-next-line)/;
const ALLOW_NEXT = 'secret-scan:allow-next-line';

/** Values that stand for a secret rather than being one. */
export function isPlaceholder(value: string): boolean {
  const v = value.trim().replace(/^(['"])(.*)\1$/, '$2');
  if (v === '') return true;
  return (
    /^<[^<>]*>$/.test(v) || // <password>
    /^\*+$/.test(v) ||
    /^(?:\\*\*){3}/.test(v) || // *** (the mask, also escaped in a regular expression or a JSON string: \*\*\*)
    /\$\{[^}]*\}?/.test(v) || // ${VAR}, a template interpolation (also cut short: `${opts.redact ? ...`)
    /^\$[A-Za-z_][A-Za-z0-9_]*$/.test(v) || // $VAR
    /^\$\(.*\)?$/.test(v) || // $(command)
    /^%\(?[A-Za-z_]*\)?s$/.test(v) || // %s, %(password)s
    /^\{\{?[^{}]*\}?\}$/.test(v) || // {password}, {{ password }}
    /^(?:\.\.\.|…)$/.test(v) || // ...
    /^x{3,}$/i.test(v) || // xxxx
    // the word itself, as when documentation writes the literal word password in place of one
    /^(?:password|passwd|pass|pwd|pw|secret|changeme|redacted|placeholder|your[-_]?password)$/i.test(v)
  );
}

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** A hint that shows no character of the secret, only its size (and a token's public type prefix, if given). */
function mask(s: string, prefix = ''): string {
  return `${prefix}***(${[...s].length} chars)`;
}

/** scheme://user:password@ — the password runs to the last "@" before the path. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*):\/\/([^\s:@/?#'"`<>]*|<[^<>\s]*>|\$\{[^}]*\}):([^\s/?#'"`]*)@/gi;
/** A keyword DSN's password: needs another libpq keyword on the line, so prose about "password=" is not a DSN. */
const KEYWORD_PASSWORD = /(?<![\w.])password\s*=('(?:\\.|[^'\\])*'|[^\s'"`,;)&]+)/gi;
const KEYWORD_CONTEXT = /\b(?:host|hostaddr|dbname|user|port|sslmode)\s*=\s*\S/i;
const PGPASSWORD = /\bPGPASSWORD(\s*[=:]\s*)("(?:\\.|[^"\\])*"|'[^']*'|[^\s'"`,;)}]+)/g;
/** Source code: `PGPASSWORD: d.password` is an expression, not a literal; only a quoted value or an inline "=" counts. */
const CODE_FILE = /\.(?:[cm]?[jt]sx?|py|rb|go|rs|java)$/i;
const IPV4 = /(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\w]|\.\d)/g;
const AWS_KEY = /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g;
const PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g;
const GITHUB_TOKEN = /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/g;
const SLACK_TOKEN = /\bxox[abprs]-[A-Za-z0-9-]{10,}\b/g;
/** name = value / name: value / "name": "value" where the name says secret/token/key. */
const SECRET_ASSIGNMENT =
  /\b([A-Za-z0-9_.-]*(?:secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|auth)[A-Za-z0-9_-]*)["']?\s*[:=]\s*(["'`]?)([A-Za-z0-9+/_=.~-]{20,})\2/gi;

/** Is a.b.c.d a private (RFC 1918) address? Loopback, link-local and public addresses are not reported. */
export function isPrivateIPv4(a: number, b: number): boolean {
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/** A value assigned to a secret-ish name looks like a real credential: long, mixed, random-looking. */
export function looksLikeCredential(value: string): boolean {
  if (isPlaceholder(value)) return false;
  if (value.length < 20) return false;
  if (!/\d/.test(value) || !/[A-Za-z]/.test(value)) return false;
  if (/^[a-z0-9]+(?:[._-][a-z0-9]+)+$/i.test(value) && entropy(value) < 4) return false; // dotted/kebab names
  return entropy(value) >= 3.5;
}

/** Scan one file's text. Pure. */
export function scanText(text: string, file = '<text>'): Finding[] {
  const findings: Finding[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (ALLOW_THIS.test(line)) continue;
    if (i > 0 && lines[i - 1].includes(ALLOW_NEXT)) continue;
    const add = (kind: FindingKind, hint: string) => findings.push({ file, line: i + 1, kind, hint });

    for (const m of line.matchAll(URL_USERINFO)) {
      const password = m[3];
      if (!isPlaceholder(password)) add('dsn-password', `${m[1]}://${m[2] ? 'user' : ''}:${mask(password)}@…`);
    }
    if (KEYWORD_CONTEXT.test(line)) {
      for (const m of line.matchAll(KEYWORD_PASSWORD)) {
        const v = m[1].replace(/^'(.*)'$/, '$1');
        if (!isPlaceholder(v)) add('dsn-password', `password=${mask(v)}`);
      }
    }
    for (const m of line.matchAll(PGPASSWORD)) {
      const [, sep, value] = m;
      const quoted = /^["']/.test(value);
      if (!quoted && CODE_FILE.test(file) && sep !== '=') continue;
      if (!isPlaceholder(value)) add('dsn-password', `PGPASSWORD=${mask(value)}`);
    }
    for (const m of line.matchAll(IPV4)) {
      const o = m.slice(1, 5).map(Number);
      if (o.some((x) => x > 255)) continue;
      if (isPrivateIPv4(o[0], o[1])) add('private-ip', `${o[0]}.${o[1]}.*.*`);
    }
    for (const m of line.matchAll(AWS_KEY)) add('aws-access-key', mask(m[0], m[0].slice(0, 4)));
    for (const m of line.matchAll(PRIVATE_KEY)) add('private-key', m[0]);
    for (const m of line.matchAll(GITHUB_TOKEN))
      add('github-token', mask(m[0], m[0].startsWith('github_pat_') ? 'github_pat_' : m[0].slice(0, 4)));
    for (const m of line.matchAll(SLACK_TOKEN)) add('slack-token', mask(m[0], m[0].slice(0, 5)));
    for (const m of line.matchAll(SECRET_ASSIGNMENT)) {
      if (looksLikeCredential(m[3])) add('secret-assignment', `${m[1]}=${mask(m[3])}`);
    }
  }
  return findings;
}

/** Every git-tracked file plus untracked files that .gitignore does not exclude, relative to `root`. */
export function repoFiles(root: string): string[] {
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', root, 'ls-files', '-z', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
      .split('\0')
      .filter(Boolean);
  return [...new Set([...git(), ...git('--others', '--exclude-standard')])].sort();
}

/** Files larger than this are not text we wrote (and are reported as skipped, not scanned). */
const MAX_BYTES = 8 * 1024 * 1024;

export interface RepoScan {
  scanned: string[];
  /** Binary (NUL bytes), too large, or vanished between listing and reading. */
  skipped: Array<{ file: string; reason: string }>;
  findings: Finding[];
}

export function scanRepo(root: string, files: string[] = repoFiles(root)): RepoScan {
  const out: RepoScan = { scanned: [], skipped: [], findings: [] };
  for (const file of files) {
    const full = path.join(root, file);
    let buf: Buffer;
    try {
      const st = fs.lstatSync(full);
      if (!st.isFile()) {
        out.skipped.push({ file, reason: st.isSymbolicLink() ? 'symlink' : 'not a regular file' });
        continue;
      }
      if (st.size > MAX_BYTES) {
        out.skipped.push({ file, reason: `larger than ${MAX_BYTES} bytes` });
        continue;
      }
      buf = fs.readFileSync(full);
    } catch {
      out.skipped.push({ file, reason: 'missing (deleted in the working tree)' });
      continue;
    }
    if (buf.includes(0)) {
      out.skipped.push({ file, reason: 'binary' });
      continue;
    }
    out.scanned.push(file);
    out.findings.push(...scanText(buf.toString('utf8'), file));
  }
  return out;
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}: ${f.kind} (${f.hint})`;
}
