/**
 * PostgreSQL DSNs in the two forms libpq understands: URL (`postgresql://user:<password>@host:port/db?sslmode=...`) and
 * keyword/value (`host=... port=... dbname=... user=... password='...'`).
 *
 * node-postgres parses URLs only (a keyword DSN is silently taken as a database name), so both forms are parsed here
 * into one shape, from which we derive a node-postgres config and the PG* environment for libpq tools. A password
 * never goes on a command line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClientConfig } from 'pg';
import { ConfigError } from './errors.ts';

export interface Dsn {
  /** Host name, IP address, or a unix-socket directory (starts with `/`). Undefined: libpq's default. */
  host?: string;
  port: number;
  database: string;
  user?: string;
  password?: string;
  /** Other libpq parameters (sslmode, connect_timeout, application_name, ...). */
  params: Record<string, string>;
  format: 'url' | 'keyword';
}

/** libpq keywords we map onto fields; everything else goes to `params`. */
const FIELD_KEYWORDS = new Set(['host', 'hostaddr', 'port', 'dbname', 'user', 'password']);
/** Keywords libpq accepts; an unknown keyword is almost always a typo. */
const KNOWN_KEYWORDS = new Set([
  ...FIELD_KEYWORDS,
  'passfile',
  'channel_binding',
  'connect_timeout',
  'client_encoding',
  'options',
  'application_name',
  'fallback_application_name',
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
  'replication',
  'gssencmode',
  'sslmode',
  'requiressl',
  'sslcompression',
  'sslcert',
  'sslkey',
  'sslpassword',
  'sslrootcert',
  'sslcrl',
  'sslcrldir',
  'sslsni',
  'requirepeer',
  'ssl_min_protocol_version',
  'ssl_max_protocol_version',
  'krbsrvname',
  'gsslib',
  'service',
  'target_session_attrs',
  'load_balance_hosts',
]);

/**
 * Parameters whose value libpq takes from a fixed list (libpq docs, "Parameter Key Words"): any other value is refused
 * at parse time (exit 2), not by the first tool that connects (`sslmode=bogus` used to pass preflight and fail the
 * restore).
 */
const PARAM_CHOICES: Record<string, readonly string[]> = {
  sslmode: ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'],
  gssencmode: ['disable', 'prefer', 'require'],
  channel_binding: ['disable', 'prefer', 'require'],
  target_session_attrs: ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'],
  load_balance_hosts: ['disable', 'random'],
  sslcompression: ['0', '1'],
  sslsni: ['0', '1'],
  keepalives: ['0', '1'],
};
/** Parameters libpq reads as a whole number of seconds/counts. */
const INTEGER_PARAMS = new Set([
  'connect_timeout',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
]);

/** Refuse a parameter value libpq would reject (a ConfigError naming `label`, the parameter and the choices). */
export function checkParamValues(params: Record<string, string>, label: string): void {
  for (const [k, v] of Object.entries(params)) {
    const choices = PARAM_CHOICES[k];
    if (choices && !choices.includes(v))
      throw new ConfigError(`${label}: ${k}=${JSON.stringify(v)} is not one of ${choices.join(', ')}`);
    if (INTEGER_PARAMS.has(k) && !/^\d+$/.test(v))
      throw new ConfigError(`${label}: ${k}=${JSON.stringify(v)} is not a whole number`);
  }
}

const SQLALCHEMY = /^\s*(postgres(?:ql)?)\+([a-z0-9_]+):\/\//i;

