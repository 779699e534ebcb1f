/**
 * One redactor for every line the tool prints and every file it writes.
 *
 * Two layers: patterns that catch any secret in a known shape (URL userinfo, `password=` keyword values, PGPASSWORD=,
 * `"password": "..."`), and the literal secrets known from the configuration in every encoding they may take on the
 * way out (raw, percent-encoded, keyword-quoted, shell-quoted, SQL-literal, JSON-, XML- and HTML-escaped, and up to
 * three of those stacked, e.g. a percent-encoded password inside a JSON string inside an XML report).
 *
 * Secrets shorter than MIN_SECRET_LENGTH are ignored on purpose: masking every "ab" in every line would wreck the
 * output and protect next to nothing (a two-character password is not a secret worth the name). A secret that reads
 * as a number or a date (`2026`, `12.5`, `2026-12-07`) is masked only where secrets go (the patterns: URL userinfo,
 * `password=`, `PGPASSWORD=`, a `"password"` key), never as a literal: as a literal it would rewrite every row
 * count, duration and timestamp that contains it, and turn JSON numbers into `***` (issue 26: a password `2026`
 * made checks.json invalid JSON and the console say "0 passed").
 *
 * Structured files are redacted structurally (redactJson): strings and keys only, so the result is always valid
 * JSON with its numbers untouched.
 */
export const MASK = '***';

/** Known secrets shorter than this are not registered (see the module comment). */
export const MIN_SECRET_LENGTH = 3;

/** Escape `s` for use inside a RegExp (also `/`, so the result can stand in a regex literal or a CLI pattern). */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');
const hex4 = (n: number) => n.toString(16).padStart(4, '0');

