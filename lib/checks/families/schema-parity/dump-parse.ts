/**
 * A plain-format `pg_dump --schema-only` split into its table-of-contents entries. pg_dump starts every entry with a
 * comment block whose middle line is `-- Name: <name>; Type: <type>; Schema: <schema>; Owner: <owner>` (pg_backup_archiver.c,
 * `_printTocEntry`); the entry's SQL follows until the next such block. Pure: no database, no process.
 */

/** One TOC entry of a plain-format dump. */
export interface DumpEntry {
  /** pg_dump's tag: `orders`, `orders orders_pkey` (table + constraint), `gross(numeric)`, `EXTENSION vector`. */
  name: string;
  /** The TOC entry type: `TABLE`, `FK CONSTRAINT`, `COMMENT`, … (the same words `pg_restore --list` shows). */
  type: string;
  /** The schema, or `-` for objects outside a schema (extensions, event triggers, publications). */
  schema: string;
  /** The owner pg_dump printed (`-` with --no-owner). Not compared. */
  owner: string;
  /** The entry's lines as written, from after its header block to before the next one (untrimmed). */
  lines: string[];
  /**
   * `default_table_access_method` in force when the entry was written (pg_dump emits `SET
   * default_table_access_method = …;` between entries, before the tables that need it); undefined before any.
   */
  accessMethod?: string;
}

const HEADER = /^-- (?:Data for )?Name: (.*); Type: (.*); Schema: (.*); Owner: (.*)$/;
const ACCESS_METHOD = /^SET default_table_access_method = (.*);$/;

/**
 * Split a plain-format dump into entries, in the dump's order. The preamble before the first entry (header comment,
 * session SETs) belongs to no entry and is dropped. A `SET default_table_access_method` line is remembered and stamped
 * on the entries written after it. Throws nothing: text that holds no header yields [].
 */
export function parseDump(text: string): DumpEntry[] {
  const out: DumpEntry[] = [];
  let current: DumpEntry | undefined;
  let accessMethod: string | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const h = HEADER.exec(line);
    // The header line sits between two bare `--` lines; anything else that looks like one is body text.
    if (h && lines[i - 1] === '--' && lines[i + 1] === '--') {
      if (current) current.lines.pop(); // the opening `--` of this block
      current = { name: h[1], type: h[2], schema: h[3], owner: h[4], lines: [], accessMethod };
      out.push(current);
      i++; // the closing `--`
      continue;
    }
    // The closing block (`--` / `-- PostgreSQL database dump complete` / `--`) ends the last entry.
    if (line === '-- PostgreSQL database dump complete' && lines[i - 1] === '--') {
      current?.lines.pop();
      current = undefined;
      continue;
    }
    const am = ACCESS_METHOD.exec(line);
    if (am) accessMethod = am[1];
    if (current) current.lines.push(line);
  }
  return out;
}
