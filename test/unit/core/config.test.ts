/**
 * lib/config: every variable of VARS (default, type, range, bad value), every cross-variable rule, all problems in
 * one ConfigError, --help and the redacted effective configuration. The environment is always a plain object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import {
  type Config,
  type Env,
  DEFAULT_ASSET_COLUMNS,
  VARS,
  assetDirsOverlap,
  assetsDeleteSetting,
  dropSchemaSetting,
  effectiveConfig,
  helpText,
  isRemoteRsyncPath,
  parseConfig,
} from '../../../lib/core/config.ts';
import { plannedPhases } from '../../../lib/phases/phase-schedule.ts';
import { formatKeyword, formatUrl, type Dsn } from '../../../lib/core/dsn.ts';
import { ConfigError } from '../../../lib/core/errors.ts';
import { awkwardPassword } from '../../../lib/sandbox/clusters.ts';

const PASSWORD = awkwardPassword();
const db = (database: string, over: Partial<Dsn> = {}): Dsn => ({
  host: '127.0.0.1',
  port: 55432,
  database,
  user: 'rehearsal',
  password: PASSWORD,
  params: {},
  format: 'url',
  ...over,
});

/** A valid full-mode environment: source and target databases, local asset dirs. */
function baseEnv(over: Env = {}): Env {
  return {
    SRC_DATABASE_URL: formatUrl(db('legacy')),
    DST_DATABASE_URL: formatKeyword(db('staging')),
    SRC_ASSETS_DIR: '/srv/legacy/.data',
    DST_ASSETS_DIR: '/srv/staging/.data',
    ...over,
  };
}

function parse(over: Env = {}, mode: 'full' | 'verify-only' | 'dry-run' = 'full'): Config {
  return parseConfig(baseEnv(over), { mode });
}

function problems(env: Env, mode: 'full' | 'verify-only' | 'dry-run' = 'full'): string[] {
  try {
    parseConfig(env, { mode });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).exitCode).toBe(2);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

/** The one problem of `over` on top of a valid environment. */
function problem(over: Env, mode: 'full' | 'verify-only' | 'dry-run' = 'full'): string {
  const p = problems(baseEnv(over), mode);
  expect(p, p.join('\n')).toHaveLength(1);
  return p[0];
}

describe('defaults', () => {
  test('a minimal verify-only environment gets every documented default', () => {
    const c = parseConfig(
      { DST_DATABASE_URL: formatUrl(db('staging')), DST_ASSETS_DIR: '/srv/staging/.data' },
      { mode: 'verify-only' },
    );
    expect(c).toMatchObject({
      dstAssetsDir: '/srv/staging/.data',
      srcAssetsRemote: false,
      rowcountTimeoutMs: 3000,
      rowcountMaxDiff: 0,
      rowcountRequireExact: false,
      rowcountEstimateTolerance: 10,
      preexistingDefectsFail: false,
      assetColumnsConfigured: false,
      assetsSampleN: 50,
      assetsDbPathPrefix: '/app/.data',
      dstDropSchema: false,
      assetsDelete: false,
      stagingApiBaseUrl: 'http://127.0.0.1:18080',
      stagingHealthPath: '/health',
      healthCheck: true,
      healthTimeoutMs: 5000,
      dumpFormat: 'custom',
      dumpJobs: 1,
      restoreJobs: 1,
      restoreSingleTransaction: true,
      dumpSerializableDeferrable: false,
      orphanRelations: [],
      reportsDir: path.resolve('reports'),
      checksum: 'full',
      assetsUnreferencedFail: false,
      connectTimeoutMs: 10_000,
      checkConcurrency: 4,
    });
    for (const k of [
      'src',
      'srcAssetsDir',
      'dumpPath',
      'validateTables',
      'assetsSampleSeed',
      'workDir',
      'checksumTables',
    ] as const) {
      expect(c[k], k).toBeUndefined();
    }
    expect(c.assetColumns).toEqual([
      { table: { schema: 'public', name: 'knowledge_materials' }, column: 'storage_path', kind: 'file' },
      { table: { schema: 'public', name: 'ugc_assets' }, column: 'storage_path', kind: 'file' },
      { table: { schema: 'public', name: 'gallery_items' }, column: 'storage_dir', kind: 'dir' },
    ]);
  });

  test('an empty value means "unset" for every variable with a default', () => {
    const empty: Env = {};
    for (const v of VARS) if (v.default !== undefined && v.name !== 'ASSET_COLUMNS') empty[v.name] = '  ';
    const c = parseConfig(
      { ...empty, DST_DATABASE_URL: formatUrl(db('staging')), DST_ASSETS_DIR: '/d' },
      { mode: 'verify-only' },
    );
    const d = parseConfig(
      { DST_DATABASE_URL: formatUrl(db('staging')), DST_ASSETS_DIR: '/d' },
      { mode: 'verify-only' },
    );
    expect(c).toEqual(d);
  });
});

describe('required variables', () => {
  test('DST_DATABASE_URL unset or empty', () => {
    expect(problem({ DST_DATABASE_URL: undefined })).toMatch(
      /^DST_DATABASE_URL is not set; export DST_DATABASE_URL="postgresql:\/\/<user>:<password>@/,
    );
    expect(problem({ DST_DATABASE_URL: '' })).toMatch(/^DST_DATABASE_URL is not set/);
    expect(problem({ DST_DATABASE_URL: '   ' })).toMatch(/^DST_DATABASE_URL is empty/);
  });

  test('DST_DATABASE_URL malformed: the DSN message, naming the variable, without the password', () => {
    const p = problem({ DST_DATABASE_URL: formatUrl(db('staging')).replace('postgresql://', 'postgresql+psycopg://') });
    expect(p).toMatch(/^DST_DATABASE_URL uses the SQLAlchemy driver scheme/);
    expect(p).not.toContain(PASSWORD);
    expect(p).not.toContain(encodeURIComponent(PASSWORD));
    expect(problem({ DST_DATABASE_URL: 'garbage' })).toMatch(/^DST_DATABASE_URL is neither a URL DSN/);
  });

  test('DST_ASSETS_DIR unset; an rsync remote is refused; a relative path is resolved', () => {
    expect(problem({ DST_ASSETS_DIR: undefined })).toMatch(/^DST_ASSETS_DIR is not set; export DST_ASSETS_DIR=/);
    expect(problem({ DST_ASSETS_DIR: 'deploy@staging:/srv/.data' })).toMatch(
      /^DST_ASSETS_DIR=".*" looks like an rsync remote/,
    );
    expect(parse({ DST_ASSETS_DIR: 'rel/.data' }).dstAssetsDir).toBe(path.resolve('rel/.data'));
  });
});

