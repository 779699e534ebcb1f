/**
 * Inheritance children and partitions a table had on the source and lost on the target (`ALTER TABLE child NO
 * INHERIT parent`, `DETACH PARTITION`): a scan of the parent includes its children's rows, so after such a change the
 * parent looks short of rows that are still in the database, in the detached child. The row-count and checksum checks
 * say so instead of only "rows missing".
 */
import { displayTable, type TableRef } from '../../core/ident.ts';
import type { Query } from '../../core/query.ts';
import { catalogRows, sides } from './deep-context.ts';
import type { Config } from '../../core/config.ts';

/** The direct inheritance children and partitions of `t` (one row each: schema, name); no row without any. */
export function childrenQuery(t: TableRef): Query {
  return {
    text: `SELECT n.nspname::text AS schema, c.relname::text AS name
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.inhparent = (SELECT p.oid FROM pg_class p JOIN pg_namespace pn ON pn.oid = p.relnamespace
                     WHERE pn.nspname = $1 AND p.relname = $2)
ORDER BY 1, 2`,
    values: [t.schema, t.name],
  };
}

/** Whether each table exists: one row per existing table (schema, name). */
function existingQuery(ts: TableRef[]): Query {
  return {
    text: `SELECT n.nspname::text AS schema, c.relname::text AS name
FROM unnest($1::text[], $2::text[]) AS k(sch, rel)
JOIN pg_namespace n ON n.nspname = k.sch JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = k.rel`,
    values: [ts.map((t) => t.schema), ts.map((t) => t.name)],
  };
}

/** The children the source has and the target does not, among those the target still holds as tables (pure). */
export function detached(srcChildren: TableRef[], dstChildren: TableRef[], dstExisting: TableRef[]): TableRef[] {
  const key = (t: TableRef) => JSON.stringify([t.schema, t.name]);
  const kept = new Set(dstChildren.map(key));
  const exists = new Set(dstExisting.map(key));
  return srcChildren.filter((c) => !kept.has(key(c)) && exists.has(key(c)));
}

/**
 * The sentence for a parent whose children were detached on the target, or undefined: `rows moved to a detached
 * child: public.trucks (a child of public.vehicles on the source, not on the target; its rows are no longer read
 * through public.vehicles)`. Needs a source; never throws (a catalog error gives undefined: the hint is extra).
 */
export async function detachedChildrenHint(cfg: Config, t: TableRef): Promise<string | undefined> {
  if (!cfg.src) return undefined;
  try {
    const s = sides(cfg);
    const q = childrenQuery(t);
    const [src, dst] = await Promise.all([
      catalogRows<TableRef>(s.src!, q.text, q.values as unknown[]),
      catalogRows<TableRef>(s.dst, q.text, q.values as unknown[]),
    ]);
    if (!src.length) return undefined;
    const e = existingQuery(src);
    const existing = await catalogRows<TableRef>(s.dst, e.text, e.values as unknown[]);
    const gone = detached(src, dst, existing);
    if (!gone.length) return undefined;
    const names = gone.map(displayTable).join(', ');
    return `rows moved to a detached child: ${names} (${gone.length > 1 ? 'children' : 'a child'} of ${displayTable(t)} on the source, not on the target — ALTER TABLE … NO INHERIT or DETACH PARTITION; ${gone.length > 1 ? 'their' : 'its'} rows are no longer read through ${displayTable(t)})`;
  } catch {
    return undefined;
  }
}
