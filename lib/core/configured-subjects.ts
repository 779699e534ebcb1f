/**
 * Tables, columns and relations named in the configuration (ASSET_COLUMNS when set, ORPHAN_RELATIONS,
 * VALIDATE_TABLES, CHECKSUM_TABLES) must exist: a misspelt name is a configuration error, never a silent skip.
 * Preflight asks the source (exit 2 before anything is written); discovery asks the target and the checks then fail
 * naming the culprit. Each problem names the variable, the missing object, the database side, and the closest
 * existing name when there is one (`did you mean ugc_assets?`).
 */
import type pg from 'pg';
import type { Config } from './config.ts';
import { columnExistsQuery } from './catalog.ts';
import { editDistance } from './cli-args.ts';
import { displayIdent, displayTable, type TableRef } from './ident.ts';

/** The existing name closest to `name` (case-insensitive equal, or at most 2 edits, or one contains the other). */
export function closestName(name: string, candidates: string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  const lower = name.toLowerCase();
  for (const c of candidates) {
    const cl = c.toLowerCase();
    const d = cl === lower ? 0 : editDistance(lower, cl);
    const near = d <= 2 || (Math.min(cl.length, lower.length) >= 4 && (cl.includes(lower) || lower.includes(cl)));
    if (near && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}

const RELATIONS_SQL = `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1`;
const COLUMNS_SQL = `SELECT a.attname AS name FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1`;

/**
 * Why `table`(.`column`) does not exist in the database `c` is connected to, with a suggestion, or undefined when it
 * exists. `side` is 'source' or 'target' (for the message).
 */
export async function whyMissing(
  c: pg.ClientBase,
  table: TableRef,
  column: string | undefined,
  side: string,
): Promise<string | undefined> {
  const q = columnExistsQuery(table, column ?? '');
  const r = (await c.query<{ table_exists: boolean; column_exists: boolean }>(q.text, q.values as unknown[])).rows[0];
  if (!r?.table_exists) {
    const names = (await c.query<{ name: string }>(RELATIONS_SQL, [table.schema])).rows.map((x) => x.name);
    const near = closestName(table.name, names);
    return `table ${displayTable(table)} does not exist in the ${side}${near ? ` (did you mean ${displayIdent(near)}?)` : ''}`;
  }
  if (column !== undefined && !r.column_exists) {
    const names = (await c.query<{ name: string }>(COLUMNS_SQL, [table.schema, table.name])).rows.map((x) => x.name);
    const near = closestName(column, names);
    return `column ${displayIdent(column)} does not exist in table ${displayTable(table)} of the ${side}${near ? ` (did you mean ${displayIdent(near)}?)` : ''}`;
  }
  return undefined;
}

/**
 * Every configured subject that does not exist in the database `c` is connected to, one line each naming the
 * variable: ASSET_COLUMNS (only when set: the default names the reference application's columns, which a database
 * may lack), ORPHAN_RELATIONS (both sides, every column), VALIDATE_TABLES, CHECKSUM_TABLES.
 */
export async function missingConfiguredSubjects(
  c: pg.ClientBase,
  config: Pick<
    Config,
    'assetColumns' | 'assetColumnsConfigured' | 'orphanRelations' | 'validateTables' | 'checksumTables'
  >,
  side: string,
): Promise<string[]> {
  const problems: string[] = [];
  if (config.assetColumnsConfigured)
    for (const a of config.assetColumns) {
      const why = await whyMissing(c, a.table, a.column, side);
      if (why) problems.push(`ASSET_COLUMNS names ${displayTable(a.table)}.${displayIdent(a.column)}, but ${why}`);
    }
  for (const rel of config.orphanRelations) {
    for (const [t, cols] of [
      [rel.child, rel.childColumns],
      [rel.parent, rel.parentColumns],
    ] as const) {
      for (const col of cols) {
        const why = await whyMissing(c, t, col, side);
        if (why) {
          problems.push(`ORPHAN_RELATIONS names ${displayTable(t)}.${displayIdent(col)}, but ${why}`);
          break;
        }
      }
    }
  }
  for (const [name, tables] of [
    ['VALIDATE_TABLES', config.validateTables],
    ['CHECKSUM_TABLES', config.checksumTables],
  ] as const) {
    for (const t of tables ?? []) {
      const why = await whyMissing(c, t, undefined, side);
      if (why) problems.push(`${name} names ${displayTable(t)}, but ${why}`);
    }
  }
  return problems;
}