describe('source variables', () => {
  test('SRC_DATABASE_URL: optional, parsed, malformed named (and then not also "nothing to restore")', () => {
    expect(parse().src).toMatchObject({ database: 'legacy', password: PASSWORD });
    expect(problem({ SRC_DATABASE_URL: 'postgresql://h:notaport/db' })).toMatch(
      /^SRC_DATABASE_URL: port "notaport" is not a number/,
    );
  });

  test('SRC_ASSETS_DIR: local (resolved) or rsync remote (kept verbatim)', () => {
    expect(parse({ SRC_ASSETS_DIR: 'src/.data' })).toMatchObject({
      srcAssetsDir: path.resolve('src/.data'),
      srcAssetsRemote: false,
    });
    expect(parse({ SRC_ASSETS_DIR: 'deploy@legacy:/srv/.data' })).toMatchObject({
      srcAssetsDir: 'deploy@legacy:/srv/.data',
      srcAssetsRemote: true,
    });
    expect(parse({ SRC_ASSETS_DIR: undefined }).srcAssetsDir).toBeUndefined();
    expect(parse({ SRC_ASSETS_DIR: undefined }).srcAssetsRemote).toBe(false);
  });

  test('isRemoteRsyncPath', () => {
    for (const p of ['host:/p', 'user@host:/p', 'host::module/p', 'rsync://host/m', 'host:rel'])
      expect(isRemoteRsyncPath(p), p).toBe(true);
    for (const p of ['/abs/p', 'rel/p', './a:b', '/x/y:z', ':x']) expect(isRemoteRsyncPath(p), p).toBe(false);
  });

  test('SRC_DB_DUMP_PATH: resolved; replaces the dump', () => {
    const c = parse({ SRC_DB_DUMP_PATH: 'dumps/x.dump' });
    expect(c.dumpPath).toBe(path.resolve('dumps/x.dump'));
    expect(plannedPhases(c)).toEqual({ dump: false, restore: true, mirror: true });
    expect(plannedPhases(parse())).toEqual({ dump: true, restore: true, mirror: true });
    expect(plannedPhases(parse({ SRC_ASSETS_DIR: undefined }))).toEqual({ dump: true, restore: true, mirror: false });
  });
});

test('REHEARSAL_OPERATOR: who ran the rehearsal, trimmed; unset or blank: none (the login user is used)', () => {
  expect(parse({ REHEARSAL_OPERATOR: ' ops@example.com ' }).operator).toBe('ops@example.com');
  expect(parse().operator).toBeUndefined();
  expect(parse({ REHEARSAL_OPERATOR: '  ' }).operator).toBeUndefined();
});

const BOOLEANS: Array<[string, keyof Config, boolean]> = [
  ['RESTORE_SINGLE_TRANSACTION', 'restoreSingleTransaction', true],
  ['DUMP_SERIALIZABLE_DEFERRABLE', 'dumpSerializableDeferrable', false],
  ['ROWCOUNT_REQUIRE_EXACT', 'rowcountRequireExact', false],
  ['ASSETS_UNREFERENCED_FAIL', 'assetsUnreferencedFail', false],
  ['PREEXISTING_DEFECTS_FAIL', 'preexistingDefectsFail', false],
  ['DST_DROP_SCHEMA', 'dstDropSchema', false],
  ['ASSETS_DELETE', 'assetsDelete', false],
  ['HEALTH_CHECK', 'healthCheck', true],
  ['RESTORE_NO_TABLESPACES', 'restoreNoTablespaces', false],
  ['EXTENSION_VERSIONS_EQUAL', 'extensionVersionsEqual', false],
];

describe.each(BOOLEANS)('boolean %s', (name, key, dflt) => {
  test(`default ${dflt ? 1 : 0}`, () => {
    expect(parse()[key]).toBe(dflt);
    expect(parse({ [name]: '' })[key]).toBe(dflt);
  });
  test.each([
    ['1', true],
    ['0', false],
    ['true', true],
    ['false', false],
    ['TRUE', true],
    [' False ', false],
    ['yes', true],
    ['no', false],
    ['on', true],
    ['off', false],
  ])('%j is %s', (raw, want) => {
    // The destructive switches take exactly `1` for "on" (below): the other spellings are refused.
    if (want && raw !== '1' && (name === 'DST_DROP_SCHEMA' || name === 'ASSETS_DELETE'))
      expect(problem({ [name]: raw }, 'verify-only')).toMatch(new RegExp(`^${name}="${raw}" is ambiguous: use 1 `));
    else expect(parse({ [name]: raw })[key]).toBe(want);
  });
  // DST_DROP_SCHEMA / ASSETS_DELETE take a confirmation value instead (tested below).
  if (name !== 'DST_DROP_SCHEMA' && name !== 'ASSETS_DELETE')
    test.each(['2', 'maybe', 'y', '-1', '1.0'])('%j is refused, naming the variable', (raw) => {
      expect(problem({ [name]: raw }, 'verify-only')).toBe(
        `${name}="${raw}" is not a boolean; use 1 or 0 (true/false)`,
      );
    });
});