/** Parse a URL or keyword DSN. `label` (an env var name) goes into every error message. */
export function parseDsn(input: string, label = 'DSN'): Dsn {
  const text = input.trim();
  if (!text) throw new ConfigError(`${label} is empty; set it to postgresql://<user>:<password>@<host>:<port>/<db>`);
  const sa = SQLALCHEMY.exec(text);
  if (sa) {
    const fixed = text.replace(SQLALCHEMY, 'postgresql://');
    let shown: string;
    try {
      shown = formatUrl(parseUrl(fixed, label), { redact: true });
    } catch {
      // Unparseable: showing any part of it could show part of the password, so show the shape only.
      shown = 'postgresql://<user>:<password>@<host>:<port>/<db> (the rest of your DSN unchanged)';
    }
    throw new ConfigError(
      `${label} uses the SQLAlchemy driver scheme "${sa[1]}+${sa[2]}://", which libpq tools (psql, pg_dump, ` +
        `pg_restore) do not understand. Drop the "+${sa[2]}" part: ${shown}`,
    );
  }
  if (/^jdbc:/i.test(text)) {
    throw new ConfigError(
      `${label} is a JDBC URL; drop the "jdbc:" prefix (and put user/password in the URL): postgresql://<user>:<password>@<host>:<port>/<db>`,
    );
  }
  if (/^postgres(?:ql)?:(?!\/\/)/i.test(text)) {
    throw new ConfigError(
      `${label} is missing the "//" after the scheme; write postgresql://<user>:<password>@<host>:<port>/<db>`,
    );
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return parseUrl(text, label);
  if (/^[A-Za-z_]+\s*=/.test(text)) return parseKeyword(text, label);
  throw new ConfigError(
    `${label} is neither a URL DSN (postgresql://<user>:<password>@<host>:<port>/<db>) nor a libpq keyword DSN ` +
      `(host=<host> port=<port> dbname=<db> user=<user> password=<password>)`,
  );
}

function decode(part: string, what: string, label: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError(`${label}: the ${what} has an invalid percent-encoding; encode "%" as %25`);
  }
}

function parsePort(raw: string, label: string): number {
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${label}: port "${raw}" is not a number`);
  const port = Number(raw);
  if (port < 1 || port > 65535) throw new ConfigError(`${label}: port ${port} is out of range 1-65535`);
  return port;
}

/** The parts of a URL DSN as libpq splits them: authority, path, query (each still percent-encoded). */
interface UrlParts {
  authority: string;
  path?: string;
  query?: string;
}

/** The URL's parts; refuses another scheme, a raw "#", and userinfo cut short by a raw "/", "?" or "#". */
function splitUrl(text: string, label: string): UrlParts {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/i.exec(text);
  if (!m)
    throw new ConfigError(
      `${label} is not a valid URL DSN; expected postgresql://<user>:<password>@<host>:<port>/<db>`,
    );
  const scheme = m[1].toLowerCase();
  if (scheme !== 'postgresql' && scheme !== 'postgres') {
    throw new ConfigError(`${label} has scheme "${scheme}://"; use postgresql:// (or postgres://)`);
  }
  const authority = m[2];
  // An "@" after the authority means the userinfo was cut short by a raw "/", "?" or "#" (libpq ends the authority
  // there). Refuse rather than guess: a guess would put a piece of the password into the host or database name,
  // where it is printed. The message quotes nothing from the input for the same reason.
  const afterAuthority = text.slice(m[1].length + 3 + authority.length);
  if (afterAuthority.includes('@')) {
    throw new ConfigError(
      `${label}: the user name or password contains a "/", "?" or "#" that is not percent-encoded ` +
        `(write %2F, %3F, %23; or use a keyword DSN), or the database name or a parameter contains a raw "@" (write %40)`,
    );
  }
  if (m[5] !== undefined) {
    throw new ConfigError(`${label}: a URL DSN cannot contain a raw "#"; percent-encode it as %23`);
  }
  return { authority, path: m[3], query: m[4] };
}

/** `user:password` of the authority (both decoded; an empty user is none). */
function parseUserinfo(userinfo: string | undefined, label: string): { user?: string; password?: string } {
  if (userinfo === undefined) return {};
  const colon = userinfo.indexOf(':');
  return {
    user: decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, 'user name', label) || undefined,
    password: colon >= 0 ? decode(userinfo.slice(colon + 1), 'password', label) : undefined,
  };
}

/** `host:port` of the authority: IPv6 in brackets, one host only, port 5432 when none is given. */
function parseHostPort(hostport: string, label: string): { host?: string; port: number } {
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) throw new ConfigError(`${label}: unterminated IPv6 address "${hostport}"; write [::1]:5432`);
    const host = decode(hostport.slice(1, close), 'host', label);
    const rest = hostport.slice(close + 1);
    if (!rest) return { host, port: 5432 };
    if (!rest.startsWith(':')) throw new ConfigError(`${label}: unexpected "${rest}" after the IPv6 address`);
    return { host, port: parsePort(rest.slice(1), label) };
  }
  if (!hostport) return { port: 5432 };
  if (hostport.includes(',')) throw new ConfigError(`${label}: multiple hosts are not supported; name one host`);
  const colon = hostport.lastIndexOf(':');
  if (hostport.indexOf(':') !== colon) {
    throw new ConfigError(
      `${label}: an IPv6 host must be written in brackets, e.g. postgresql://<user>@[::1]:5432/<db>`,
    );
  }
  if (colon < 0) return { host: decode(hostport, 'host', label), port: 5432 };
  return {
    host: decode(hostport.slice(0, colon), 'host', label) || undefined,
    port: parsePort(hostport.slice(colon + 1), label),
  };
}

