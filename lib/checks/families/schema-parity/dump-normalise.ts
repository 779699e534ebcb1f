/**
 * What a restore may legitimately change in pg_dump's rendering of an object, taken out before two renderings are
 * compared: session SETs between entries, the random `\restrict` key (pg_dump 17.6+/15.14+), the closing comment,
 * owners (the rehearsal restores with --no-owner), the names PostgreSQL 18 gives NOT NULL constraints (older majors
 * have none), and the column order of inheritance children (pg_dump cannot keep it: a column the parent gained later
 * comes first on the restored child; gpdb#4955). Everything else pg_dump writes is compared. Pure.
 */
import type { DumpEntry } from './dump-parse.ts';

/** Session settings pg_dump writes between entries (pg_backup_archiver.c `_doSetFixedOutputState` and friends). */
const SESSION_SET =
  /^SET (statement_timeout|lock_timeout|idle_in_transaction_session_timeout|transaction_timeout|client_encoding|standard_conforming_strings|check_function_bodies|xmloption|client_min_messages|row_security|default_tablespace|default_table_access_method|default_with_oids|search_path) = .*;$/;

/** Lines that are never part of an object. */
function isNoise(line: string): boolean {
  return (
    SESSION_SET.test(line) ||
    /^\\(un)?restrict /.test(line) ||
    line === "SELECT pg_catalog.set_config('search_path', '', false);" ||
    line === '-- PostgreSQL database dump complete' ||
    /^ALTER .* OWNER TO .*;$/.test(line) ||
    /^ALTER TABLE ONLY .* ALTER COLUMN .* SET \(pg_attver=\d+\);$/.test(line)
  );
}

/**
 * `pg_attver`: an internal per-column option some PostgreSQL 15 builds keep in attoptions; a newer pg_dump renders it
 * (`ALTER COLUMN … SET (pg_attver=…)`), no server accepts it, and the restore never carries it (docs of this machine:
 * ecosystem facts). Not an attribute of the application's schema.
 */
function dropInternalAttOptions(line: string): string {
  return line.replace(/pg_attver=\d+, |, pg_attver=\d+/g, '');
}

/** PostgreSQL 18 renders a named NOT NULL as `CONSTRAINT <name> NOT NULL`; older majors have no name to render. */
function dropNotNullNames(line: string): string {
  return line.replace(/\bCONSTRAINT (?:"(?:[^"]|"")+"|[\w$]+) NOT NULL\b/g, 'NOT NULL');
}

/**
 * An inheritance child's `CREATE TABLE … ( cols ) INHERITS (…)`: its column lines sorted (trailing commas dropped), as
 * the restore creates the parent's columns first whatever order the source child had.
 */
function sortInheritedColumns(lines: string[]): string[] {
  const open = lines.findIndex((l) => /^CREATE (UNLOGGED |FOREIGN )?TABLE .* \($/.test(l));
  const close = lines.findIndex((l, i) => i > open && /^\)/.test(l));
  if (open < 0 || close < 0 || !lines.slice(close).some((l) => /^(\) )?INHERITS \(/.test(l))) return lines;
  const cols = lines
    .slice(open + 1, close)
    .map((l) => l.replace(/,$/, ''))
    .sort();
  return [...lines.slice(0, open + 1), ...cols, ...lines.slice(close)];
}

/**
 * The comparable text of one entry: its lines without noise, trailing blanks and empty edges, NOT NULL names dropped,
 * an inheritance child's columns sorted, and for tables and materialized views the access method they were created
 * with (a `SET` line pg_dump writes outside the entry).
 */
export function normaliseEntry(e: DumpEntry): string {
  let lines = e.lines
    .filter((l) => !isNoise(l))
    .map((l) => dropInternalAttOptions(dropNotNullNames(l.replace(/\s+$/, ''))))
    .filter((l, i, a) => l !== '' || (i > 0 && a[i - 1] !== ''));
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  while (lines.length && lines[0] === '') lines.shift();
  lines = sortInheritedColumns(lines);
  if (e.accessMethod && (e.type === 'TABLE' || e.type === 'MATERIALIZED VIEW') && lines.length)
    lines.push(`-- access method: ${e.accessMethod}`);
  return lines.join('\n');
}

/** The key an entry is matched by across the two dumps: `TYPE schema name` (`-` schema: `TYPE name`). */
export function entryKey(e: Pick<DumpEntry, 'type' | 'schema' | 'name'>): string {
  return e.schema === '-' ? `${e.type} ${e.name}` : `${e.type} ${e.schema}.${e.name}`;
}