describe('destructive switches take a confirmation', () => {
  test('DST_DROP_SCHEMA=<dbname> is a confirmation naming the target database', () => {
    const c = parse({ DST_DROP_SCHEMA: 'staging_db' });
    expect(c.dstDropSchema).toBe(true);
    expect(c.dstDropSchemaConfirm).toBe('staging_db');
    expect(parse({ DST_DROP_SCHEMA: '1' }).dstDropSchemaConfirm).toBeUndefined();
  });
  test('ASSETS_DELETE=<path> is a confirmation naming DST_ASSETS_DIR; a relative word is refused', () => {
    const c = parse({ ASSETS_DELETE: '/srv/staging/.data/' });
    expect(c.assetsDelete).toBe(true);
    // Kept as the operator wrote it (the log quotes it); the guard compares real paths (lib/phases/guards.ts).
    expect(c.assetsDeleteConfirm).toBe('/srv/staging/.data/');
    expect(assetsDeleteSetting(c)).toBe('ASSETS_DELETE=/srv/staging/.data/');
    expect(assetsDeleteSetting(parse({ ASSETS_DELETE: '1' }))).toBe('ASSETS_DELETE=1');
    expect(problem({ ASSETS_DELETE: 'maybe' }, 'verify-only')).toMatch(
      /ASSETS_DELETE="maybe" is neither 1\/0 nor an absolute path; use 1 \(a directory this tool mirrored before\), 0 \(delete nothing\) or the DST_ASSETS_DIR path/,
    );
  });
  test('DST_DROP_SCHEMA=yes is not silently 1: a configuration error listing the accepted values', () => {
    expect(problem({ DST_DROP_SCHEMA: 'yes' }, 'verify-only')).toBe(
      `DST_DROP_SCHEMA="yes" is ambiguous: use 1 (a target this tool restored before), 0 (keep public) or the target database's own name`,
    );
    expect(dropSchemaSetting(parse({ DST_DROP_SCHEMA: 'staging_db' }))).toBe('DST_DROP_SCHEMA=staging_db');
    expect(dropSchemaSetting(parse({ DST_DROP_SCHEMA: ' 1 ' }))).toBe('DST_DROP_SCHEMA=1');
  });
  test.each(['/', '/etc', '/etc/ssh', '/usr/local/share', '/home', '/var', '/root', '/tmp'])(
    'DST_ASSETS_DIR=%s is refused outright',
    (dir) => {
      expect(problem({ DST_ASSETS_DIR: dir }, 'verify-only')).toMatch(
        /^DST_ASSETS_DIR=".*" is (the root|a system|a top-level)/,
      );
    },
  );
  test('a symlink is judged by where it leads, and the refusal names both (a link to /etc, to /, to the home directory)', () => {
    const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'config-links-')));
    onTestFinished(() => fs.rmSync(d, { recursive: true, force: true }));
    fs.symlinkSync('/etc', path.join(d, 'etclink'));
    fs.symlinkSync('/', path.join(d, 'rootlink'));
    fs.mkdirSync(path.join(d, 'home'));
    fs.symlinkSync(path.join(d, 'home'), path.join(d, 'homelink'));
    expect(problem({ DST_ASSETS_DIR: path.join(d, 'etclink/ssl') }, 'verify-only')).toBe(
      `DST_ASSETS_DIR="${d}/etclink/ssl" leads to /etc/ssl (through a symbolic link), which is a system directory: the mirror writes there (and ASSETS_DELETE deletes there); point it at the staging .data directory itself`,
    );
    expect(problem({ DST_ASSETS_DIR: path.join(d, 'etclink/not/yet') }, 'verify-only')).toMatch(
      /leads to \/etc\/not\/yet \(through a symbolic link\), which is a system directory/,
    );
    expect(problem({ DST_ASSETS_DIR: path.join(d, 'rootlink') + '/' }, 'verify-only')).toMatch(
      /leads to \/ \(through a symbolic link\), which is the root directory/,
    );
    expect(problem({ DST_ASSETS_DIR: path.join(d, 'homelink'), HOME: path.join(d, 'home') }, 'verify-only')).toMatch(
      /which is the home directory/,
    );
    expect(problem({ DST_ASSETS_DIR: path.join(d, 'home'), HOME: path.join(d, 'homelink') }, 'verify-only')).toMatch(
      /is the home directory/,
    );
    // A link to an ordinary directory is fine.
    fs.mkdirSync(path.join(d, 'staging'));
    fs.symlinkSync(path.join(d, 'staging'), path.join(d, 'staginglink'));
    expect(parse({ DST_ASSETS_DIR: path.join(d, 'staginglink') }).dstAssetsDir).toBe(path.join(d, 'staginglink'));
  });
  test('WORK_DIR / REPORTS_DIR in a virtual file system (/proc, /sys, /dev, or a link there) are refused', () => {
    expect(problem({ WORK_DIR: '/proc/x' }, 'verify-only')).toBe(
      'WORK_DIR /proc/x is not usable: /proc is a virtual file system of the kernel, not storage; choose a writable directory',
    );
    expect(problem({ REPORTS_DIR: '/sys/kernel/x' }, 'verify-only')).toMatch(
      /^REPORTS_DIR \/sys\/kernel\/x is not usable: \/sys/,
    );
    expect(problem({ WORK_DIR: '/dev/shm/w' }, 'verify-only')).toMatch(
      /^WORK_DIR \/dev\/shm\/w is not usable: \/dev is/,
    );
    const d = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'config-links-')));
    onTestFinished(() => fs.rmSync(d, { recursive: true, force: true }));
    fs.symlinkSync('/proc', path.join(d, 'proclink'));
    expect(problem({ WORK_DIR: path.join(d, 'proclink/x') }, 'verify-only')).toBe(
      `WORK_DIR ${d}/proclink/x (which leads to /proc/x) is not usable: /proc is a virtual file system of the kernel, not storage; choose a writable directory`,
    );
    expect(parse({ WORK_DIR: path.join(d, 'work') }).workDir).toBe(path.join(d, 'work'));
  });
  test('the home directory and its parents are refused', () => {
    expect(problem({ DST_ASSETS_DIR: '/home/ops', HOME: '/home/ops' }, 'verify-only')).toMatch(/home directory/);
    expect(problem({ DST_ASSETS_DIR: '/data/x/', HOME: '/data/x/y' }, 'verify-only')).toMatch(/home directory/);
  });
  test('a rejected value with a newline is echoed escaped (no forged log line)', () => {
    let msg = '';
    try {
      parseConfig(baseEnv({ ROWCOUNT_TIMEOUT_MS: '5\nok: all checks passed' }), { mode: 'verify-only' });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('5\\nok: all checks passed');
    expect(msg.split('\n').some((l) => l.startsWith('ok:'))).toBe(false);
  });
});

