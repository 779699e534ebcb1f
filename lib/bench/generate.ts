/**
 * The bench's source database and asset tree at scale: the demo fixture's schema (lib/fixture.ts), filled by a faster
 * generator whose asset references point into a pool of a fixed number of files.
 *
 * Why a separate generator: the fixture gives every row its own file (about 7 files per user), so 1M rows would mean
 * half a million files; the bench needs rows and files to scale independently (BENCH_ROWS, BENCH_FILES).
 *
 * Shape of the references, per asset column (knowledge_materials.storage_path, ugc_assets.storage_path,
 * gallery_items.storage_dir), with that column's share of the files `f` (proportional to its row count):
 * - row k (1-based, in id order) references file (k - 1) % f, so the first f rows reference every file exactly once
 *   and later rows reuse them: every file on disk is referenced and every reference exists (asset checks are green);
 * - beyond the first f rows, some knowledge_materials paths are NULL (as in the fixture), and some ugc_assets have no
 *   user (a nullable relation).
 * A tiny table `bench_probe` (one row, one all-NULL path column) is added for the "nothing to do" overhead run.
 *
 * Rows are generated in PostgreSQL (generate_series) with FK triggers off (rows are consistent by construction; the
 * suite's orphan checks verify it) and the HNSW index built once after the load (incremental inserts are far slower),
 * or left out (BENCH_HNSW=0: then no copy of the world builds one).
 * Ids come from the identity/serial defaults in `ORDER BY r.k` order (not by a bare column name: PostgreSQL names a
 * `CASE ... ELSE u END` output column `u`, and ORDER BY would sort on it, NULLs last).
 */
import type pg from 'pg';
import { DEFAULT_DB_PATH_PREFIX } from '../core/paths.ts';
import { FIXTURE_TABLES, fixtureSchemaSql, USER_DISPLAY_NAME_SQL, writeReferencedAssets } from '../sandbox/fixture.ts';

export const PROBE_TABLE = 'bench_probe';
export const BENCH_TABLES = [...FIXTURE_TABLES, PROBE_TABLE] as const;

export interface BenchShape {
  /** Users; every other table scales from it (13 rows per user in total). */
  users: number;
  /** Rows per table. */
  rows: Record<string, number>;
  /** Files per asset column; their sum is the number of files on disk. */
  files: { knowledge: number; ugc: number; gallery: number };
  dims: number;
  prefix: string;
  /** Whether material_embeddings gets its HNSW index (BENCH_HNSW; default true). */
  hnsw: boolean;
}

/** Rows per user and table (13 in total), as in the demo fixture. */
const PER_USER = {
  users: 1,
  knowledge_bases: 1,
  knowledge_materials: 3,
  material_embeddings: 3,
  ugc_assets: 2,
  galleries: 1,
  gallery_items: 2,
};

/** The shape for about `totalRows` rows and `files` files (each column gets at most one file per row). */
export function benchShape(
  totalRows: number,
  files: number,
  opts: { dims?: number; prefix?: string; hnsw?: boolean } = {},
): BenchShape {
  const users = Math.max(1, Math.round(totalRows / 13));
  const rows: Record<string, number> = {};
  for (const [t, k] of Object.entries(PER_USER)) rows[t] = users * k;
  rows[PROBE_TABLE] = 1;
  const knowledge = Math.max(1, Math.min(rows.knowledge_materials, Math.floor((files * 3) / 7)));
  const ugc = Math.max(1, Math.min(rows.ugc_assets, Math.floor((files * 2) / 7)));
  const gallery = Math.max(1, Math.min(rows.gallery_items, files - knowledge - ugc));
  return {
    users,
    rows,
    files: { knowledge, ugc, gallery },
    dims: opts.dims ?? 16,
    prefix: opts.prefix ?? DEFAULT_DB_PATH_PREFIX,
    hnsw: opts.hnsw ?? true,
  };
}

export function totalFiles(s: BenchShape): number {
  return s.files.knowledge + s.files.ugc + s.files.gallery;
}

/** The DB path of knowledge file `fi` (SQL expression over an integer expression `fi`). */
function knowledgePathSql(prefix: string, fi: string): string {
  return `'${prefix}/knowledge/' || (${fi}) / 100 || '/' || (${fi}) || '-' || (ARRAY['report.pdf', 'notes 2024.txt', '资料 总结.md'])[(${fi}) % 3 + 1]`;
}

function ugcPathSql(prefix: string, fi: string): string {
  return `'${prefix}/ugc/' || (${fi}) / 100 || '/' || (${fi}) || CASE WHEN (${fi}) % 2 = 0 THEN '.jpg' ELSE ' photo é.png' END`;
}

