/**
 * One cause, one red (issue 27 item 5): a failure that follows from another — the file missing on the target, then
 * its census line, then the sampled sha256 comparison; a table missing, then its row count, checksum and orphans; a
 * copy phase failed, then every `not checked:` — is a CONSEQUENCE of the first one (its CAUSE). A consequence still
 * fails (JUnit keeps it red, CI stays red) but is counted and shown under its cause: `tally` (lib/audit/totals.ts)
 * counts causes as `failed` and consequences apart, so the console, summary.md, report.html and checks.json agree.
 *
 * The link is a culprit key the families already put in their names and messages — the table's qualified name
 * (`row count public.users`, `checksum public.users`, `orphans a(x) -> users(id)`), the stored path of a file
 * (`asset t.c /app/.data/x.pdf`, the census's `/app/.data/x.pdf (expected a file, …)`, the sample's
 * `/app/.data/x.pdf: …`) — read here, pure, without touching the families. The cause is the earliest failure in the
 * registry's run order (lib/checks/registry.ts) that owns a key the later one has.
 */
import { FAMILIES } from '../checks/registry.ts';

/** What a failed check is about: keys it owns (it can be a cause of them), keys it only follows (never a cause). */
export interface Culprits {
  owns: string[];
  follows: string[];
}

/** The subset of a check record the grouping reads. */
export interface FailureLike {
  name: string;
  state: string;
  family?: string;
  errors: string[];
  selected?: boolean;
}

/** `users` → `public.users`; `app."Events"` unchanged (already qualified). */
export function qualify(table: string): string {
  return /^("[^"]+"|[^".]+)\./.test(table) ? table : `public.${table}`;
}

const TABLE_NAMED = /^(?:row count|checksum) (\S+)$/;
const ORPHANS = /^orphans (\S+)\([^)]*\) -> (\S+)\(/;
const ASSET = /^asset (?!census )\S+ (\/\S.*)$/;
// The census's examples (`<path> (expected a file, found nothing (missing))`) and the sample's (`<path>: <problem>`).
const CENSUS_PATH = /(?:^|\s)(\/[^\s;:]+) \(expected a/g;
const SAMPLE_PATH = /(?:^|[:;] )(\/[^\s;:]+): /g;

/** The culprit keys of one failed check, from its name and failure message (pure). */
export function culpritsOf(c: FailureLike): Culprits {
  const owns: string[] = [];
  const follows: string[] = [];
  const message = c.errors.join('\n');
  if (/^(phase |check discovery$)/.test(c.name)) owns.push('copy');
  if (/(^|\n)not checked: /.test(message)) follows.push('copy');
  const t = TABLE_NAMED.exec(c.name);
  if (t) owns.push(`table ${qualify(t[1])}`);
  const o = ORPHANS.exec(c.name);
  if (o) owns.push(`table ${qualify(o[1])}`, `table ${qualify(o[2])}`);
  const a = ASSET.exec(c.name);
  if (a) owns.push(`file ${a[1]}`);
  if (/^asset census .*sampled files/.test(c.name))
    for (const m of message.matchAll(SAMPLE_PATH)) owns.push(`file ${m[1]}`);
  else if (/^asset census /.test(c.name)) for (const m of message.matchAll(CENSUS_PATH)) owns.push(`file ${m[1]}`);
  return { owns: [...new Set(owns)], follows };
}

/** Run order of a family (the registry's), unknown families last. */
function familyRank(id: string | undefined): number {
  const i = FAMILIES.findIndex((f) => f.id === id);
  return i < 0 ? FAMILIES.length : i;
}

/**
 * For each failed check, the name of the check whose failure it follows from (its root cause), or nothing when it
 * is a cause itself. Input order is kept in the output (same indexes); checks that did not fail map to undefined.
 * Only checks the run selected take part.
 */
export function groupByCause(checks: ReadonlyArray<FailureLike>): Array<string | undefined> {
  const order = checks
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => c.state === 'failed' && c.selected !== false)
    .sort((x, y) => familyRank(x.c.family) - familyRank(y.c.family) || x.i - y.i);
  const out: Array<string | undefined> = checks.map(() => undefined);
  // key → the root cause that owns it (first owner in run order).
  const owner = new Map<string, string>();
  for (const { c, i } of order) {
    const k = culpritsOf(c);
    const cause = [...k.owns, ...k.follows].map((key) => owner.get(key)).find((x) => x !== undefined);
    if (cause !== undefined && cause !== c.name) out[i] = cause;
    const root = out[i] ?? c.name;
    for (const key of k.owns) if (!owner.has(key)) owner.set(key, root);
  }
  return out;
}

/** Attach `causedBy` to each failed record that follows from another (mutates and returns `checks`). */
export function markConsequences<T extends FailureLike & { causedBy?: string }>(checks: T[]): T[] {
  const causes = groupByCause(checks);
  checks.forEach((c, i) => {
    if (causes[i] !== undefined) c.causedBy = causes[i];
    else delete c.causedBy;
  });
  return checks;
}

/** The consequences listed under each cause, by cause name, in input order. */
export function consequencesByCause<T extends { name: string; causedBy?: string }>(checks: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const c of checks) if (c.causedBy !== undefined) m.set(c.causedBy, [...(m.get(c.causedBy) ?? []), c]);
  return m;
}