/** Percent-encode every byte that is not unreserved (stricter than encodeURIComponent, which leaves '()*!~ raw). */
function percentAll(s: string, lower = false): string {
  let out = '';
  for (const ch of s) {
    if (/^[A-Za-z0-9_.~-]$/.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + (lower ? hex2(b).toLowerCase() : hex2(b));
  }
  return out;
}

function jsonInner(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

/** JSON with every non-ASCII character as \uXXXX (Python's json.dumps default, many loggers). */
function jsonAscii(s: string, upper = false): string {
  return jsonInner(s).replace(/[^\x00-\x7f]/g, (c) => {
    const h = '\\u' + hex4(c.charCodeAt(0));
    return upper ? h.toUpperCase().replace('\\U', '\\u') : h;
  });
}

function xmlEscape(s: string, quote: '' | 'named' | 'dec' | 'hex'): string {
  let out = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (quote === 'named') out = out.replace(/"/g, '&quot;').replace(/'/g, '&apos;');
  if (quote === 'dec') out = out.replace(/"/g, '&#34;').replace(/'/g, '&#39;');
  if (quote === 'hex') out = out.replace(/"/g, '&#x22;').replace(/'/g, '&#x27;');
  return out;
}

/**
 * The encoders a secret may pass through on its way into our outputs. Each works character by character, which is
 * what lets the Redactor match any mix of them (see charForms).
 */
const ENCODERS: Array<(s: string) => string> = [
  (s) => s,
  encodeURIComponent,
  (s) => encodeURIComponent(s).replace(/%20/g, '+'),
  (s) => percentAll(s),
  (s) => percentAll(s, true),
  (s) => percentAll(s).replace(/%20/g, '+'),
  encodeURI,
  (s) => s.replace(/\\/g, '\\\\').replace(/'/g, "\\'"), // libpq keyword quoting
  (s) => s.replace(/'/g, "''"), // SQL literal
  (s) => s.replace(/'/g, `'\\''`), // inside a shell '...' string
  (s) => s.replace(/[\\"$`]/g, '\\$&'), // inside a shell "..." string
  jsonInner,
  (s) => jsonAscii(s),
  (s) => jsonAscii(s, true),
  (s) => jsonInner(s).replace(/\//g, '\\/'),
  (s) => xmlEscape(s, ''),
  (s) => xmlEscape(s, 'named'),
  (s) => xmlEscape(s, 'dec'),
  (s) => xmlEscape(s, 'hex'),
];

/** Every form a secret can take in our outputs: each encoder, and each pair of encoders stacked. */
export function secretVariants(secret: string): string[] {
  const variants = new Set<string>();
  for (const a of ENCODERS) {
    let once: string;
    try {
      once = a(secret);
    } catch {
      continue; // encodeURIComponent throws on a lone surrogate
    }
    for (const b of ENCODERS) {
      try {
        variants.add(b(once));
      } catch {
        // same
      }
    }
  }
  return [...variants].filter((v) => v.length >= MIN_SECRET_LENGTH);
}

/** How many encoders may be stacked (e.g. a keyword-quoted password in a JSON string in an XML report: three). */
const CHAR_DEPTH = 3;
const charFormCache = new Map<string, string[]>();

/** Every encoding of one character (code point) under up to CHAR_DEPTH stacked encoders, longest first. */
function charForms(ch: string): string[] {
  const cached = charFormCache.get(ch);
  if (cached) return cached;
  const forms = new Set<string>([ch]);
  let frontier = [ch];
  for (let depth = 0; depth < CHAR_DEPTH; depth++) {
    const next: string[] = [];
    for (const f of frontier) {
      for (const enc of ENCODERS) {
        let g: string;
        try {
          g = enc(f);
        } catch {
          continue; // encodeURIComponent throws on a lone surrogate
        }
        if (!forms.has(g)) {
          forms.add(g);
          next.push(g);
        }
      }
    }
    frontier = next;
  }
  const out = [...forms].sort((x, y) => y.length - x.length);
  charFormCache.set(ch, out);
  return out;
}

/**
 * A regular expression matching the secret in any encoding, even one that mixes encoders character by character
 * (a string that reads as the secret under any of them is the secret). Longest alternatives first, so an encoded
 * character is masked whole.
 */
export function secretPattern(secret: string): string {
  const parts: string[] = [];
  for (const ch of secret) {
    const forms = charForms(ch);
    parts.push(forms.length === 1 ? escapeRegExp(forms[0]) : `(?:${forms.map(escapeRegExp).join('|')})`);
  }
  return parts.join('');
}

/** Keys whose JSON values are secrets whatever they look like. */
const SECRET_KEY = '[A-Za-z0-9_-]*(?:password|passwd|pgpassword)';

const PATTERNS: Array<[RegExp, string]> = [
  // scheme://user:password@host. A percent-encoded password may still hold ' ( ) * ! ~ raw; a pasted one may hold a
  // raw "@", so the password runs to the last "@" before the path (and "#" is allowed for HTML entities like &#39;).
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/?#"<>]*):[^\s/?"<>]*@/gi, `$1:${MASK}@`],
  // ...?password=...&  or  &sslpassword=...  in a URL query
  [/([?&](?:ssl)?password=)(?!\*\*\*(?:[&#\s"]|$))[^&#\s"<>]*/gi, `$1${MASK}`],
  // password='quoted \' value'  (an unterminated quote is masked to the end)
  [/\b((?:ssl)?password\s*=\s*)'(?:\\[\s\S]|[^'\\])*'?/gi, `$1${MASK}`],
  // password=bare\ value (libpq: backslash escapes; ends at white space)
  [/\b((?:ssl)?password\s*=\s*)(?!\*\*\*(?:[\s&"]|$))(?:\\.|[^\s"\\])+/gi, `$1${MASK}`],
  // PGPASSWORD=... in an env dump or a shell line: "double", 'single' (with '\'' inside), or a bare word
  [/\b(PGPASSWORD\s*[=:]\s*)("(?:\\[\s\S]|[^"\\])*"?|'(?:[^']|'\\'')*'?|\S+)/g, `$1${MASK}`],
  // SQL: ALTER ROLE ... PASSWORD '...'
  [/\b(PASSWORD\s+)'(?:''|[^'])*'?/gi, `$1'${MASK}'`],
  // "password": "..." in JSON (any key ending in password)
  [new RegExp(`("${SECRET_KEY}"\\s*:\\s*)"(?:\\\\[\\s\\S]|[^"\\\\])*"`, 'gi'), `$1"${MASK}"`],
  // \"password\": \"...\" in JSON inside a JSON string
  [
    new RegExp(`(\\\\"${SECRET_KEY}\\\\"\\s*:\\s*)\\\\"(?:\\\\{4}|\\\\{3}"|\\\\{2}[^\\\\"]|[^\\\\"])*\\\\"`, 'gi'),
    `$1\\"${MASK}\\"`,
  ],
  // &quot;password&quot;: &quot;...&quot; in JSON inside XML/HTML
  [
    new RegExp(`(&quot;${SECRET_KEY}&quot;\\s*:\\s*&quot;)(?:\\\\(?:&quot;|[\\s\\S])|(?!&quot;)[^\\\\])*&quot;`, 'gi'),
    `$1${MASK}&quot;`,
  ],
];

/**
 * True for a secret made of digits and number/date punctuation only (`2026`, `3.14`, `2026-12-07 10:00`): such a
 * secret is never masked as a literal (see the module comment).
 */
export function numberLike(secret: string): boolean {
  return /\d/.test(secret) && /^[\d\s.,:;+\-_/eETZ]+$/.test(secret);
}

/** Characters every encoder leaves as they are (RFC 3986 unreserved): in any encoding of a secret they stand raw. */
const SINGLE_FORM = /^[A-Za-z0-9_.~-]$/;

/**
 * The longest run of a secret's characters that no encoder changes (its anchor): every encoded form of the secret
 * contains it verbatim, because secretPattern matches those characters only as themselves. '' when the secret has
 * no such character (then only the full pattern can tell).
 */
export function secretAnchor(secret: string): string {
  let best = '';
  let run = '';
  for (const ch of secret) {
    run = SINGLE_FORM.test(ch) && charForms(ch).length === 1 ? run + ch : '';
    if (run.length > best.length) best = run;
  }
  return best;
}

export class Redactor {
  private secrets: string[] = [];
  private literalRe: RegExp | null = null;
  private anchors: string[] | null = null;

  constructor(secrets: Iterable<string | undefined> = []) {
    for (const s of secrets) this.add(s);
  }

  /**
   * Remember a secret; empty, very short and number-like values are not masked as literals (they would mask ordinary
   * text and numbers; the patterns still mask them where secrets go). The pattern is built when first needed.
   */
  add(secret: string | undefined): this {
    if (!secret || [...secret].length < MIN_SECRET_LENGTH || numberLike(secret) || this.secrets.includes(secret))
      return this;
    this.secrets.push(secret);
    this.literalRe = null;
    this.anchors = null;
    return this;
  }

  /** How many encoded forms of known secrets are masked (at least); computed on demand (secretVariants). */
  get size(): number {
    const literals = new Set<string>();
    for (const s of this.secrets) for (const v of secretVariants(s)) literals.add(v);
    return literals.size;
  }

  /**
   * `text` with every known secret (in any encoding) and every secret-shaped value (PATTERNS) masked. The literal
   * pattern of the secrets (thousands of characters for an awkward password: slow to compile and to run) runs only
   * on text that holds a secret's anchor (secretAnchor), or on every text when a secret has none.
   */
  redact(text: string): string {
    let out = text;
    if (this.secrets.length && this.mayHoldSecret(text)) out = out.replace(this.literalPattern(), MASK);
    for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
    return out;
  }

  private mayHoldSecret(text: string): boolean {
    this.anchors ??= this.secrets.map(secretAnchor);
    return this.anchors.some((a) => a === '' || text.includes(a));
  }

  private literalPattern(): RegExp {
    // Longer secrets first, so a secret that contains another one is masked whole.
    this.literalRe ??= new RegExp(
      [...this.secrets]
        .sort((a, b) => b.length - a.length)
        .map(secretPattern)
        .join('|'),
      'g',
    );
    return this.literalRe;
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
      out[k] =
        /^(password|pgpassword|sslpassword|passwd|secret|token)$/i.test(k) && v !== undefined ? MASK : redactDeep(v, r);
    }
    return out as T;
  }
  return value;
}

/** Redact the keys and string values of a parsed JSON value (numbers, booleans and null untouched). */
function redactJsonValue(value: unknown, r: (s: string) => string): unknown {
  if (typeof value === 'string') return r(value);
  if (Array.isArray(value)) return value.map((v) => redactJsonValue(v, r));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = r(k);
      out[key] =
        /^(password|pgpassword|sslpassword|passwd)$/i.test(k) && typeof v === 'string' ? MASK : redactJsonValue(v, r);
    }
    return out;
  }
  return value;
}

/**
 * Redact a JSON document structurally: parsed, every key and string redacted, written back with the indentation it
 * had (0 or 2 spaces, a trailing newline kept). The result is always valid JSON and no number changes. Text that is
 * not JSON is redacted as text.
 */
export function redactJson(text: string, r: (s: string) => string = redact): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return r(text);
  }
  const indent = /^[[{]\r?\n( +)/.exec(text)?.[1].length ?? 0;
  const out = JSON.stringify(redactJsonValue(parsed, r), null, indent);
  // Unchanged content keeps its exact bytes (no re-formatting of files that held no secret).
  return out === JSON.stringify(parsed, null, indent) ? text : out + (text.endsWith('\n') ? '\n' : '');
}