/** The data, generated in the server; run in an empty database after fixtureSchemaSql. */
export function benchDataSql(s: BenchShape): string {
  const n = s.users;
  const prefix = s.prefix.replace(/'/g, "''");
  const { knowledge: fk, ugc: fu, gallery: fg } = s.files;
  return `
SET session_replication_role = replica;
SET maintenance_work_mem = '256MB';
DROP INDEX material_embeddings_hnsw_idx;

INSERT INTO users (email, display_name, created_at, profile)
SELECT 'user' || g || '@example.test',
       ${USER_DISPLAY_NAME_SQL},
       timestamptz '2024-01-01 00:00:00+00' + g * interval '37 seconds',
       CASE WHEN g % 5 = 0 THEN NULL
            ELSE jsonb_build_object('lang', CASE WHEN g % 2 = 0 THEN 'zh-CN' ELSE 'en' END, 'score', g * 0.1,
                                    'bio', 'Enjoys hiking, tea and long ' || CASE WHEN g % 2 = 0 THEN '周末' ELSE 'weekends' END || ' #' || g,
                                    'tags', jsonb_build_array('a', g)) END
FROM generate_series(1, ${n}) g
ORDER BY g;

INSERT INTO knowledge_bases (owner_id, title, created_at)
SELECT g, CASE WHEN g % 2 = 0 THEN '知识库 #' || g || ' — 产品文档' ELSE 'Knowledge base ' || g || ': onboarding notes' END,
       timestamptz '2024-02-01 00:00:00+00' + g * interval '1 minute'
FROM generate_series(1, ${n}) g
ORDER BY g;

INSERT INTO knowledge_materials (kb_id, title, storage_path, size_bytes, mime, created_at)
SELECT kb,
       (ARRAY['Quarterly report', 'Meeting notes', '资料总结'])[i] || ' ' || r.k || ' — ' || md5(r.k::text),
       CASE WHEN r.k > ${fk} AND r.k % 11 = 0 THEN NULL ELSE ${knowledgePathSql(prefix, 'r.fi')} END,
       CASE WHEN r.k > ${fk} AND r.k % 11 = 0 THEN NULL ELSE 512 + (r.fi % 16) * 256 END,
       (ARRAY['application/pdf', 'text/plain', 'text/markdown'])[r.fi % 3 + 1],
       timestamptz '2024-03-01 00:00:00+00' + r.k * interval '13 seconds'
FROM generate_series(1, ${n}) kb
CROSS JOIN generate_series(1, 3) i
CROSS JOIN LATERAL (SELECT (kb - 1) * 3 + i AS k, ((kb - 1) * 3 + i - 1) % ${fk} AS fi) r
ORDER BY r.k;

INSERT INTO material_embeddings (material_id, model, embedding)
SELECT m, 'text-embedding-demo', array_agg(round(sin(m * d + d)::numeric, 6)::float4 ORDER BY d)::vector
FROM generate_series(1, ${n * 3}) m CROSS JOIN generate_series(1, ${s.dims}) d
GROUP BY m
ORDER BY m;

INSERT INTO ugc_assets (user_id, storage_path, sha256, uploaded_at)
SELECT CASE WHEN r.k % 13 = 0 THEN NULL ELSE u END,
       ${ugcPathSql(prefix, 'r.fi')},
       encode(sha256(convert_to('ugc:' || r.fi, 'UTF8')), 'hex'),
       timestamptz '2024-04-01 00:00:00+00' + r.k * interval '5 seconds'
FROM generate_series(1, ${n}) u
CROSS JOIN generate_series(1, 2) i
CROSS JOIN LATERAL (SELECT (u - 1) * 2 + i AS k, ((u - 1) * 2 + i - 1) % ${fu} AS fi) r
ORDER BY r.k;

INSERT INTO galleries (owner_id, slug, title)
SELECT g, 'g-' || g, CASE WHEN g % 2 = 0 THEN '相册 ' || g || '：夏天' ELSE 'Gallery ' || g || ' (summer trip)' END
FROM generate_series(1, ${n}) g
ORDER BY g;

INSERT INTO gallery_items (owner_id, gallery_slug, storage_dir, caption, position)
SELECT g, 'g-' || g, '${prefix}/gallery/' || r.fi || '/',
       CASE WHEN i = 2 THEN NULL ELSE 'Caption «' || g || '» sunset over the bay, shot ' || r.k END, i
FROM generate_series(1, ${n}) g
CROSS JOIN generate_series(1, 2) i
CROSS JOIN LATERAL (SELECT (g - 1) * 2 + i AS k, ((g - 1) * 2 + i - 1) % ${fg} AS fi) r
ORDER BY r.k;

CREATE TABLE ${PROBE_TABLE} (id integer PRIMARY KEY, storage_path text);
INSERT INTO ${PROBE_TABLE} VALUES (1, NULL);

SET session_replication_role = DEFAULT;
${s.hnsw ? 'CREATE INDEX material_embeddings_hnsw_idx ON material_embeddings USING hnsw (embedding vector_l2_ops);' : '-- BENCH_HNSW=0: no HNSW index (no copy builds one)'}
REFRESH MATERIALIZED VIEW user_asset_counts;
ANALYZE;
`;
}

/** Create the schema and the rows in an empty database. */
export async function loadBenchDatabase(client: pg.ClientBase, s: BenchShape): Promise<void> {
  await client.query(fixtureSchemaSql({ dims: s.dims }));
  await client.query(benchDataSql(s));
}

/**
 * Write the files the rows reference under `root` (standing for the prefix). The distinct paths are exactly those of
 * the first f rows of each column, read from the database in keyset pages (so the tree matches what SQL generated).
 * Returns the number of files written.
 */
export async function writeBenchAssets(
  client: pg.ClientBase,
  root: string,
  s: BenchShape,
  opts: { pageSize?: number } = {},
): Promise<number> {
  return writeReferencedAssets(
    client,
    root,
    s.prefix,
    [
      {
        sql: 'SELECT id, storage_path AS p, size_bytes AS size FROM knowledge_materials WHERE id > $1 AND id <= $3 ORDER BY id LIMIT $2',
        kind: 'file',
        params: [s.files.knowledge],
      },
      {
        sql: 'SELECT id, storage_path AS p, NULL AS size FROM ugc_assets WHERE id > $1 AND id <= $3 ORDER BY id LIMIT $2',
        kind: 'file',
        params: [s.files.ugc],
      },
      {
        sql: 'SELECT id, storage_dir AS p, NULL AS size FROM gallery_items WHERE id > $1 AND id <= $3 ORDER BY id LIMIT $2',
        kind: 'dir',
        params: [s.files.gallery],
      },
    ],
    { pageSize: opts.pageSize, fileSize: 1024, coverSize: 2048 },
  );
}
