/**
 * The configuration printed: `--help`'s variable list generated from the contract table (lib/core/config-contract.ts
 * VARS, grouped and in table order, with each default) and the redacted "effective configuration" of a parsed run.
 */
import { describeDsn } from './dsn.ts';
import { displayTable } from './ident.ts';
import { redactor } from './redact.ts';
import { VARS, type Config, type Relation, type VarSpec } from './config-contract.ts';

/** The effective configuration as printable name/value pairs, secrets redacted. */
export function effectiveConfig(c: Config): Record<string, string> {
  const out: Record<string, string> = {
    DST_DATABASE_URL: describeDsn(c.dst),
    DST_ASSETS_DIR: c.dstAssetsDir,
    SRC_DATABASE_URL: c.src ? describeDsn(c.src) : '(unset)',
    SRC_ASSETS_DIR: c.srcAssetsDir ?? '(unset: no asset mirror)',
    SRC_DB_DUMP_PATH: c.dumpPath ?? '(unset)',
    DUMP_FORMAT: c.dumpFormat,
    DUMP_JOBS: String(c.dumpJobs),
    RESTORE_JOBS: String(c.restoreJobs),
    RESTORE_SINGLE_TRANSACTION: c.restoreSingleTransaction ? '1' : '0',
    RESTORE_MAINTENANCE_WORK_MEM:
      typeof c.restoreMaintenanceWorkMem === 'number'
        ? `${Math.floor(c.restoreMaintenanceWorkMem / 1024 ** 2)}MB`
        : c.restoreMaintenanceWorkMem,
    RESTORE_MAINTENANCE_WORKERS: String(c.restoreMaintenanceWorkers),
    RESTORE_ANALYZE_JOBS: String(c.restoreAnalyzeJobs),
    DUMP_SERIALIZABLE_DEFERRABLE: c.dumpSerializableDeferrable ? '1' : '0',
    VALIDATE_TABLES: c.validateTables ? c.validateTables.map(displayTable).join(',') : '(all user tables)',
    ROWCOUNT_TIMEOUT_MS: String(c.rowcountTimeoutMs),
    ROWCOUNT_MAX_DIFF: String(c.rowcountMaxDiff),
    ROWCOUNT_REQUIRE_EXACT: c.rowcountRequireExact ? '1' : '0',
    ROWCOUNT_ESTIMATE_TOLERANCE: `${c.rowcountEstimateTolerance}%`,
    PREEXISTING_DEFECTS_FAIL: c.preexistingDefectsFail ? '1' : '0',
    ORPHAN_RELATIONS: c.orphanRelations.length
      ? c.orphanRelations.map(formatRelation).join(';')
      : '(declared foreign keys only)',
    CHECKSUM: c.checksum,
    CHECKSUM_TABLES: c.checksumTables ? c.checksumTables.map(displayTable).join(',') : '(all compared tables)',
    ASSET_COLUMNS: c.assetColumns.map((a) => `${displayTable(a.table)}.${a.column}:${a.kind}`).join(','),
    ASSETS_SAMPLE_N: String(c.assetsSampleN),
    ASSETS_SAMPLE_SEED: c.assetsSampleSeed ?? '(the run id)',
    ASSETS_DB_PATH_PREFIX: c.assetsDbPathPrefix,
    ASSETS_UNREFERENCED_FAIL: c.assetsUnreferencedFail ? '1' : '0',
    DST_DROP_SCHEMA: c.dstDropSchema ? '1' : '0',
    ASSETS_DELETE: c.assetsDelete ? '1' : '0',
    STAGING_API_BASE_URL: c.stagingApiBaseUrl,
    STAGING_HEALTH_PATH: c.stagingHealthPath,
    HEALTH_CHECK: c.healthCheck ? '1' : '0',
    HEALTH_TIMEOUT_MS: String(c.healthTimeoutMs),
    WORK_DIR: c.workDir ?? '(fresh temp dir)',
    REPORTS_DIR: c.reportsDir,
    REHEARSAL_OPERATOR: c.operator ?? '(unset: the login user)',
    CONNECT_TIMEOUT_MS: String(c.connectTimeoutMs),
    CHECK_CONCURRENCY: String(c.checkConcurrency),
    CHECKSUM_SPLIT_MB: String(c.checksumSplitMb),
    RSYNC_TIMEOUT_S: String(c.rsyncTimeoutS),
    CHECKS_DEADLINE_S: String(c.checksDeadlineS),
    FULL_LIST_MAX: String(c.fullListMax),
    ISOLATION: c.isolation,
    ASSETS_MIRROR_CHECKSUM: c.assetsMirrorChecksum === 'on' ? '1' : c.assetsMirrorChecksum === 'off' ? '0' : 'auto',
    ASSETS_VERIFY: c.assetsVerify,
    ASSETS_APP_USER: c.assetsAppUser ?? '(unset: files not readable by others are warnings)',
    RESTORE_NO_TABLESPACES: c.restoreNoTablespaces ? '1' : '0',
    RESTORE_ROLE: c.restoreRole ?? '(unset: the target role; a superuser one is warned about)',
    PG_BIN_DIR: c.pgBinDir ?? '(chosen by major)',
    SRC_PG_BIN_DIR: c.srcPgBinDir ?? '(PG_BIN_DIR)',
    DST_PG_BIN_DIR: c.dstPgBinDir ?? '(PG_BIN_DIR)',
    EXTENSION_VERSIONS_EQUAL: c.extensionVersionsEqual ? '1' : '0',
    COPY_ENGINE: c.copyEngine,
    COPY_JOBS: String(c.copyJobs),
    COPY_SPLIT_TABLES_MB: String(c.copySplitTablesMb),
    ASSETS_ENGINE: c.assetsEngine,
    ASSETS_JOBS: String(c.assetsJobs),
    ASSETS_WORKERS: c.assetsWorkers?.length ? c.assetsWorkers.join(',') : '(this machine)',
  };
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, redactor.redact(v)]));
}

/** A relation as ORPHAN_RELATIONS spells it: `child.a+b->parent.x+y`. */
export function formatRelation(r: Relation): string {
  return `${displayTable(r.child)}.${r.childColumns.join('+')}->${displayTable(r.parent)}.${r.parentColumns.join('+')}`;
}

const GROUP_TITLES: Record<VarSpec['group'], string> = {
  required: 'Required',
  source: 'Source (recommended)',
  dump: 'Dump and restore',
  validation: 'Validation',
  assets: 'Assets',
  dangerous: 'Dangerous (staging only)',
  smoke: 'Smoke',
  output: 'Output',
  tuning: 'Tuning',
};

/** The environment-variable part of --help, from the same table the parser uses. */
export function helpText(): string {
  const lines: string[] = [];
  for (const group of Object.keys(GROUP_TITLES) as VarSpec['group'][]) {
    const vars = VARS.filter((v) => v.group === group);
    if (!vars.length) continue;
    lines.push(`${GROUP_TITLES[group]}:`);
    for (const v of vars) {
      lines.push(`  ${v.name}${v.default !== undefined ? `  (default: ${v.default})` : ''}`);
      lines.push(`      ${v.doc}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
