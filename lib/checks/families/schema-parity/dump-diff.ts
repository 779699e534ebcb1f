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
  /**
   * `state`: a trigger on both sides whose enabled state differs where pg_dump writes the state as an entry of its own
   * (a cloned partition trigger: only `ALTER TABLE … DISABLE TRIGGER …` on the side where it is not enabled).
   */
  change: 'missing' | 'extra' | 'different' | 'state';
  /** For `state`: how the target's trigger fires, `disabled`, `enabled replica` or `enabled always` (pg_dump's words). */
  state?: string;
  /** For `state`: on which side pg_dump wrote the state entry (the other side has the trigger in its default state). */
  side?: 'source' | 'target';
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
  return out
    .map((x) => triggerState(x, x.change === 'missing' ? s : d))
    .sort((a, b) => a.kind.localeCompare(b.kind) || a.object.localeCompare(b.object));
}

/** A TOC entry that only sets a trigger's enabled state (pg_dump's entry for a cloned partition trigger). */
const TRIGGER_STATE =
  /^ALTER TABLE (?:ONLY )?\S+(?: \S+)*? (DISABLE|ENABLE REPLICA|ENABLE ALWAYS|ENABLE) TRIGGER \S+;$/;

/**
 * A `missing` or `extra` TRIGGER entry that holds nothing but the trigger's enabled state: the trigger exists on both
 * sides (cloned from its parent), only its state differs, so it is filed as `state`, not as a missing or extra object.
 */
function triggerState(x: DumpDifference, side: Map<string, string>): DumpDifference {
  if (x.kind !== 'triggers' || (x.change !== 'missing' && x.change !== 'extra')) return x;
  const lines = (side.get(x.object) ?? '').split('\n').filter((l) => l !== '' && !l.startsWith('-- '));
  const m = lines.length === 1 ? TRIGGER_STATE.exec(lines[0]) : null;
  if (!m) return x;
  const state = m[1] === 'DISABLE' ? 'disabled' : m[1].toLowerCase().replace(/^enable/, 'enabled');
  return { kind: x.kind, object: x.object, change: 'state', state, side: x.change === 'extra' ? 'target' : 'source' };
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
  if (d.change === 'state')
    return `${d.object} ${d.state} on the ${d.side}, ${d.side === 'target' ? 'enabled on the source' : 'enabled on the target'}`;
  return `${d.object} differs: ${(d.diff ?? []).join(' | ')}`;
}

/** The message of one kind's dump differences (empty when none), up to `limit` objects. */
export function dumpParityMessage(diffs: DumpDifference[], limit = 20): string {
  if (!diffs.length) return '';
  const lines = diffs.slice(0, limit).map(describeDifference);
  const more = diffs.length > limit ? `; … (${diffs.length - limit} more)` : '';
  return `as pg_dump renders them (${diffs.length}): ${lines.join('; ')}${more}`;
}