const INTEGERS: Array<[string, keyof Config, number, number, number]> = [
  // name, field, default, min, max
  ['DUMP_JOBS', 'dumpJobs', 1, 1, 64],
  ['RESTORE_JOBS', 'restoreJobs', 1, 1, 64],
  ['ROWCOUNT_TIMEOUT_MS', 'rowcountTimeoutMs', 3000, 1, 2_147_483_647],
  ['ROWCOUNT_MAX_DIFF', 'rowcountMaxDiff', 0, 0, Number.MAX_SAFE_INTEGER],
  ['ROWCOUNT_ESTIMATE_TOLERANCE', 'rowcountEstimateTolerance', 10, 0, 100],
  ['ASSETS_SAMPLE_N', 'assetsSampleN', 50, 0, 100_000],
  ['HEALTH_TIMEOUT_MS', 'healthTimeoutMs', 5000, 1, 2_147_483_647],
  ['CONNECT_TIMEOUT_MS', 'connectTimeoutMs', 10_000, 100, 2_147_483_647],
  ['CHECK_CONCURRENCY', 'checkConcurrency', 4, 1, 64],
  ['RSYNC_TIMEOUT_S', 'rsyncTimeoutS', 300, 1, 86_400],
  ['CHECKS_DEADLINE_S', 'checksDeadlineS', 3600, 10, 604_800],
  ['FULL_LIST_MAX', 'fullListMax', 100_000, 1, Number.MAX_SAFE_INTEGER],
  ['CHECKSUM_SPLIT_MB', 'checksumSplitMb', 64, 0, 1_048_576],
];

describe('restore session settings', () => {
  test('RESTORE_MAINTENANCE_WORK_MEM: auto by default, off, or a size from 1MB (plain numbers are kB, as in PostgreSQL)', () => {
    expect(parse().restoreMaintenanceWorkMem).toBe('auto');
    expect(parse({ RESTORE_MAINTENANCE_WORK_MEM: 'off' }).restoreMaintenanceWorkMem).toBe('off');
    expect(parse({ RESTORE_MAINTENANCE_WORK_MEM: '512MB' }).restoreMaintenanceWorkMem).toBe(512 * 2 ** 20);
    expect(parse({ RESTORE_MAINTENANCE_WORK_MEM: '1GB' }).restoreMaintenanceWorkMem).toBe(2 ** 30);
    expect(parse({ RESTORE_MAINTENANCE_WORK_MEM: '65536' }).restoreMaintenanceWorkMem).toBe(64 * 2 ** 20);
    expect(problem({ RESTORE_MAINTENANCE_WORK_MEM: '10kB' })).toMatch(
      /^RESTORE_MAINTENANCE_WORK_MEM="10kB" must be auto, off or a size/,
    );
    expect(problem({ RESTORE_MAINTENANCE_WORK_MEM: 'lots' })).toMatch(/RESTORE_MAINTENANCE_WORK_MEM/);
  });
  test('RESTORE_MAINTENANCE_WORKERS: auto by default, or a number', () => {
    expect(parse().restoreMaintenanceWorkers).toBe('auto');
    expect(parse({ RESTORE_MAINTENANCE_WORKERS: '3' }).restoreMaintenanceWorkers).toBe(3);
    expect(problem({ RESTORE_MAINTENANCE_WORKERS: '-1' })).toMatch(/RESTORE_MAINTENANCE_WORKERS/);
  });
  test('RESTORE_ANALYZE_JOBS: auto by default, or a number from 1', () => {
    expect(parse().restoreAnalyzeJobs).toBe('auto');
    expect(parse({ RESTORE_ANALYZE_JOBS: 'auto' }).restoreAnalyzeJobs).toBe('auto');
    expect(parse({ RESTORE_ANALYZE_JOBS: '3' }).restoreAnalyzeJobs).toBe(3);
    expect(problem({ RESTORE_ANALYZE_JOBS: '0' })).toMatch(/RESTORE_ANALYZE_JOBS/);
  });
});

describe.each(INTEGERS)('integer %s', (name, key, dflt, min, max) => {
  // DUMP_JOBS > 1 needs the directory format; RESTORE_JOBS > 1 turns single-transaction off.
  const ctx: Env = name === 'DUMP_JOBS' ? { DUMP_FORMAT: 'directory' } : {};
  test(`default ${dflt}`, () => {
    expect(parse(ctx)[key]).toBe(dflt);
  });
  test(`accepts the minimum ${min} and the maximum, with white space trimmed`, () => {
    expect(parse({ ...ctx, [name]: ` ${min} ` })[key]).toBe(min);
    if (max !== Number.MAX_SAFE_INTEGER) expect(parse({ ...ctx, [name]: String(max) })[key]).toBe(max);
  });
  test('below the minimum is out of range', () => {
    expect(problem({ ...ctx, [name]: String(min - 1) }, 'verify-only')).toMatch(
      new RegExp(`^${name}=${min - 1} is out of range`),
    );
  });
  if (max !== Number.MAX_SAFE_INTEGER) {
    test('above the maximum is out of range', () => {
      expect(problem({ ...ctx, [name]: String(max + 1) }, 'verify-only')).toBe(
        `${name}=${max + 1} is out of range: use ${min}..${max}`,
      );
    });
  } else {
    test('no upper bound below 2^53', () => {
      expect(parse({ ...ctx, [name]: '9007199254740991' })[key]).toBe(Number.MAX_SAFE_INTEGER);
    });
  }
  test.each(['abc', '1.5', '1e3', '0x10', '10ms', '--1'])('%j is not a whole number', (raw) => {
    expect(problem({ ...ctx, [name]: raw }, 'verify-only')).toBe(`${name}="${raw}" is not a whole number`);
  });
});

