/**
 * The orphan checks folded into the fused table scan (issue 28 item 3): per relation whose child rows the scanned table
 * holds, the scan also collects the child keys that have no parent row, probing the parent through a unique index for
 * each child row (a SubPlan per row), so `--verify-only` reads every table once per side instead of once for its fused
 * scan plus once per foreign key as child and once as parent.
 *
 * The rule is the orphans family's (lib/checks/families/orphans/sql.ts): MATCH SIMPLE — a key with a NULL in any column
 * references nothing and is not an orphan; the key as `to_json(ARRAY[col::text, ...])::text`, in key-column order;
 * child and parent read without ONLY, as the anti-join reads them.
 *
 * Planner: `NOT EXISTS (SELECT 1 FROM parent WHERE key = child.key OFFSET 0)` inside an aggregate's FILTER stays a
 * per-row SubPlan (sublinks are pulled up into joins only from WHERE/JOIN clauses), and `OFFSET 0` stops the planner
 * from turning the EXISTS into a hashed `= ANY` alternative (which would read the whole parent into a hash table). With
 * the equality on every column of a unique index the SubPlan is an Index (Only) Scan of that index
 * (EXPLAIN on PostgreSQL 15.20 and 17.10: `Aggregate -> Seq Scan on child; SubPlan 1 -> Index Only Scan using
 * parent_pkey on parent, Index Cond: (id = t.parent_id)`). A parent of a few rows would still be read by a Seq Scan
 * per probe (cheaper to the planner), so a folded scan runs with enable_seqscan off and reads the child by a TID Range
 * Scan (lib/checks/shared/table-scan.ts FOLDED_SCAN_SETTINGS): `Aggregate -> Tid Range Scan on child (ctid >=
 * '(0,0)'); SubPlan 1 -> Index Only Scan using parent_pkey`. PostgreSQL before 14 (no TID Range Scan) does not fold.
 *
 * Cost: a probe is a B-tree descent per child row and key, CPU work several times a row's share of the scan, where the
 * anti-join it replaces hashes the parent once. On data in cache the fold is slower: row-count + checksum + orphans
 * families in-process, 3 tables of 200,000 + 1,000,000 + 1,000,000 rows with 3 foreign keys, both sides on one
 * PostgreSQL 15 of a loaded 2-core host, 5 interleaved runs each: 10.2-21.4 s (median 15.6) before, 15.6-27.4 s
 * (median 19.6) folded, 1.26x by the medians, 1.53x best against best. On data larger than memory it saves a read of
 * every child and parent heap per foreign key. A scan with probes is split into block ranges from a smaller size
 * (PROBE_WEIGHT) so that its probes use the server's cores.
 *
 * A relation is folded on a side only where that is safe there (probeCatalogQuery, decideProbes): the parent has a
 * valid, non-partial unique index on exactly the key columns (a failed restore can lose it), every column pair has the
 * same collation, and the same type unless the side declares that foreign key; otherwise the orphans family falls back
 * to its anti-join and says why.
 */
import { quoteIdent, quoteTable, type TableRef } from '../../core/ident.ts';
import type { Relation } from '../../core/config.ts';
import type { Query } from '../../core/query.ts';

/** How many orphan keys each folded relation returns with its count (the examples of a failure message). */
export const FOLD_SAMPLE = 5;

/** The identity of a relation in a scan result: `[child, childColumns, parent, parentColumns]` as JSON. */
export function orphanKey(rel: Pick<Relation, 'child' | 'childColumns' | 'parent' | 'parentColumns'>): string {
  const t = (x: TableRef) => [x.schema, x.name];
  return JSON.stringify([t(rel.child), rel.childColumns, t(rel.parent), rel.parentColumns]);
}

/** One relation folded into a scan on one side, as decided from that side's catalog. */
export interface OrphanProbe {
  key: string;
  rel: Relation;
  /** The unique index of the parent that answers each probe. */
  index: string;
  /** When the child is a partition of the scanned table: the oids of its leaf partitions (rows are told by tableoid). */
  leafOids?: string[];
}

