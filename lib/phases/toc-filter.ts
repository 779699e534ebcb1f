/**
 * The restore's table of contents, filtered: which entries of the archive (`pg_restore --list`) are left out of the
 * restore, and why. One mechanism for every reason an entry must not be restored as is — a superuser-only entry a
 * non-superuser owner cannot run while what it creates is already there, an object that would wire staging to
 * production (foreign servers, user mappings, subscriptions) — so that the restore log and the manifest always say
 * which entries were left out and why.
 *
 * How it is used: `pg_restore --list <archive>` → `parseTocEntries` → `filterToc(entries, rules, facts)`; when
 * anything is excluded, `useListText` is written to WORK_DIR and passed to pg_restore as `--use-list <file>` (see the
 * pg_restore manual: "--use-list: restore only those archive elements that are listed in list-file, and restore
 * them in the order they appear in the file"; lines commented out with `;` are skipped).
 */

/** One entry of an archive's TOC, as `pg_restore --list` prints it. */
export interface TocEntry {
  /** The dump id (first field), what `--use-list` keys on. */
  dumpId: number;
  /** The entry type, multi-word types kept whole (`TABLE DATA`, `FOREIGN SERVER`, `COMMENT`). */
  type: string;
  /** Schema, or undefined for `-`. */
  schema?: string;
  /** The entry's tag: the object's name; for COMMENT/ACL entries e.g. `EXTENSION vector`. */
  tag: string;
  /** The owner (last field), or undefined when the line has none. */
  owner?: string;
  /** The line exactly as pg_restore printed it. */
  line: string;
}

/** An entry left out of the restore, with the rule that did it and the reason in words for the log. */
export interface TocExclusion {
  entry: TocEntry;
  /** The rule's id (e.g. `extension-already-installed`, `foreign-server`). */
  rule: string;
  reason: string;
}

/**
 * A rule: given one entry (and the whole list, for rules that follow dependencies), the reason to leave it out, or
 * undefined to keep it.
 */
export interface TocRule {
  id: string;
  exclude(entry: TocEntry, all: readonly TocEntry[]): string | undefined;
}

// Multi-word TOC entry types, longest first so "TABLE DATA" wins over "TABLE" (pg_dump's own type names).
export const TOC_TYPES = [
  'MATERIALIZED VIEW DATA',
  'PUBLICATION TABLES IN SCHEMA',
  'TEXT SEARCH CONFIGURATION',
  'TEXT SEARCH DICTIONARY',
  'TEXT SEARCH TEMPLATE',
  'TEXT SEARCH PARSER',
  'FOREIGN DATA WRAPPER',
  'DATABASE PROPERTIES',
  'PROCEDURAL LANGUAGE',
  'PUBLICATION TABLES',
  'SUBSCRIPTION TABLE',
  'PUBLICATION TABLE',
  'STATISTICS DATA',
  'SEQUENCE OWNED BY',
  'MATERIALIZED VIEW',
  'CHECK CONSTRAINT',
  'OPERATOR FAMILY',
  'OPERATOR CLASS',
  'FOREIGN SERVER',
  'FOREIGN TABLE',
  'SECURITY LABEL',
  'BLOB METADATA',
  'EVENT TRIGGER',
  'FK CONSTRAINT',
  'ACCESS METHOD',
  'LARGE OBJECT',
  'SEQUENCE SET',
  'INDEX ATTACH',
  'TABLE ATTACH',
  'USER MAPPING',
  'ROW SECURITY',
  'DEFAULT ACL',
  'SHELL TYPE',
  'TABLE DATA',
  'SEARCH PATH',
];

/**
 * Parse `pg_restore --list` output into entries. An entry line is
 * `<dumpId>; <catalogOid> <oid> <TYPE...> <schema|-> <tag...> <owner>`; header lines start with `;`.
 */
export function parseTocEntries(text: string): TocEntry[] {
  const out: TocEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+);\s+\d+\s+\d+\s+(.*)$/.exec(line.replace(/\r$/, ''));
    if (!m) continue;
    const rest = m[2];
    const type = TOC_TYPES.find((t) => rest.startsWith(t + ' ')) ?? rest.split(' ')[0];
    // pg_restore prints "<type> <schema> <tag> <owner>" with the owner always last (empty for e.g. extensions, so
    // the line then ends with a space); the tag may hold spaces (`EXTENSION vector`).
    const after = rest.slice(type.length + 1);
    const sp = after.indexOf(' ');
    const schemaField = sp < 0 ? after : after.slice(0, sp);
    const tagAndOwner = sp < 0 ? '' : after.slice(sp + 1);
    const last = tagAndOwner.lastIndexOf(' ');
    const tag = last < 0 ? tagAndOwner : tagAndOwner.slice(0, last);
    const owner = last < 0 ? '' : tagAndOwner.slice(last + 1);
    out.push({
      dumpId: Number(m[1]),
      type,
      schema: schemaField && schemaField !== '-' ? schemaField : undefined,
      tag,
      owner: owner || undefined,
      line,
    });
  }
  return out;
}

/** Apply the rules: every entry some rule excludes, with the first such rule's reason; order kept. */
export function filterToc(entries: readonly TocEntry[], rules: readonly TocRule[]): TocExclusion[] {
  const excluded: TocExclusion[] = [];
  for (const entry of entries) {
    for (const rule of rules) {
      const reason = rule.exclude(entry, entries);
      if (reason) {
        excluded.push({ entry, rule: rule.id, reason });
        break;
      }
    }
  }
  return excluded;
}

/**
 * The `--use-list` file: the full list with every excluded entry commented out (`;`), each preceded by a comment
 * naming the rule and reason, so the file itself is evidence of what was left out.
 */
export function useListText(listText: string, excluded: readonly TocExclusion[]): string {
  const byId = new Map(excluded.map((x) => [x.entry.dumpId, x]));
  return listText
    .split('\n')
    .map((line) => {
      const m = /^\s*(\d+);/.exec(line);
      const x = m ? byId.get(Number(m[1])) : undefined;
      return x ? `; left out (${x.rule}: ${x.reason.replace(/\n/g, ' ')})\n;${line}` : line;
    })
    .join('\n');
}

/** One line per exclusion, for the restore log, the console and the manifest. */
export function exclusionLines(excluded: readonly TocExclusion[]): string[] {
  return excluded.map(
    (x) =>
      `left out of the restore: ${x.entry.type}${x.entry.schema ? ` ${x.entry.schema}` : ''} ${x.entry.tag} (${x.rule}: ${x.reason})`,
  );
}