describe('enumerations and strings', () => {
  test('DUMP_FORMAT: custom (default) | directory', () => {
    expect(parse().dumpFormat).toBe('custom');
    expect(parse({ DUMP_FORMAT: 'directory' }).dumpFormat).toBe('directory');
    expect(problem({ DUMP_FORMAT: 'tar' })).toBe('DUMP_FORMAT="tar" must be custom or directory');
  });

  test('CHECKSUM: full (default) | off', () => {
    expect(parse({ CHECKSUM: 'off' }).checksum).toBe('off');
    expect(problem({ CHECKSUM: 'sha256' })).toBe('CHECKSUM="sha256" must be full or off');
  });

  test('VALIDATE_TABLES and CHECKSUM_TABLES: [schema.]table lists', () => {
    const c = parse({ VALIDATE_TABLES: ' users , audit.Events,"Mixed Case" ', CHECKSUM_TABLES: 'users' });
    expect(c.validateTables).toEqual([
      { schema: 'public', name: 'users' },
      { schema: 'audit', name: 'events' },
      { schema: 'public', name: 'Mixed Case' },
    ]);
    expect(c.checksumTables).toEqual([{ schema: 'public', name: 'users' }]);
    expect(parse({ VALIDATE_TABLES: '' }).validateTables).toBeUndefined();
    expect(problem({ VALIDATE_TABLES: 'a.b.c' })).toMatch(/^VALIDATE_TABLES: "a.b.c" has too many dots/);
    expect(problem({ CHECKSUM_TABLES: 'users,' + '"' })).toMatch(/^CHECKSUM_TABLES: unterminated quoted identifier/);
  });

  test('ORPHAN_RELATIONS: single and composite, ";"-separated', () => {
    const c = parse({ ORPHAN_RELATIONS: 'ugc_assets.user_id->users.id; app.orders.a+b -> app.keys.x+y' });
    expect(c.orphanRelations).toEqual([
      {
        child: { schema: 'public', name: 'ugc_assets' },
        childColumns: ['user_id'],
        parent: { schema: 'public', name: 'users' },
        parentColumns: ['id'],
        origin: 'configured',
      },
      {
        child: { schema: 'app', name: 'orders' },
        childColumns: ['a', 'b'],
        parent: { schema: 'app', name: 'keys' },
        parentColumns: ['x', 'y'],
        origin: 'configured',
      },
    ]);
    expect(problem({ ORPHAN_RELATIONS: 'a.x' })).toMatch(/^ORPHAN_RELATIONS: "a.x" must be child.col->parent.col/);
    expect(problem({ ORPHAN_RELATIONS: 'a.x+y->b.z' })).toMatch(
      /^ORPHAN_RELATIONS: .*2 child column\(s\) but 1 parent column\(s\)/,
    );
    expect(problem({ ORPHAN_RELATIONS: 'a.x->b.y->c.z' })).toMatch(/^ORPHAN_RELATIONS:/);
    expect(problem({ ORPHAN_RELATIONS: 'a.x+s.t->b.y+z' })).toMatch(/^ORPHAN_RELATIONS: .*must be a plain column name/);
  });

  test('ASSET_COLUMNS: default, custom, empty, bad kind', () => {
    expect(
      parse()
        .assetColumns.map((a) => `${a.table.name}.${a.column}:${a.kind}`)
        .join(','),
    ).toBe(DEFAULT_ASSET_COLUMNS);
    expect(parse({ ASSET_COLUMNS: 'media.files.path:file' }).assetColumns).toEqual([
      { table: { schema: 'media', name: 'files' }, column: 'path', kind: 'file' },
    ]);
    expect(parse({ ASSET_COLUMNS: '' }).assetColumns).toEqual([]);
    expect(problem({ ASSET_COLUMNS: 'media.path:blob' })).toMatch(
      /^ASSET_COLUMNS: "media.path:blob" must be table.column:file or table.column:dir/,
    );
    expect(problem({ ASSET_COLUMNS: 'media:file' })).toMatch(
      /^ASSET_COLUMNS: "media" must be table.column or schema.table.column/,
    );
  });

  test('ASSETS_SAMPLE_SEED: trimmed, optional', () => {
    expect(parse({ ASSETS_SAMPLE_SEED: ' abc ' }).assetsSampleSeed).toBe('abc');
    expect(parse({ ASSETS_SAMPLE_SEED: '' }).assetsSampleSeed).toBeUndefined();
  });

  test('ASSETS_DB_PATH_PREFIX: absolute, no "..", trailing slash dropped, "/" allowed', () => {
    expect(parse({ ASSETS_DB_PATH_PREFIX: '/data/assets/' }).assetsDbPathPrefix).toBe('/data/assets');
    expect(parse({ ASSETS_DB_PATH_PREFIX: '/' }).assetsDbPathPrefix).toBe('/');
    expect(problem({ ASSETS_DB_PATH_PREFIX: 'app/.data' })).toMatch(
      /^ASSETS_DB_PATH_PREFIX="app\/.data" must be an absolute path/,
    );
    expect(problem({ ASSETS_DB_PATH_PREFIX: '/app/../etc' })).toMatch(
      /^ASSETS_DB_PATH_PREFIX=".*" must not contain "\.\."/,
    );
  });

  test('STAGING_API_BASE_URL / STAGING_API_PORT', () => {
    expect(parse({ STAGING_API_BASE_URL: 'https://staging.example/api/' }).stagingApiBaseUrl).toBe(
      'https://staging.example/api',
    );
    expect(parse({ STAGING_API_PORT: '19090' }).stagingApiBaseUrl).toBe('http://127.0.0.1:19090');
    expect(parse({ STAGING_API_BASE_URL: 'http://h:1', STAGING_API_PORT: '2' }).stagingApiBaseUrl).toBe('http://h:1');
    expect(problem({ STAGING_API_BASE_URL: 'not a url' })).toMatch(/^STAGING_API_BASE_URL="not a url" is not a URL/);
    expect(problem({ STAGING_API_BASE_URL: 'ftp://h/' })).toBe('STAGING_API_BASE_URL must be http:// or https://');
    expect(problem({ STAGING_API_PORT: '70000' })).toMatch(/^STAGING_API_PORT=70000 is out of range/);
    expect(problem({ STAGING_API_PORT: 'http' })).toBe('STAGING_API_PORT="http" is not a whole number');
  });

  test('STAGING_HEALTH_PATH: default /health, a leading slash added', () => {
    expect(parse({ STAGING_HEALTH_PATH: 'ready' }).stagingHealthPath).toBe('/ready');
    expect(parse({ STAGING_HEALTH_PATH: '/live' }).stagingHealthPath).toBe('/live');
  });

  test('WORK_DIR and REPORTS_DIR: resolved', () => {
    expect(parse({ WORK_DIR: 'work' }).workDir).toBe(path.resolve('work'));
    expect(parse({ REPORTS_DIR: '/tmp/r' }).reportsDir).toBe('/tmp/r');
  });
});

