/**
 * lib/phases/engines/pgcopydb.ts without a database: the command (no secret in argv, bounded jobs, its own folder,
 * split behind feature detection), the URIs (no password, session settings in `options`), the passfile's escaping,
 * version refusals, the filter plan's decisions and refusals, and the progress parser on real pgcopydb 0.10 lines.
 */
import { describe, expect, test } from 'vitest';
import { parseDsn, type Dsn } from '../../../../lib/core/dsn.ts';
import {
  emptyProgress,
  parsePgcopydbLine,
  parsePgcopydbVersion,
  passfileText,
  pgcopydbFeatures,
  pgcopydbFilterPlan,
  pgcopydbPlan,
  pgcopydbRefusal,
  pgcopydbUri,
  progressLine,
  PGCOPYDB_NOT_ATOMIC,
} from '../../../../lib/phases/engines/pgcopydb.ts';

const PASSWORD = `p:w\\d@'x y`;
const src: Dsn = parseDsn(`postgresql://app:${encodeURIComponent(PASSWORD)}@db.internal:5433/legacy?sslmode=require`);
const dst: Dsn = parseDsn(`postgresql://stage:${encodeURIComponent(PASSWORD)}@127.0.0.1:55432/staging`);
const config = { src, dst, copyJobs: 3, copySplitTablesMb: 0, connectTimeoutMs: 10_000 };

describe('pgcopydbPlan', () => {
  test('clone with --dir in WORK_DIR, --table-jobs/--index-jobs = COPY_JOBS, no owner/acl, and no secret or URI in argv', () => {
    const plan = pgcopydbPlan(config, '/work/run1');
    expect(plan.args).toEqual([
      'clone',
      '--dir=/work/run1/pgcopydb',
      '--table-jobs=3',
      '--index-jobs=3',
      '--no-owner',
      '--no-acl',
      '--restart',
    ]);
    expect(plan.args.join(' ')).not.toMatch(/postgres|p:w|stage@/);
    expect(Object.values(plan.env).join(' ')).not.toContain('p:w');
    expect(plan.env.PGCOPYDB_SOURCE_PGURI).toBe('postgresql://app@db.internal:5433/legacy?sslmode=require');
    expect(plan.env.PGPASSFILE).toBe('/work/run1/pgcopydb.pgpass');
  });
  test('COPY_SPLIT_TABLES_MB becomes --split-tables-larger-than only when this pgcopydb has the option', () => {
    const c = { ...config, copySplitTablesMb: 512 };
    expect(pgcopydbPlan(c, '/w').args).toContain('--split-tables-larger-than=512MB');
    const old = { split: false, filters: true, skipExtensions: true };
    expect(pgcopydbPlan(c, '/w', { features: old }).args.join(' ')).not.toContain('split');
  });
  test('the filter plan becomes --filters=<file> beside --dir and --skip-extensions', () => {
    const plan = pgcopydbPlan(config, '/w', { filter: { ini: '[exclude-schema]\naudit\n', skipExtensions: true } });
    expect(plan.args).toContain('--filters=/w/pgcopydb-filters.ini');
    expect(plan.args).toContain('--skip-extensions');
    expect(plan.filtersFile).toBe('/w/pgcopydb-filters.ini');
  });
  test('the session settings reach every target connection through the URI options, not the source', () => {
    const plan = pgcopydbPlan(config, '/w', {
      sessionSettings: [
        ['maintenance_work_mem', '1GB'],
        ['synchronous_commit', 'off'],
      ],
    });
    const u = new URL(plan.env.PGCOPYDB_TARGET_PGURI);
    expect(u.searchParams.get('options')).toBe('-c maintenance_work_mem=1GB -c synchronous_commit=off');
    expect(plan.env.PGCOPYDB_SOURCE_PGURI).not.toContain('options');
  });
  test('the not-atomic line names the state a failure leaves and the way out', () => {
    expect(PGCOPYDB_NOT_ATOMIC).toMatch(/NOT atomic/);
    expect(PGCOPYDB_NOT_ATOMIC).toMatch(/PARTIAL/);
    expect(PGCOPYDB_NOT_ATOMIC).toMatch(/DST_DROP_SCHEMA/);
  });
});

describe('URIs and the passfile', () => {
  test('pgcopydbUri drops the password and a passfile parameter, keeps the rest, appends to existing options', () => {
    const d = { ...src, params: { ...src.params, passfile: '/x', options: '-c search_path=app' } };
    const uri = pgcopydbUri(d, [['work_mem', '64MB']]);
    expect(uri).not.toContain('p%3Aw');
    expect(uri).not.toContain('passfile');
    expect(new URL(uri).searchParams.get('options')).toBe('-c search_path=app -c work_mem=64MB');
  });
  test('passfileText escapes ":" and "\\" and writes localhost too for a socket directory', () => {
    expect(passfileText([src])).toBe(`db.internal:5433:legacy:app:p\\:w\\\\d@'x y\n`);
    const sock: Dsn = {
      host: '/var/run/postgresql',
      port: 5432,
      database: 'd',
      user: 'u',
      password: 'a:b',
      params: {},
      format: 'url',
    };
    expect(passfileText([sock]).split('\n')).toEqual([
      '/var/run/postgresql:5432:d:u:a\\:b',
      'localhost:5432:d:u:a\\:b',
      '',
    ]);
    expect(passfileText([{ ...sock, password: undefined }])).toBe('');
  });
});