/**
 * The query's connection parameters applied over `d` (they win over the authority's, as in libpq); `dbname` goes to
 * `params.__dbname` for the caller. Unknown parameters are refused (after a password: most likely its raw "&").
 */
function applyQuery(query: string | undefined, d: Omit<Dsn, 'database' | 'format'>, label: string): void {
  if (!query || query.length <= 1) return;
  let afterPassword = false;
  for (const pair of query.slice(1).split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    // No "+" → space here: libpq does not do that in URIs, and a password may contain "+".
    const k = decode(eq >= 0 ? pair.slice(0, eq) : pair, 'query parameter', label);
    const v = decode(eq >= 0 ? pair.slice(eq + 1) : '', 'query parameter', label);
    if (!KNOWN_KEYWORDS.has(k)) {
      throw new ConfigError(
        afterPassword
          ? `${label}: unknown connection parameter after "password"; percent-encode "&" in the password as %26`
          : `${label}: unknown connection parameter "${k}"`,
      );
    }
    afterPassword = k === 'password' || k === 'sslpassword';
    if (k === 'host') d.host = v;
    else if (k === 'hostaddr') d.params.hostaddr = v;
    else if (k === 'port') d.port = parsePort(v, label);
    else if (k === 'user') d.user = v;
    else if (k === 'password') d.password = v;
    else if (k === 'dbname') d.params.__dbname = v;
    else d.params[k] = v;
  }
}

function parseUrl(text: string, label: string): Dsn {
  const parts = splitUrl(text, label);
  const at = parts.authority.lastIndexOf('@');
  const userinfo = at >= 0 ? parts.authority.slice(0, at) : undefined;
  const d: Omit<Dsn, 'database' | 'format'> = {
    ...parseUserinfo(userinfo, label),
    ...parseHostPort(at >= 0 ? parts.authority.slice(at + 1) : parts.authority, label),
    params: {},
  };
  const database = parts.path && parts.path !== '/' ? decode(parts.path.slice(1), 'database name', label) : '';
  applyQuery(parts.query, d, label);
  const { params } = d;
  // hostaddr alone is where to connect; with a host, libpq connects to hostaddr and keeps host for TLS and the passfile.
  if (params.hostaddr !== undefined && !d.host) {
    d.host = params.hostaddr;
    delete params.hostaddr;
  }
  let db = database;
  if (params.__dbname !== undefined) {
    db = params.__dbname;
    delete params.__dbname;
  }
  checkParamValues(params, label);
  return {
    host: d.host,
    port: d.port,
    database: db || d.user || '',
    user: d.user,
    password: d.password,
    params,
    format: 'url',
  };
}

/**
 * One value of a keyword DSN starting at `i`: single-quoted (with \' and \\ escapes; a space must follow) or bare (up
 * to the next space, backslash escapes). Returns the value and the position after it.
 */
function readKeywordValue(text: string, i: number, key: string, label: string): { value: string; i: number } {
  const n = text.length;
  let value = '';
  if (text[i] !== "'") {
    while (i < n && !/\s/.test(text[i])) {
      const escaped = text[i] === '\\' && i + 1 < n;
      value += escaped ? text[i + 1] : text[i];
      i += escaped ? 2 : 1;
    }
    return { value, i };
  }
  i++;
  let closed = false;
  while (i < n) {
    const c = text[i];
    if (c === '\\' && i + 1 < n) {
      value += text[i + 1];
      i += 2;
    } else if (c === "'") {
      closed = true;
      i++;
      break;
    } else {
      value += c;
      i++;
    }
  }
  if (!closed) throw new ConfigError(`${label}: unterminated quoted value for "${key}" (escape a quote as \\')`);
  if (i < n && !/\s/.test(text[i]))
    throw new ConfigError(`${label}: expected a space after the quoted value of "${key}"`);
  return { value, i };
}