describe('client tool directories', () => {
  test("unset: undefined (preflight chooses by the servers' majors)", () => {
    const c = parse();
    expect([c.pgBinDir, c.srcPgBinDir, c.dstPgBinDir]).toEqual([undefined, undefined, undefined]);
    expect(effectiveConfig(c).PG_BIN_DIR).toBe('(chosen by major)');
  });
  test('PG_BIN_DIR, SRC_PG_BIN_DIR and DST_PG_BIN_DIR are resolved to absolute paths', () => {
    const c = parse({
      PG_BIN_DIR: '/usr/lib/postgresql/15/bin/',
      SRC_PG_BIN_DIR: ' /opt/pg13/bin',
      DST_PG_BIN_DIR: 'x/bin',
    });
    expect(c.pgBinDir).toBe('/usr/lib/postgresql/15/bin');
    expect(c.srcPgBinDir).toBe('/opt/pg13/bin');
    expect(c.dstPgBinDir).toBe(path.resolve('x/bin'));
    expect(effectiveConfig(c).DST_PG_BIN_DIR).toBe(path.resolve('x/bin'));
  });
});

describe('cross-variable rules', () => {
  test('DUMP_JOBS > 1 needs DUMP_FORMAT=directory', () => {
    expect(problem({ DUMP_JOBS: '4' })).toBe(
      'DUMP_JOBS=4 needs DUMP_FORMAT=directory (pg_dump runs parallel only in directory format)',
    );
    expect(parse({ DUMP_JOBS: '4', DUMP_FORMAT: 'directory' }).dumpJobs).toBe(4);
  });

  test('RESTORE_JOBS > 1 with RESTORE_SINGLE_TRANSACTION=1 (or true) conflicts; unset it defaults to 0', () => {
    expect(problem({ RESTORE_JOBS: '4', RESTORE_SINGLE_TRANSACTION: '1' })).toMatch(
      /^RESTORE_JOBS=4 conflicts with RESTORE_SINGLE_TRANSACTION=1/,
    );
    expect(problem({ RESTORE_JOBS: '4', RESTORE_SINGLE_TRANSACTION: 'true' })).toMatch(/^RESTORE_JOBS=4 conflicts/);
    expect(parse({ RESTORE_JOBS: '4' }).restoreSingleTransaction).toBe(false);
    expect(parse({ RESTORE_JOBS: '4', RESTORE_SINGLE_TRANSACTION: '' }).restoreSingleTransaction).toBe(false);
    expect(parse({ RESTORE_JOBS: '4', RESTORE_SINGLE_TRANSACTION: '0' }).restoreSingleTransaction).toBe(false);
    expect(parse({ RESTORE_JOBS: '1', RESTORE_SINGLE_TRANSACTION: '1' }).restoreSingleTransaction).toBe(true);
  });

  test('the same database in URL and keyword form (localhost vs 127.0.0.1) is refused, password redacted', () => {
    const p = problem({
      SRC_DATABASE_URL: formatUrl(db('legacy', { host: 'localhost' })),
      DST_DATABASE_URL: formatKeyword(db('legacy', { user: 'other' })),
    });
    expect(p).toMatch(
      /^SRC_DATABASE_URL and DST_DATABASE_URL name the same database \(postgresql:\/\/other:\*\*\*@127\.0\.0\.1:55432\/legacy\)/,
    );
    expect(p).not.toContain(PASSWORD);
    // A different port is a different database.
    expect(() => parse({ DST_DATABASE_URL: formatKeyword(db('legacy', { port: 55433 })) })).not.toThrow();
  });

  test('DST_ASSETS_DIR equal to SRC_ASSETS_DIR (also via a trailing slash or ..)', () => {
    expect(problem({ DST_ASSETS_DIR: '/srv/legacy/.data' })).toMatch(
      /^DST_ASSETS_DIR \(\/srv\/legacy\/.data\) is the same directory as SRC_ASSETS_DIR/,
    );
    expect(problem({ DST_ASSETS_DIR: '/srv/legacy/x/../.data/' })).toMatch(/is the same directory as SRC_ASSETS_DIR/);
  });

  test('DST_ASSETS_DIR inside SRC_ASSETS_DIR', () => {
    expect(problem({ DST_ASSETS_DIR: '/srv/legacy/.data/staging' })).toMatch(
      /^DST_ASSETS_DIR \(.*\) is inside SRC_ASSETS_DIR/,
    );
  });

  test('SRC_ASSETS_DIR inside DST_ASSETS_DIR (a mirror with --delete would eat the source)', () => {
    expect(problem({ SRC_ASSETS_DIR: '/srv/staging/.data/old' })).toMatch(
      /^SRC_ASSETS_DIR \(.*\) is inside DST_ASSETS_DIR/,
    );
  });

  test('siblings and name prefixes are fine (/a/.data vs /a/.data2, a dir named "..x")', () => {
    expect(() => parse({ SRC_ASSETS_DIR: '/srv/a/.data', DST_ASSETS_DIR: '/srv/a/.data2' })).not.toThrow();
    expect(() => parse({ SRC_ASSETS_DIR: '/srv/a', DST_ASSETS_DIR: '/srv/a/..x' })).toThrow(/is inside SRC_ASSETS_DIR/);
    expect(assetDirsOverlap('/srv/a', '/srv/..a')).toBe('separate');
  });

  test('the check is lexical: a symlink is left to preflight (it needs the file system)', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'config-test-'));
    onTestFinished(() => fs.rmSync(tmp, { recursive: true, force: true }));
    fs.mkdirSync(path.join(tmp, 'src'));
    fs.symlinkSync(path.join(tmp, 'src'), path.join(tmp, 'link'));
    expect(assetDirsOverlap(path.join(tmp, 'src'), path.join(tmp, 'link'))).toBe('separate');
    expect(assetDirsOverlap(path.join(tmp, 'src'), path.join(tmp, 'src', '.', 'x', '..'))).toBe('same');
  });

  test('a remote SRC_ASSETS_DIR is not compared with the local target', () => {
    expect(() => parse({ SRC_ASSETS_DIR: 'legacy:/srv/staging/.data' })).not.toThrow();
  });

  test('nothing to restore in full mode; fine in verify-only and dry-run', () => {
    const env: Env = { SRC_DATABASE_URL: undefined };
    expect(problem(env)).toMatch(/^nothing to restore: set SRC_DATABASE_URL .* or SRC_DB_DUMP_PATH .*--verify-only/);
    expect(() => parse(env, 'verify-only')).not.toThrow();
    expect(() => parse(env, 'dry-run')).not.toThrow();
    expect(() => parse({ ...env, SRC_DB_DUMP_PATH: '/d.dump' })).not.toThrow();
  });

  test('DUMP_JOBS or DUMP_SERIALIZABLE_DEFERRABLE with SRC_DB_DUMP_PATH', () => {
    const msg =
      /^DUMP_JOBS \/ DUMP_SERIALIZABLE_DEFERRABLE apply to a dump the tool makes, but SRC_DB_DUMP_PATH names an existing dump/;
    expect(problem({ SRC_DB_DUMP_PATH: '/d', DUMP_JOBS: '1' })).toMatch(msg);
    expect(problem({ SRC_DB_DUMP_PATH: '/d', DUMP_SERIALIZABLE_DEFERRABLE: '1' })).toMatch(msg);
    expect(problem({ SRC_DB_DUMP_PATH: '/d', DUMP_SERIALIZABLE_DEFERRABLE: 'true' })).toMatch(msg);
    expect(() => parse({ SRC_DB_DUMP_PATH: '/d', DUMP_SERIALIZABLE_DEFERRABLE: '0', DUMP_JOBS: '' })).not.toThrow();
    const both = problems(baseEnv({ SRC_DB_DUMP_PATH: '/d', DUMP_JOBS: '3' }));
    expect(both).toHaveLength(2); // and DUMP_JOBS=3 needs the directory format
  });
});

