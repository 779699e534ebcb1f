/**
 * Two schema-only dumps compared object by object: every TOC entry of the source matched by type, schema and name
 * with the target's, its normalised text compared (dump-normalise.ts), and each difference filed under today's
 * `schema <kind>` check. As in migra and pgschema (render each object, compare renderings) and the practitioner's
 * `pg_dump -s | diff`, nobody lists the attributes compared: whatever pg_dump writes is compared. Pure.
 */
import type { DumpEntry } from './dump-parse.ts';
import { entryKey, normaliseEntry } from './dump-normalise.ts';

/** The kind of `schema <kind>` that compares each TOC entry type (kinds of lib/checks/schema-parity.ts). */
export const KIND_OF_TYPE: Readonly<Record<string, string>> = {
  TABLE: 'tables and columns',
  'TABLE ATTACH': 'tables and columns',
  'FOREIGN TABLE': 'tables and columns',
  DEFAULT: 'tables and columns',
  CONSTRAINT: 'constraints',
  'CHECK CONSTRAINT': 'constraints',
  'FK CONSTRAINT': 'constraints',
  INDEX: 'indexes',
  'INDEX ATTACH': 'indexes',
  TRIGGER: 'triggers',
  VIEW: 'views and materialized views',
  'MATERIALIZED VIEW': 'views and materialized views',
  FUNCTION: 'functions',
  PROCEDURE: 'functions',
  AGGREGATE: 'functions',
  EXTENSION: 'extensions',
  SEQUENCE: 'sequences',
  'SEQUENCE OWNED BY': 'sequences',
  SCHEMA: 'schemas',
  TYPE: 'types and domains',
  'SHELL TYPE': 'types and domains',
  DOMAIN: 'types and domains',
  'ROW SECURITY': 'row-level security',
  POLICY: 'row-level security',
  COMMENT: 'comments',
  RULE: 'rules',
  STATISTICS: 'extended statistics',
  COLLATION: 'collations',
  'EVENT TRIGGER': 'event triggers',
  CAST: 'other objects',
  CONVERSION: 'other objects',
  OPERATOR: 'other objects',
  'OPERATOR CLASS': 'other objects',
  'OPERATOR FAMILY': 'other objects',
  'ACCESS METHOD': 'other objects',
  'PROCEDURAL LANGUAGE': 'other objects',
  TRANSFORM: 'other objects',
  'TEXT SEARCH CONFIGURATION': 'other objects',
  'TEXT SEARCH DICTIONARY': 'other objects',
  'TEXT SEARCH PARSER': 'other objects',
  'TEXT SEARCH TEMPLATE': 'other objects',
  'FOREIGN DATA WRAPPER': 'other objects',
  PUBLICATION: 'other objects',
  'PUBLICATION TABLE': 'other objects',
  'PUBLICATION TABLES': 'other objects',
  'PUBLICATION TABLES IN SCHEMA': 'other objects',
};

/**
 * Entry types not compared here, each for a reason: privileges and owners (the rehearsal restores with --no-acl
 * --no-owner), data and planner statistics (not schema), database-level entries (only with --create), and what the
 * isolation phase may rewrite on purpose (foreign servers, user mappings, subscriptions: `isolation …` checks judge
 * them).
 */
export const NOT_COMPARED_TYPES: ReadonlySet<string> = new Set([
  'ACL',
  'DEFAULT ACL',
  'SECURITY LABEL',
  'STATISTICS DATA',
  'DATABASE',
  'DATABASE PROPERTIES',
  'FOREIGN SERVER',
  'SERVER',
  'USER MAPPING',
  'SUBSCRIPTION',
  'SUBSCRIPTION TABLE',
]);

/** One object that differs between the two dumps. */
export interface DumpDifference {
  /** The `schema <kind>` it belongs to (`other objects` for a type no kind names). */
  kind: string;
  /** `TYPE schema.name`, e.g. `TABLE public.orders`, `FK CONSTRAINT public.event event_session_fkey`. */
  object: string;
  change: 'missing' | 'extra' | 'different';
  /** For `different`: the changed lines, `- source` / `+ target`. */
  diff?: string[];
}