/** libpq's conninfo grammar: key = value, value either bare (no spaces) or single-quoted with \' and \\ escapes. */
function parseKeyword(text: string, label: string): Dsn {
  const values: Record<string, string> = {};
  /** The previous keyword was a password: a stray token now is most likely the tail of an unquoted password. */
  let afterPassword = false;
  const refuse = (message: string) =>
    new ConfigError(
      afterPassword
        ? `${label}: unexpected text after the password value in the keyword DSN; quote a password that has spaces or ` +
            `quotes: password='...' (escape ' as \\' and \\ as \\\\)`
        : message,
    );
  let i = 0;
  const n = text.length;
  const skipWs = () => {
    while (i < n && /\s/.test(text[i])) i++;
  };
  while (true) {
    skipWs();
    if (i >= n) break;
    const keyStart = i;
    while (i < n && /[A-Za-z0-9_]/.test(text[i])) i++;
    const key = text.slice(keyStart, i);
    if (!key) throw refuse(`${label}: expected a keyword at position ${keyStart + 1} of the keyword DSN`);
    skipWs();
    if (text[i] !== '=') throw refuse(`${label}: missing "=" after "${key}" in the keyword DSN`);
    i++;
    skipWs();
    const read = readKeywordValue(text, i, key, label);
    i = read.i;
    if (!KNOWN_KEYWORDS.has(key)) throw refuse(`${label}: unknown keyword "${key}" in the keyword DSN`);
    if (key in values) throw new ConfigError(`${label}: keyword "${key}" is given twice`);
    values[key] = read.value;
    afterPassword = key === 'password' || key === 'sslpassword';
  }
  return keywordDsn(values, label);
}

/** The Dsn of a keyword DSN's values: fields out of `params`, hostaddr kept only beside a host. */
function keywordDsn(values: Record<string, string>, label: string): Dsn {
  if (Object.keys(values).length === 0) throw new ConfigError(`${label}: the keyword DSN has no keywords`);
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) if (!FIELD_KEYWORDS.has(k)) params[k] = v;
  // hostaddr alone is where to connect; with a host, libpq connects to hostaddr and keeps host for TLS and the passfile.
  if (values.host && values.hostaddr) params.hostaddr = values.hostaddr;
  const user = values.user || undefined;
  checkParamValues(params, label);
  return {
    host: values.host || values.hostaddr || undefined,
    port: values.port !== undefined ? parsePort(values.port, label) : 5432,
    database: values.dbname || user || '',
    user,
    password: values.password,
    params,
    format: 'keyword',
  };
}

/** Parameters other than `password` that hold a secret (the key of an encrypted client certificate). */
export const SECRET_PARAMS = new Set(['sslpassword']);

