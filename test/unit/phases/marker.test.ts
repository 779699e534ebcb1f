import { expect, test } from 'vitest';
import {
  describeDropPlan,
  dropPlan,
  dropPlanSql,
  legacySettings,
  markerComment,
  parseMarkerComment,
  writtenTables,
  type Marker,
} from '../../../lib/phases/marker.ts';
import { rowProbeLines } from '../../../lib/phases/write-probe.ts';

const marker: Marker = {
  v: 2,
  kind: 'rehearsal',
  runId: 'r1',
  at: '2026-12-07T00:00:00.000Z',
  xid: '812',
  schemas: ['public', 'billing', 'Ops Data'],
  extensions: ['pg_trgm'],
  largeObjects: 2,
  writes: { 'public.a': 10, 'billing.b': 5 },
};

test('the marker round-trips through the database comment, keeping a DBA comment; other text is not a marker', () => {
  expect(parseMarkerComment(markerComment(marker, 'staging for team A'))).toEqual({
    marker,
    otherComment: 'staging for team A',
  });
  expect(parseMarkerComment('staging for team A')).toEqual({ otherComment: 'staging for team A' });
  expect(parseMarkerComment('{"migration_rehearsal":{"kind":"other","runId":"x"}}').marker).toBeUndefined();
  expect(parseMarkerComment(null)).toEqual({});
});

test('the previous release marker is read from the stored database settings', () => {
  expect(
    legacySettings([
      'work_mem=4MB',
      'migration_rehearsal.restored_by=run-9',
      'migration_rehearsal.assets_dir=/srv/a=b',
    ]),
  ).toEqual({ restoredBy: 'run-9', assetsDir: '/srv/a=b' });
  expect(legacySettings(null)).toEqual({ restoredBy: undefined, assetsDir: undefined });
});

test('written since: counters up, counters down (truncate or reset) and new tables all count; unchanged is nothing', () => {
  expect(writtenTables(marker.writes, { 'public.a': 10, 'billing.b': 5 })).toEqual([]);
  expect(writtenTables(marker.writes, { 'public.a': 12, 'billing.b': 0, 'public.c': 0 })).toEqual([
    'billing.b (its write counters went back: truncated, or statistics reset)',
    'public.a (2 row write(s) since the restore)',
    'public.c (new since the restore)',
  ]);
});

test('written since: the large-object catalogs count only when the marker recorded them (older markers lack them)', () => {
  const now = {
    'public.a': 10,
    'billing.b': 5,
    'pg_catalog.pg_largeobject': 3,
    'pg_catalog.pg_largeobject_metadata': 1,
  };
  expect(writtenTables(marker.writes, now)).toEqual([]);
  const recorded = { ...marker.writes, 'pg_catalog.pg_largeobject': 2, 'pg_catalog.pg_largeobject_metadata': 1 };
  expect(writtenTables(recorded, now)).toEqual([
    'large objects (their content written since the restore: pg_catalog.pg_largeobject counters moved)',
  ]);
});

test('row probe lines: each table with newer rows, and the tables left unproven (budget, lock, privilege) in one line', () => {
  expect(rowProbeLines({ written: [], unproven: [] })).toEqual([]);
  expect(
    rowProbeLines(
      {
        written: ['public.users'],
        unproven: [
          { table: 'public.big', why: 'the probe budget ran out' },
          { table: 'app.x', why: 'permission denied for table x' },
        ],
      },
      60_000,
    ),
  ).toEqual([
    'public.users (rows inserted or updated since the restore, found by their transaction ids: the write counters did not count them)',
    '2 table(s) not proven unwritten since the restore within the 60 s row probe (public.big: the probe budget ran out; app.x: permission denied for table x)',
  ]);
});

test('drop plan: the marked schemas and extensions go; a schema holding a DBA extension is emptied, the extension kept', () => {
  const installed = new Map([
    ['pg_trgm', 'public'],
    ['vector', 'public'],
    ['postgis', 'extensions'],
  ]);
  const plan = dropPlan({
    marker,
    archiveSchemas: ['billing'],
    targetSchemas: ['public', 'billing', 'Ops Data', 'extensions', 'dba_tools'],
    installed,
  });
  expect(plan).toEqual({
    drop: ['Ops Data', 'billing'],
    empty: [{ schema: 'public', keep: ['vector'] }],
    extensions: ['pg_trgm'],
  });
  const sql = dropPlanSql(plan).join('\n');
  expect(sql).toMatch(/^DROP EXTENSION IF EXISTS "pg_trgm" CASCADE;/);
  expect(sql).toContain('DROP SCHEMA IF EXISTS "Ops Data" CASCADE;');
  expect(sql).not.toMatch(/DROP SCHEMA IF EXISTS "(public|extensions|dba_tools)"/);
  expect(sql).toContain("d.deptype = 'e'");
  expect(describeDropPlan(plan)).toBe(
    'drops schema(s) "Ops Data", billing, the extension(s) the last restore created (pg_trgm), empties schema public but KEEPS extension(s) vector (installed by a DBA), and the large objects',
  );
});

test('drop plan of a target confirmed by name (no marker): public and the archive schemas present, public re-created', () => {
  const plan = dropPlan({
    archiveSchemas: ['app', 'missing'],
    targetSchemas: ['public', 'app', 'other'],
    installed: new Map(),
  });
  expect(plan).toEqual({ drop: ['app', 'public'], empty: [], extensions: [] });
  expect(dropPlanSql(plan)).toEqual([
    'DROP SCHEMA IF EXISTS "app" CASCADE;',
    'DROP SCHEMA IF EXISTS "public" CASCADE;',
    'CREATE SCHEMA public;',
    'GRANT USAGE ON SCHEMA public TO PUBLIC;',
    'SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata;',
  ]);
});