/** Index entries by key; a repeated key (pg_dump never writes one, but be safe) gets `#2`, `#3`… */
function index(entries: DumpEntry[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of entries) {
    if (NOT_COMPARED_TYPES.has(e.type)) continue;
    const text = normaliseEntry(e);
    // An entry without SQL (`-- *not* creating schema, since initdb creates it`: public with another owner) carries
    // nothing a restore makes: the same as no entry.
    if (!text.split('\n').some((l) => l !== '' && !l.startsWith('-- '))) continue;
    // pg_dump's way of saying "public has no comment" (a public schema recreated, e.g. by DST_DROP_SCHEMA=1): the same
    // as initdb's default comment for what the application sees.
    if (text === "COMMENT ON SCHEMA public IS '';") continue;
    let k = entryKey(e);
    for (let n = 2; m.has(k); n++) k = `${entryKey(e)}#${n}`;
    m.set(k, text);
  }
  return m;
}

const typeOf = (key: string, entries: DumpEntry[]) =>
  entries.find((e) => key === entryKey(e) || key.startsWith(`${entryKey(e)}#`))?.type ?? '';

/**
 * Compare two dumps' entries. Returns the differences sorted by kind then object; an entry on both sides with equal
 * normalised text is no difference. `diffLines` bounds the changed lines kept per object.
 */
export function diffDumps(src: DumpEntry[], dst: DumpEntry[], diffLines = 12): DumpDifference[] {
  const s = index(src);
  const d = index(dst);
  const out: DumpDifference[] = [];
  const kindOf = (key: string, from: DumpEntry[]) => KIND_OF_TYPE[typeOf(key, from)] ?? 'other objects';
  for (const [key, text] of s) {
    const t = d.get(key);
    if (t === undefined) out.push({ kind: kindOf(key, src), object: key, change: 'missing' });
    else if (t !== text)
      out.push({ kind: kindOf(key, src), object: key, change: 'different', diff: lineDiff(text, t, diffLines) });
  }
  for (const key of d.keys()) if (!s.has(key)) out.push({ kind: kindOf(key, dst), object: key, change: 'extra' });
  return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.object.localeCompare(b.object));
}

/**
 * The lines that differ between two texts, `- ` for the source's and `+ ` for the target's, in order (a longest
 * common subsequence of lines; the texts are one object each, so small). At most `limit` lines, then `… (n more)`.
 */
export function lineDiff(a: string, b: string, limit = 12): string[] {
  const x = a.split('\n');
  const y = b.split('\n');
  const L = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--)
    for (let j = y.length - 1; j >= 0; j--)
      L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) (i++, j++);
    else if (j >= y.length || (i < x.length && L[i + 1][j] >= L[i][j + 1])) out.push(`- ${x[i++].trim()}`);
    else out.push(`+ ${y[j++].trim()}`);
  }
  // a blank line that moved says nothing
  const changed = out.filter((l) => l.length > 2);
  return changed.length > limit ? [...changed.slice(0, limit), `… (${changed.length - limit} more)`] : changed;
}

/** One difference as a message line: `TABLE public.orders differs: - WITH (…) | + WITH (…)`. */
export function describeDifference(d: DumpDifference): string {
  if (d.change === 'missing') return `${d.object} missing on target`;
  if (d.change === 'extra') return `${d.object} extra on target`;
  return `${d.object} differs: ${(d.diff ?? []).join(' | ')}`;
}

/** The message of one kind's dump differences (empty when none), up to `limit` objects. */
export function dumpParityMessage(diffs: DumpDifference[], limit = 20): string {
  if (!diffs.length) return '';
  const lines = diffs.slice(0, limit).map(describeDifference);
  const more = diffs.length > limit ? `; … (${diffs.length - limit} more)` : '';
  return `as pg_dump renders them (${diffs.length}): ${lines.join('; ')}${more}`;
}