function quoteKeyword(v: string): string {
  return v === '' || /[\s'\\]/.test(v) ? `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : v;
}

/** URL form. With `redact`, the password (if any) is shown as `***`. */
export function formatUrl(d: Dsn, opts: { redact?: boolean } = {}): string {
  const enc = encodeURIComponent;
  let auth = '';
  if (d.user !== undefined || d.password !== undefined) {
    auth = enc(d.user ?? '');
    if (d.password !== undefined) auth += ':' + (opts.redact ? '***' : enc(d.password));
    auth += '@';
  }
  let host = '';
  const q: string[] = [];
  if (d.host?.startsWith('/')) q.push(`host=${enc(d.host)}`);
  else if (d.host) host = d.host.includes(':') ? `[${d.host.replace(/%/g, '%25')}]` : enc(d.host);
  for (const [k, v] of Object.entries(d.params))
    q.push(`${enc(k)}=${opts.redact && SECRET_PARAMS.has(k) ? '***' : enc(v)}`);
  return `postgresql://${auth}${host}:${d.port}/${enc(d.database)}${q.length ? '?' + q.join('&') : ''}`;
}

/** libpq keyword form. With `redact`, the password (if any) is shown as `***`. */
export function formatKeyword(d: Dsn, opts: { redact?: boolean } = {}): string {
  const parts: string[] = [];
  if (d.host) parts.push(`host=${quoteKeyword(d.host)}`);
  parts.push(`port=${d.port}`, `dbname=${quoteKeyword(d.database)}`);
  if (d.user !== undefined) parts.push(`user=${quoteKeyword(d.user)}`);
  if (d.password !== undefined) parts.push(`password=${opts.redact ? '***' : quoteKeyword(d.password)}`);
  for (const [k, v] of Object.entries(d.params))
    parts.push(`${k}=${opts.redact && SECRET_PARAMS.has(k) ? '***' : quoteKeyword(v)}`);
  return parts.join(' ');
}

/** The redacted one-line description used in every message. */
export function describeDsn(d: Dsn): string {
  return formatUrl(d, { redact: true });
}

/** A node-postgres client config. `connectTimeoutMs` bounds the connect. */
export function toPgConfig(d: Dsn, opts: { connectTimeoutMs?: number; applicationName?: string } = {}): ClientConfig {
  const cfg: ClientConfig = {
    // libpq connects to hostaddr when both are given (host then only names the server for TLS and the passfile).
    host: d.params.hostaddr ?? d.host,
    port: d.port,
    database: d.database,
    user: d.user,
    password: d.password,
    connectionTimeoutMillis:
      opts.connectTimeoutMs ?? (d.params.connect_timeout ? Number(d.params.connect_timeout) * 1000 : 10_000),
    application_name: d.params.application_name ?? opts.applicationName ?? 'migration-rehearsal',
  };
  const mode = d.params.sslmode;
  if (mode === 'require' || mode === 'prefer' || mode === 'allow') {
    // libpq's require/prefer do not verify the certificate; node-postgres needs that said explicitly.
    cfg.ssl = mode === 'require' ? { rejectUnauthorized: false } : undefined;
  } else if (mode === 'verify-ca' || mode === 'verify-full') {
    cfg.ssl = { rejectUnauthorized: true, ...(d.params.hostaddr && d.host ? { servername: d.host } : {}) };
  }
  return cfg;
}

const ENV_FOR_PARAM: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  client_encoding: 'PGCLIENTENCODING',
  passfile: 'PGPASSFILE',
  channel_binding: 'PGCHANNELBINDING',
  gssencmode: 'PGGSSENCMODE',
  hostaddr: 'PGHOSTADDR',
  krbsrvname: 'PGKRBSRVNAME',
};

/**
 * Environment for psql/pg_dump/pg_restore: every connection parameter as a PG* variable, so the command line carries
 * none of them (and never the password).
 */
export function libpqEnv(d: Dsn): Record<string, string> {
  const env: Record<string, string> = { PGPORT: String(d.port), PGDATABASE: d.database, PGCONNECT_TIMEOUT: '10' };
  if (d.host) env.PGHOST = d.host;
  if (d.user !== undefined) env.PGUSER = d.user;
  if (d.password !== undefined) env.PGPASSWORD = d.password;
  for (const [k, v] of Object.entries(d.params)) {
    const name = ENV_FOR_PARAM[k];
    if (name) env[name] = v;
  }
  return env;
}

/** Variables that would override what libpqEnv sets; strip them from an inherited environment. */
export const LIBPQ_ENV_VARS = [
  'PGHOST',
  'PGHOSTADDR',
  'PGPORT',
  'PGDATABASE',
  'PGUSER',
  'PGPASSWORD',
  'PGPASSFILE',
  'PGSERVICE',
  'PGSERVICEFILE',
  'PGSYSCONFDIR',
  'PGOPTIONS',
  'PGSSLMODE',
  'PGAPPNAME',
  'PGCONNECT_TIMEOUT',
  'PGTARGETSESSIONATTRS',
];

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '0:0:0:0:0:0:0:1', 'ip6-localhost']);

function hostKey(h: string | undefined): string {
  if (!h) return 'local';
  const lower = h
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
  if (LOOPBACK.has(lower) || lower.startsWith('127.') || lower.startsWith('::ffff:127.')) return 'local';
  if (lower.startsWith('/')) return 'local';
  return lower;
}

/** True when two DSNs name the same database, whatever their form (URL vs keyword, localhost vs 127.0.0.1). */
export function sameDatabase(a: Dsn, b: Dsn): boolean {
  const where = (d: Dsn) => hostKey(d.params.hostaddr ?? d.host);
  return where(a) === where(b) && a.port === b.port && a.database === b.database;
}

/** Where libpq looks for a server's unix socket when a DSN names no host (Debian's build, then the upstream default). */
export const DEFAULT_SOCKET_DIRS = ['/var/run/postgresql', '/tmp'];

/**
 * The text of a passfile, or undefined when there is none or libpq would ignore it (readable by others). Opened
 * without blocking and judged on the open descriptor: a FIFO, a device or a directory (which would hang the run or
 * read endlessly) is refused with a ConfigError saying how to fix it.
 */
