/**
 * Large objects: pg_dump carries every large object (pg_largeobject_metadata + pg_largeobject) with its OID kept, and
 * tables point at them by that OID (an `oid` or `lo` column), so a missing or changed object is data loss that no
 * table checksum sees. Compared: the set of OIDs and, per object, its size and md5, computed inside PostgreSQL on
 * both sides (`lo_get` reads the object; nothing but the hashes crosses the wire).
 */
import type { Query } from '../../../core/query.ts';

/** One large object as read on a side. */
export interface LargeObject {
  /** The OID, as text (OIDs are unsigned 32-bit). */
  oid: string;
  bytes: string;
  md5: string;
}

/**
 * Every large object with its size and md5, in OID order. Reading an object needs SELECT on it (the owner, a
 * superuser, or `lo_compat_privileges`); a refusal is an error the spec reports as the check's failure.
 */
export function largeObjectsQuery(): Query {
  return {
    text: `SELECT m.oid::text AS oid, octet_length(x.b)::text AS bytes, md5(x.b) AS md5
FROM pg_largeobject_metadata m, LATERAL (SELECT lo_get(m.oid) AS b) x
ORDER BY m.oid`,
    values: [],
  };
}

/**
 * One row for the whole set: count, total bytes and an order-independent sum of each object's md5 (first 64 bits, with
 * its OID folded in), so equal sets are proven without sending one row per object; the per-object list is read only
 * when these differ.
 */
export function largeObjectsSummaryQuery(): Query {
  return {
    text: `SELECT count(*)::text AS n, coalesce(sum(octet_length(x.b)), 0)::text AS bytes,
  coalesce(sum(('x' || substr(md5(m.oid::text || ':' || md5(x.b)), 1, 16))::bit(64)::bigint::numeric), 0)::text AS s
FROM pg_largeobject_metadata m, LATERAL (SELECT lo_get(m.oid) AS b) x`,
    values: [],
  };
}

/** One side's row of largeObjectsSummaryQuery (decimal text: the sums exceed 2^53). */
export interface LargeObjectsSummary {
  n: string;
  bytes: string;
  s: string;
}

/**
 * The evidence line of the summaries of both sides, naming the sum for what it is: the sum (as numeric, no overflow)
 * of one signed 64-bit integer per object, the first 16 hex digits of md5(oid || ':' || md5(bytes)).
 */
export function largeObjectsEvidence(src: LargeObjectsSummary, dst: LargeObjectsSummary): string {
  const show = (x: LargeObjectsSummary) => `${x.n} objects, ${x.bytes} bytes, sum of object hashes ${x.s}`;
  return (
    `source: ${show(src)}; target: ${show(dst)} (object hash: the first 64 bits of md5(oid ':' md5(bytes)) as a ` +
    'signed 64-bit integer, computed in PostgreSQL; the sum is exact, without overflow)'
  );
}

export interface LargeObjectReport {
  source: number;
  target: number;
  /** OIDs on the source only. */
  missing: string[];
  /** OIDs on the target only. */
  extra: string[];
  /** OIDs on both sides whose size or md5 differ, with both sizes. */
  changed: Array<{ oid: string; src: string; dst: string }>;
}

/** Compare the two lists by OID. */
export function compareLargeObjects(src: LargeObject[], dst: LargeObject[]): LargeObjectReport {
  const d = new Map(dst.map((o) => [o.oid, o]));
  const s = new Map(src.map((o) => [o.oid, o]));
  const r: LargeObjectReport = { source: src.length, target: dst.length, missing: [], extra: [], changed: [] };
  for (const o of src) {
    const t = d.get(o.oid);
    if (!t) r.missing.push(o.oid);
    else if (t.md5 !== o.md5 || t.bytes !== o.bytes)
      r.changed.push({ oid: o.oid, src: `${o.bytes} bytes md5 ${o.md5}`, dst: `${t.bytes} bytes md5 ${t.md5}` });
  }
  for (const o of dst) if (!s.has(o.oid)) r.extra.push(o.oid);
  return r;
}

/** The failure message naming the OIDs (up to `limit` per category), or '' when both sides hold the same objects. */
export function largeObjectsMessage(r: LargeObjectReport, limit = 20): string {
  const list = (xs: string[]) =>
    `${xs.slice(0, limit).join(', ')}${xs.length > limit ? `, … (${xs.length - limit} more)` : ''}`;
  const parts: string[] = [];
  if (r.missing.length) parts.push(`missing on target (${r.missing.length}): OID ${list(r.missing)}`);
  if (r.extra.length) parts.push(`extra on target (${r.extra.length}): OID ${list(r.extra)}`);
  if (r.changed.length)
    parts.push(
      `content differs (${r.changed.length}): ${list(r.changed.map((c) => `OID ${c.oid} [source: ${c.src} | target: ${c.dst}]`))}`,
    );
  return parts.length ? `large objects: source ${r.source}, target ${r.target}; ${parts.join('; ')}` : '';
}