describe('all problems at once', () => {
  test('one ConfigError, one line per problem, each naming its variable', () => {
    const env: Env = {
      DST_DATABASE_URL: undefined,
      DST_ASSETS_DIR: undefined,
      SRC_DATABASE_URL: 'postgresql+asyncpg://u:Hunter2Tail@h/db', // secret-scan:allow
      DUMP_FORMAT: 'zip',
      RESTORE_JOBS: 'many',
      ROWCOUNT_TIMEOUT_MS: '0',
      ROWCOUNT_REQUIRE_EXACT: 'perhaps',
      ASSETS_SAMPLE_N: '-5',
      ASSET_COLUMNS: 'x.y:zzz',
      VALIDATE_TABLES: 'users; DROP TABLE x',
      ORPHAN_RELATIONS: 'nope',
      HEALTH_CHECK: 'sometimes',
      CHECK_CONCURRENCY: '1000',
      STAGING_API_BASE_URL: 'ftp://x',
    };
    let err: ConfigError | undefined;
    try {
      parseConfig(env);
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.name).toBe('ConfigError');
    const expected = [
      'DST_DATABASE_URL',
      'DST_ASSETS_DIR',
      'SRC_DATABASE_URL',
      'DUMP_FORMAT',
      'RESTORE_JOBS',
      'ROWCOUNT_TIMEOUT_MS',
      'ROWCOUNT_REQUIRE_EXACT',
      'ASSETS_SAMPLE_N',
      'ASSET_COLUMNS',
      'VALIDATE_TABLES',
      'ORPHAN_RELATIONS',
      'HEALTH_CHECK',
      'CHECK_CONCURRENCY',
      'STAGING_API_BASE_URL',
    ];
    expect(err!.problems).toHaveLength(expected.length);
    for (const name of expected) {
      const naming = err!.problems.filter((p) => new RegExp(`^${name}\\b`).test(p));
      expect(naming, `${name} in\n${err!.problems.join('\n')}`).toHaveLength(1);
    }
    const lines = err!.message.split('\n');
    expect(lines[0]).toBe(`configuration errors (${expected.length}):`);
    expect(lines.slice(1)).toEqual(err!.problems.map((p) => `  - ${p}`));
    expect(err!.message).not.toContain('Hunter2Tail');
  });

  test('a single problem reads as one line', () => {
    try {
      parseConfig(baseEnv({ DUMP_FORMAT: 'zip' }));
      throw new Error('not thrown');
    } catch (e) {
      expect((e as Error).message).toBe('configuration error: DUMP_FORMAT="zip" must be custom or directory');
    }
  });

  test('every problem line of every bad single value names a variable from VARS', () => {
    const names = VARS.map((v) => v.name);
    const bad: Env = {};
    for (const v of VARS) bad[v.name] = 'x y z';
    for (const p of problems(bad))
      expect(
        names.some((n) => p.includes(n)),
        p,
      ).toBe(true);
  });
});

describe('--help and the effective configuration', () => {
  test('helpText lists every variable, with its default and its doc', () => {
    const help = helpText();
    for (const v of VARS) {
      expect(help).toContain(`  ${v.name}`);
      if (v.default !== undefined) expect(help).toContain(`${v.name}  (default: ${v.default})`);
      expect(help).toContain(v.doc);
    }
    for (const title of ['Required:', 'Source (recommended):', 'Dangerous (staging only):'])
      expect(help).toContain(title);
  });

  test('every VARS entry is documented and grouped; names are unique', () => {
    const names = VARS.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    for (const v of VARS) expect(v.doc.length, v.name).toBeGreaterThan(10);
  });

  test('effectiveConfig covers every variable and contains no password in any form', () => {
    const c = parse({
      DST_DATABASE_URL: formatKeyword(db('staging', { params: { sslpassword: 'Key-Pass-77', sslmode: 'require' } })),
    });
    const eff = effectiveConfig(c);
    for (const v of VARS) if (v.name !== 'STAGING_API_PORT') expect(eff, v.name).toHaveProperty(v.name);
    const all = JSON.stringify(eff);
    for (const form of [PASSWORD, encodeURIComponent(PASSWORD), PASSWORD.slice(-12), 'Key-Pass-77'])
      expect(all).not.toContain(form);
    expect(eff.DST_DATABASE_URL).toBe(
      'postgresql://rehearsal:***@127.0.0.1:55432/staging?sslpassword=***&sslmode=require',
    );
    expect(eff.SRC_DATABASE_URL).toBe('postgresql://rehearsal:***@127.0.0.1:55432/legacy');
  });
});

