/**
 * One redactor for every line the tool prints and every file it writes.
 *
 * Two layers: patterns that catch any secret in a known shape (URL userinfo, `password=` keyword values, PGPASSWORD=),
 * and the literal secrets known from the configuration in every encoding they may take on the way out (raw,
 * percent-encoded, keyword-quoted, JSON-, XML- and HTML-escaped).
 */
export const MASK = '***';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every form a secret can take in our outputs. */
export function secretVariants(secret: string): string[] {
  const xml = secret.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const variants = new Set<string>([
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%20/g, '+'),
    encodeURI(secret),
    secret.replace(/\\/g, '\\\\').replace(/'/g, "\\'"), // libpq keyword quoting
    JSON.stringify(secret).slice(1, -1),
    JSON.stringify(JSON.stringify(secret).slice(1, -1)).slice(1, -1), // JSON inside JSON
    xml,
    xml.replace(/"/g, '&quot;').replace(/'/g, '&apos;'),
    xml.replace(/"/g, '&quot;').replace(/'/g, '&#39;'),
    xml.replace(/"/g, '&#34;').replace(/'/g, '&#39;'),
    secret.replace(/'/g, "''"), // SQL literal
  ]);
  return [...variants].filter((v) => v.length >= 3);
}

const PATTERNS: Array<[RegExp, string]> = [
  // scheme://user:password@host  (password up to the last @ before the host part)
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/'"<>]*):[^\s@'"<>]*@/gi, `$1:${MASK}@`],
  // password='quoted \' value'  |  password=bare
  [/\b(password\s*=\s*)'(?:\\.|[^'\\])*'/gi, `$1${MASK}`],
  [/\b(password\s*=\s*)(?!\*\*\*)(?!')[^\s&'"]+/gi, `$1${MASK}`],
  // PGPASSWORD=... in an env dump or a shell line
  [/\b(PGPASSWORD\s*[=:]\s*)("(?:\\.|[^"\\])*"|'[^']*'|[^\s]+)/g, `$1${MASK}`],
  // "password": "..." in JSON
  [/("password"\s*:\s*)"(?:\\.|[^"\\])*"/gi, `$1"${MASK}"`],
];

export class Redactor {
  private literals: string[] = [];
  private literalRe: RegExp | null = null;

  constructor(secrets: Iterable<string | undefined> = []) {
    for (const s of secrets) this.add(s);
  }

  /** Remember a secret; empty and very short values are ignored (they would mask ordinary text). */
  add(secret: string | undefined): this {
    if (!secret || secret.length < 3) return this;
    for (const v of secretVariants(secret)) if (!this.literals.includes(v)) this.literals.push(v);
    // Longest first, so an encoded form is masked whole rather than leaving a tail.
    this.literals.sort((a, b) => b.length - a.length);
    this.literalRe = new RegExp(this.literals.map(escapeRegExp).join('|'), 'g');
    return this;
  }

  get size(): number {
    return this.literals.length;
  }

  redact(text: string): string {
    let out = text;
    if (this.literalRe) out = out.replace(this.literalRe, MASK);
    for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
    return out;
  }
}

/** The process-wide redactor; config loading registers every secret it sees. */
export const redactor = new Redactor();

export function redact(text: string): string {
  return redactor.redact(text);
}

/** Redact every string inside a JSON-able value (for manifests and state files). */
export function redactDeep<T>(value: T, r: Redactor = redactor): T {
  if (typeof value === 'string') return r.redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, r)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = /^(password|pgpassword|secret|token)$/i.test(k) && v !== undefined ? MASK : redactDeep(v, r);
    }
    return out as T;
  }
  return value;
}