describe('versions and features', () => {
  const debian12 = `04:02:53 15964 INFO  Running pgcopydb version 0.10-1 from "/usr/bin/pgcopydb"
pgcopydb version 0.10-1
compiled with PostgreSQL 15.0 (Debian 15.0-2) on x86_64-pc-linux-gnu
compatible with Postgres 10, 11, 12, 13, 14, and 15`;
  test('parsePgcopydbVersion reads the version and the server majors', () => {
    expect(parsePgcopydbVersion(debian12)).toEqual({
      version: '0.10',
      major: 0,
      minor: 10,
      serverMajors: [10, 11, 12, 13, 14, 15],
    });
    expect(parsePgcopydbVersion('nothing here')).toBeUndefined();
  });
  test('a server major outside the list is refused, naming which side and the fix', () => {
    const v = parsePgcopydbVersion(debian12)!;
    expect(pgcopydbRefusal(v, 15, 15)).toBeUndefined();
    expect(pgcopydbRefusal(v, 15, 17)).toMatch(
      /^pgcopydb 0\.10 supports PostgreSQL 10, 11, 12, 13, 14, 15 only, but the target is 17; use COPY_ENGINE=pg_dump/,
    );
    expect(pgcopydbRefusal(v, 16, 17)).toMatch(/source is 16 and the target is 17/);
  });
  test('features come from the clone help text', () => {
    expect(pgcopydbFeatures('--split-tables-larger-than Same-table\n--filters <filename>\n--skip-extensions')).toEqual({
      split: true,
      filters: true,
      skipExtensions: true,
    });
    expect(pgcopydbFeatures('--table-jobs').split).toBe(false);
  });
});

describe('pgcopydbFilterPlan: the TOC filter equivalent', () => {
  const facts = {
    outward: [],
    sourceExtensions: ['plpgsql', 'vector'],
    targetExtensions: ['plpgsql', 'vector'],
    targetSuperuser: true,
  };
  test('a superuser target with nothing pointing away: no filter, no refusal', () => {
    expect(pgcopydbFilterPlan(facts, { isolation: 'detach' })).toEqual({
      ini: undefined,
      skipExtensions: false,
      refusal: undefined,
      lines: [],
    });
  });
  test('a managed target (not superuser) that has every extension: --skip-extensions', () => {
    const plan = pgcopydbFilterPlan({ ...facts, targetSuperuser: false }, { isolation: 'detach' });
    expect(plan.skipExtensions).toBe(true);
    expect(plan.refusal).toBeUndefined();
  });
  test('a managed target lacking an extension is refused, naming it', () => {
    const plan = pgcopydbFilterPlan(
      { ...facts, targetSuperuser: false, targetExtensions: ['plpgsql'] },
      { isolation: 'detach' },
    );
    expect(plan.refusal).toMatch(
      /^COPY_ENGINE=pgcopydb refused: the target role is not a superuser and the target lacks extension\(s\) vector/,
    );
  });
  test('user mappings / subscriptions / foreign servers on the source: refused under ISOLATION=detach, copied under keep', () => {
    const wired = {
      ...facts,
      outward: [
        { kind: 'foreign server' as const, name: 'prod_fdw' },
        { kind: 'user mapping' as const, name: 'app SERVER prod_fdw' },
      ],
    };
    expect(pgcopydbFilterPlan(wired, { isolation: 'detach' }).refusal).toMatch(
      /the source has foreign server prod_fdw, user mapping app SERVER prod_fdw; pgcopydb cannot leave these out.*COPY_ENGINE=pg_dump/,
    );
    expect(pgcopydbFilterPlan(wired, { isolation: 'keep' }).refusal).toBeUndefined();
  });
  test('schemas to leave out become an [exclude-schema] section', () => {
    expect(pgcopydbFilterPlan(facts, { isolation: 'detach' }, ['audit', 'tmp']).ini).toBe(
      '[exclude-schema]\naudit\ntmp\n',
    );
  });
});

describe('progress from pgcopydb 0.10 log lines', () => {
  const LOG = `04:10:43 26030 INFO  Running pgcopydb version 0.10-1 from "/usr/bin/pgcopydb"
04:10:44 26050 INFO  STEP 1: dump the source database schema (pre/post data)
04:10:45 26050 INFO  STEP 2: fetch source database tables, indexes, and sequences
04:10:45 26050 INFO  Table "public"."a" is 6712 kB large, 7 COPY processes will be used, partitining on "id".
04:10:45 26050 INFO  Fetched information for 2 tables, with an estimated total of 99 999 tuples and 6776 kB
04:10:46 26050 INFO  STEP 4: copy data from source to target in 2 sub-processes
04:10:46 26102 INFO  COPY (SELECT * FROM "public"."a" WHERE "id" BETWEEN 1 AND 14287)
04:10:46 26107 INFO  COPY (SELECT * FROM "public"."a" WHERE "id" BETWEEN 14288 AND 28574)
04:10:47 26107 INFO  COPY "public"."b"
04:10:48 26095 INFO  CREATE UNIQUE INDEX b_pkey ON public.b USING btree (id);
04:10:49 26095 INFO  CREATE INDEX a_v_idx ON public.a USING btree (v);`;
  test('steps, planned COPYs (split parts included), COPYs and indexes started', () => {
    const p = emptyProgress();
    const changed = LOG.split('\n').filter((l) => parsePgcopydbLine(l, p).changed).length;
    expect(changed).toBe(10);
    expect(p).toMatchObject({ step: 4, tables: 2, extraParts: 6, copiesStarted: 3, indexesStarted: 2 });
    expect(progressLine(p)).toBe(
      'step 4/10 (copy data from source to target in 2 sub-processes), COPY 3/8 started, 2 indexes started',
    );
  });
});