describe('isolation and asset truth settings', () => {
  test('ISOLATION: detach by default, keep on request, anything else refused', () => {
    expect(parse().isolation).toBe('detach');
    expect(parse({ ISOLATION: ' KEEP ' }).isolation).toBe('keep');
    expect(problem({ ISOLATION: 'off' }, 'verify-only')).toBe('ISOLATION="off" must be detach or keep');
  });
  test('ASSETS_MIRROR_CHECKSUM: auto by default; booleans; else refused', () => {
    expect(parse().assetsMirrorChecksum).toBe('auto');
    expect(parse({ ASSETS_MIRROR_CHECKSUM: '1' }).assetsMirrorChecksum).toBe('on');
    expect(parse({ ASSETS_MIRROR_CHECKSUM: 'off' }).assetsMirrorChecksum).toBe('off');
    expect(problem({ ASSETS_MIRROR_CHECKSUM: 'sometimes' }, 'verify-only')).toBe(
      'ASSETS_MIRROR_CHECKSUM="sometimes" must be auto, 1 or 0',
    );
  });
  test('ASSETS_VERIFY: size-mtime by default, sha256 on request', () => {
    expect(parse().assetsVerify).toBe('size-mtime');
    expect(parse({ ASSETS_VERIFY: 'SHA256' }).assetsVerify).toBe('sha256');
    expect(problem({ ASSETS_VERIFY: 'md5' }, 'verify-only')).toBe('ASSETS_VERIFY="md5" must be size-mtime or sha256');
  });
  test('ASSETS_APP_USER: a name, a uid or uid:gid', () => {
    expect(parse().assetsAppUser).toBeUndefined();
    for (const v of ['www-data', '1000', '1000:1000', 'app_user'])
      expect(parse({ ASSETS_APP_USER: v }).assetsAppUser).toBe(v);
    expect(problem({ ASSETS_APP_USER: '10:x' }, 'verify-only')).toMatch(/^ASSETS_APP_USER="10:x" must be a user name/);
  });
});

describe('scale engines (issue 28)', () => {
  test('COPY_ENGINE / COPY_JOBS / COPY_SPLIT_TABLES_MB: pg_dump by default; an unknown engine or a knob without its engine is exit 2', () => {
    expect(parse()).toMatchObject({ copyEngine: 'pg_dump', copyJobs: 4, copySplitTablesMb: 0 });
    expect(parse({ COPY_ENGINE: 'pgcopydb', COPY_JOBS: '2', COPY_SPLIT_TABLES_MB: '512' })).toMatchObject({
      copyEngine: 'pgcopydb',
      copyJobs: 2,
      copySplitTablesMb: 512,
    });
    expect(problem({ COPY_ENGINE: 'pg_copydb' })).toBe('COPY_ENGINE="pg_copydb" must be pg_dump or pgcopydb');
    expect(problem({ COPY_JOBS: '2' })).toMatch(/^COPY_JOBS applies to COPY_ENGINE=pgcopydb only/);
    expect(problem({ COPY_ENGINE: 'pgcopydb', COPY_JOBS: '0' })).toMatch(/^COPY_JOBS/);
    expect(problem({ COPY_ENGINE: 'pgcopydb', SRC_DB_DUMP_PATH: '/tmp/x.dump' })).toMatch(
      /^COPY_ENGINE=pgcopydb copies from a live source database/,
    );
  });
  test('ASSETS_ENGINE / ASSETS_JOBS / ASSETS_WORKERS: rsync by default; fpsync needs a local source; hosts are [user@]host', () => {
    expect(parse()).toMatchObject({ assetsEngine: 'rsync', assetsJobs: 2, assetsWorkers: [] });
    expect(parse({ ASSETS_ENGINE: 'fpsync', ASSETS_JOBS: '8', ASSETS_WORKERS: 'w1, backup@w2' })).toMatchObject({
      assetsEngine: 'fpsync',
      assetsJobs: 8,
      assetsWorkers: ['w1', 'backup@w2'],
    });
    expect(problem({ ASSETS_ENGINE: 'rclone' })).toBe('ASSETS_ENGINE="rclone" must be rsync or fpsync');
    expect(problem({ ASSETS_JOBS: '4' })).toMatch(/^ASSETS_JOBS applies to ASSETS_ENGINE=fpsync only/);
    expect(problem({ ASSETS_ENGINE: 'fpsync', ASSETS_WORKERS: 'w1,-oProxyCommand=x' })).toMatch(
      /^ASSETS_WORKERS: "-oProxyCommand=x" must be \[user@\]host/,
    );
    expect(problem({ ASSETS_ENGINE: 'fpsync', SRC_ASSETS_DIR: 'backup@legacy:/srv/.data' })).toMatch(
      /^ASSETS_ENGINE=fpsync needs a local SRC_ASSETS_DIR/,
    );
  });
});

describe('the table is complete', () => {
  test('every variable in VARS is exercised by this file', () => {
    const src = fs.readFileSync(import.meta.filename, 'utf8');
    for (const v of VARS) expect(src, v.name).toMatch(new RegExp(`(?<![A-Z_])${v.name}(?![A-Z_])`));
  });
});

describe('issue 26: RESTORE_ROLE, SRC_ASSETS_DIR in a system directory', () => {
  test('RESTORE_ROLE: a plain role name is taken, anything else refused with the fix', () => {
    expect(parse({ RESTORE_ROLE: 'app_owner' }).restoreRole).toBe('app_owner');
    expect(parse({}).restoreRole).toBeUndefined();
    expect(problems(baseEnv({ RESTORE_ROLE: 'x -c log_statement=all' })).join('\n')).toMatch(
      /RESTORE_ROLE="x -c log_statement=all" is not a plain role name/,
    );
  });

  test('SRC_ASSETS_DIR=/etc, / or the home directory is refused', () => {
    for (const dir of ['/etc', '/', '/usr/share'])
      expect(problems(baseEnv({ SRC_ASSETS_DIR: dir })).join('\n')).toMatch(
        /SRC_ASSETS_DIR=.* is .*the mirror would copy it/,
      );
  });
});

test('issue 26: ORPHAN_RELATIONS naming a system catalog column (pg_authid.rolpassword) is refused', () => {
  expect(
    problems(baseEnv({ ORPHAN_RELATIONS: 'pg_catalog.pg_authid.rolpassword->public.users.email' })).join('\n'),
  ).toMatch(/ORPHAN_RELATIONS: .*pg_catalog\.pg_authid is a system catalog, not application data/);
  expect(
    problems(baseEnv({ ORPHAN_RELATIONS: 'public.orders.user_id->information_schema.tables.table_name' })).join('\n'),
  ).toMatch(/information_schema\.tables is a system catalog/);
  expect(parse({ ORPHAN_RELATIONS: 'public.orders.user_id->public.users.id' }).orphanRelations).toHaveLength(1);
});