/** What one side's catalog says about a candidate relation (a row of probeCatalogQuery). */
export interface ProbeRow {
  i: number;
  child_exists: boolean;
  is_host: boolean;
  leaf_oids: string[] | null;
  parent_exists: boolean;
  columns_exist: boolean;
  index: string | null;
  same_types: boolean;
  same_collations: boolean;
  declared_here: boolean;
}

/**
 * For each candidate relation, what this side's catalog says about folding it into the scan of `host`: whether the
 * child is `host` itself or a partition under it (then its leaf partitions), whether the parent has a usable unique
 * index on the key columns (valid, no predicate, no expression, exactly those key columns in any order; the primary
 * key first), whether the column pairs have the same types and collations, and whether this side declares the foreign
 * key. One row per candidate, `i` its 0-based position. Catalog reads only (pg_partition_tree: PostgreSQL 12+).
 */
export function probeCatalogQuery(host: TableRef, rels: Relation[]): Query {
  const list = rels.map((r, i) => ({
    i,
    cs: r.child.schema,
    cn: r.child.name,
    cc: r.childColumns,
    ps: r.parent.schema,
    pn: r.parent.name,
    pc: r.parentColumns,
  }));
  const names = (
    rel: string,
    keys: string,
  ) => `ARRAY(SELECT a.attname::text FROM unnest(${keys}) WITH ORDINALITY AS u(n, o)
      JOIN pg_attribute a ON a.attrelid = ${rel} AND a.attnum = u.n ORDER BY u.o)`;
  return {
    text: `WITH h AS (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $2 AND c.relname = $3),
k AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS k(i int, cs text, cn text, cc text[], ps text, pn text, pc text[])),
r AS (SELECT k.*, ch.oid AS coid, pa.oid AS poid,
    ARRAY(SELECT a.atttypid FROM unnest(k.cc) WITH ORDINALITY u(col, o) LEFT JOIN pg_attribute a ON a.attrelid = ch.oid AND a.attname = u.col AND a.attnum > 0 AND NOT a.attisdropped ORDER BY u.o) AS ctypes,
    ARRAY(SELECT a.atttypid FROM unnest(k.pc) WITH ORDINALITY u(col, o) LEFT JOIN pg_attribute a ON a.attrelid = pa.oid AND a.attname = u.col AND a.attnum > 0 AND NOT a.attisdropped ORDER BY u.o) AS ptypes,
    ARRAY(SELECT a.attcollation FROM unnest(k.cc) WITH ORDINALITY u(col, o) LEFT JOIN pg_attribute a ON a.attrelid = ch.oid AND a.attname = u.col AND a.attnum > 0 AND NOT a.attisdropped ORDER BY u.o) AS ccolls,
    ARRAY(SELECT a.attcollation FROM unnest(k.pc) WITH ORDINALITY u(col, o) LEFT JOIN pg_attribute a ON a.attrelid = pa.oid AND a.attname = u.col AND a.attnum > 0 AND NOT a.attisdropped ORDER BY u.o) AS pcolls
  FROM k
  LEFT JOIN (pg_class ch JOIN pg_namespace chn ON chn.oid = ch.relnamespace) ON chn.nspname = k.cs AND ch.relname = k.cn
  LEFT JOIN (pg_class pa JOIN pg_namespace pan ON pan.oid = pa.relnamespace) ON pan.nspname = k.ps AND pa.relname = k.pn)
SELECT r.i, r.coid IS NOT NULL AS child_exists, r.coid = (SELECT oid FROM h) AS is_host,
  CASE WHEN r.coid <> (SELECT oid FROM h) AND (SELECT c.relispartition FROM pg_class c WHERE c.oid = r.coid)
    AND pg_partition_root(r.coid) = (SELECT oid FROM h)
    THEN ARRAY(SELECT t.relid::oid::text FROM pg_partition_tree(r.coid) t WHERE t.isleaf) END AS leaf_oids,
  r.poid IS NOT NULL AS parent_exists,
  (r.coid IS NOT NULL AND r.poid IS NOT NULL AND array_position(r.ctypes || r.ptypes, NULL) IS NULL) AS columns_exist,
  (SELECT ic.relname::text FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
    WHERE x.indrelid = r.poid AND x.indisunique AND x.indisvalid AND x.indpred IS NULL AND x.indexprs IS NULL
      AND x.indnkeyatts = cardinality(r.pc)
      AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
           WHERE a.attrelid = r.poid AND a.attnum = ANY ((x.indkey::int2[])[0:x.indnkeyatts - 1]))
        = (SELECT array_agg(c ORDER BY c) FROM unnest(r.pc) c)
    ORDER BY x.indisprimary DESC, ic.relname LIMIT 1) AS index,
  r.ctypes = r.ptypes AS same_types, r.ccolls = r.pcolls AS same_collations,
  EXISTS (SELECT 1 FROM pg_constraint con WHERE con.contype = 'f' AND con.conrelid = r.coid AND con.confrelid = r.poid
    AND ${names('con.conrelid', 'con.conkey')} = r.cc AND ${names('con.confrelid', 'con.confkey')} = r.pc) AS declared_here
FROM r ORDER BY r.i`,
    values: [JSON.stringify(list), host.schema, host.name],
  };
}