function readPassfile(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile())
      throw new ConfigError(
        `the password file ${file} (PGPASSFILE, passfile= or ~/.pgpass) is not a regular file; point PGPASSFILE at a 0600 file or unset it`,
      );
    // libpq ignores a passfile that others can read; so do we, or the two sides would disagree.
    if (st.mode & 0o077) return undefined;
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** Read ~/.pgpass-style `file` and return the password for host:port:db:user (`*` matches anything), if any. */
export function passfileLookup(file: string, d: Pick<Dsn, 'host' | 'port' | 'database' | 'user'>): string | undefined {
  const text = readPassfile(file);
  if (text === undefined) return undefined;
  const host = !d.host || d.host.startsWith('/') ? 'localhost' : d.host;
  const want = [host, String(d.port), d.database, d.user ?? ''];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const fields: string[] = [];
    let cur = '';
    for (let i = 0; i < line.length; i++) {
      if (line[i] === '\\' && i + 1 < line.length) cur += line[++i];
      else if (line[i] === ':' && fields.length < 4) {
        fields.push(cur);
        cur = '';
      } else cur += line[i];
    }
    fields.push(cur.replace(/\r$/, ''));
    if (fields.length < 5) continue;
    if (want.every((w, i) => fields[i] === '*' || fields[i] === w)) return fields[4];
  }
  return undefined;
}

/**
 * One resolution of a DSN for both node-postgres (the checks) and libpq (pg_dump, pg_restore, psql), which otherwise
 * fill in missing parts differently: libpq reads `service=` / PGSERVICE / PGSYSCONFDIR, the passfile and the unix
 * socket; node-postgres reads none of those (it goes to TCP localhost or PGHOST). Every parameter the tools will use
 * is decided here and written into the returned DSN explicitly; the tools inherit no PG* variable (lib/core/tools.ts).
 *
 * - `service=`: refused (a ConfigError naming `label`): the service file could point the tools elsewhere.
 * - no host: PGHOST if set, else the first of DEFAULT_SOCKET_DIRS holding `.s.PGSQL.<port>` (else the first dir).
 * - no user: PGUSER, else the OS user (libpq's rule).
 * - no password: PGPASSWORD, else the passfile (`passfile=`, PGPASSFILE, ~/.pgpass), read here once.
 * - `hostaddr` with `host`: both sides connect to hostaddr (see toPgConfig, libpqEnv).
 */
export function resolveDsn(d: Dsn, env: Record<string, string | undefined>, label = 'DSN'): Dsn {
  if (d.params.service !== undefined) {
    throw new ConfigError(
      `${label} uses service=${d.params.service}: libpq tools would read it from the service file (PGSERVICEFILE / ` +
        `PGSYSCONFDIR) while the checks cannot, so the two could reach different servers; write host, port, dbname ` +
        `and user explicitly instead`,
    );
  }
  const r: Dsn = { ...d, params: { ...d.params } };
  if (!r.host) {
    const socketDir = (dir: string) => fs.existsSync(path.join(dir, `.s.PGSQL.${r.port}`));
    r.host = env.PGHOST || DEFAULT_SOCKET_DIRS.find(socketDir) || DEFAULT_SOCKET_DIRS[0];
  }
  if (r.user === undefined) {
    r.user = env.PGUSER || safeUserName();
    if (!r.database) r.database = r.user ?? '';
  }
  if (r.password === undefined) {
    if (env.PGPASSWORD !== undefined) r.password = env.PGPASSWORD;
    else {
      const file = r.params.passfile || env.PGPASSFILE || path.join(os.homedir(), '.pgpass');
      const found = passfileLookup(file, r);
      if (found !== undefined) r.password = found;
    }
  }
  delete r.params.passfile;
  return r;
}

function safeUserName(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return undefined;
  }
}

/**
 * `--dbname` for pg_restore/psql: the database NAME only (host, user and password come from the environment). A name
 * containing "=" or a URI prefix would be read by libpq as a connection string, so it is wrapped as `dbname='...'`.
 */
export function dbnameArg(d: Pick<Dsn, 'database'>): string {
  const name = d.database;
  if (/=|^postgres(ql)?:\/\//.test(name))
    return `--dbname=dbname='${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return `--dbname=${name}`;
}