/**
 * Which candidates fold into the scan of this side (pure): those whose child is the scanned table or one of its
 * partitions and whose parent can be probed by a unique index; the others are `skipped` with the reason the orphans
 * family shows (a child that is neither is simply not this scan's: absent from both).
 */
export function decideProbes(
  rels: Relation[],
  rows: ProbeRow[],
): { probes: OrphanProbe[]; skipped: Record<string, string> } {
  const probes: OrphanProbe[] = [];
  const skipped: Record<string, string> = {};
  for (const row of rows) {
    const rel = rels[row.i];
    if (!rel || !row.child_exists || (!row.is_host && !row.leaf_oids)) continue;
    const key = orphanKey(rel);
    const why = !row.parent_exists
      ? 'the parent table does not exist here'
      : !row.columns_exist
        ? 'a key column does not exist here'
        : !row.index
          ? 'the parent has no unique index on exactly the key columns here'
          : !row.same_collations
            ? 'the key columns have different collations'
            : !row.same_types && !row.declared_here
              ? 'the key columns have different types and no foreign key declares them here'
              : undefined;
    if (why) skipped[key] = why;
    else probes.push({ key, rel, index: row.index!, ...(row.is_host ? {} : { leafOids: row.leaf_oids! }) });
  }
  return { probes, skipped };
}

/**
 * The aggregate of one folded relation inside the fused query (the scanned table aliased `t`): the keys of the rows
 * that are orphans, as an array (pure). Its count and first keys are taken by the outer query (foldedColumns), so the
 * parent is probed once per child row.
 */
export function orphanAggregate(p: OrphanProbe, alias: string): string {
  const ch = p.rel.childColumns.map((c) => `t.${quoteIdent(c)}`);
  const conds = ch.map((c) => `${c} IS NOT NULL`);
  if (p.leafOids) conds.unshift(`t.tableoid = ANY ('{${p.leafOids.map((o) => String(Number(o))).join(',')}}'::oid[])`);
  const join = p.rel.parentColumns.map((c, i) => `pa.${quoteIdent(c)} = ${ch[i]}`).join(' AND ');
  conds.push(`NOT EXISTS (SELECT 1 FROM ${quoteTable(p.rel.parent)} AS pa WHERE ${join} OFFSET 0)`);
  const key = `to_json(ARRAY[${ch.map((c) => `${c}::text`).join(', ')}])::text`;
  return `array_agg(${key}) FILTER (WHERE ${conds.join(' AND ')}) AS ${alias}`;
}

/** The outer query's columns of a folded relation aggregated as `alias`: `<alias>_n` (text) and `<alias>_k`. */
export function foldedColumns(alias: string): string[] {
  return [
    `coalesce(cardinality(f.${alias}), 0)::text AS ${alias}_n`,
    `coalesce(f.${alias}[1:${FOLD_SAMPLE}], '{}') AS ${alias}_k`,
  ];
}
