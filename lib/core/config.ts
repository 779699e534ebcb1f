/**
 * The configuration: every environment variable the tool reads, parsed once into a typed object.
 *
 * Nothing else in the project reads process.env for configuration. Problems are collected and reported together,
 * one line each naming the variable and the fix. The module is split by concern, this file being the entry point
 * that re-exports the others:
 * - lib/core/config-contract.ts: the contract table (VARS) and the Config type;
 * - lib/core/path-policy.ts: where the tool may write and delete;
 * - lib/core/config-printout.ts: `--help` and the redacted "effective configuration", generated from the table;
 * - here: parseConfig (the table run, the DSNs resolved, the cross-variable rules) and secret registration.
 */
import { ConfigError } from './errors.ts';
import { isSet, type Env } from './env.ts';
import { type Dsn, SECRET_PARAMS, describeDsn, parseDsn, resolveDsn, sameDatabase } from './dsn.ts';
import { redactor } from './redact.ts';
import { VARS, engineProblems, type Config, type Draft, type Mode } from './config-contract.ts';
import { assetDirsOverlap } from './path-policy.ts';

export type { Env };
export {
  DEFAULT_ASSET_COLUMNS,
  DEFAULT_HEALTH_PATH,
  DEFAULT_REPORTS_DIR,
  DEFAULT_STAGING_API_BASE_URL,
  VARS,
  assetsDeleteSetting,
  dropSchemaSetting,
  parseAssetColumns,
  parseOrphanRelations,
  type AssetColumn,
  type Config,
  type Mode,
  type Relation,
  type VarSpec,
} from './config-contract.ts';
export {
  assetDirsOverlap,
  isRemoteRsyncPath,
  refusedAssetsDir,
  refusedOutputDir,
  refusedSourceAssetsDir,
} from './path-policy.ts';
export { effectiveConfig, formatRelation, helpText } from './config-printout.ts';

/** Parse and cross-check the whole configuration; throws one ConfigError listing every problem. */
export function parseConfig(env: Env = process.env, opts: { mode?: Mode } = {}): Config {
  const problems: string[] = [];
  const c = applyTable(env, problems);
  resolveDsns(c, env, problems);
  problems.push(
    ...jobProblems(c, env),
    ...sameDatabaseProblems(c),
    ...assetDirProblems(c),
    ...sourceProblems(c, env, opts.mode ?? 'full'),
    ...engineProblems(c, env),
  );
  if (problems.length) throw new ConfigError(problems);
  return c;
}

/** Every variable of the table parsed into a draft (its secrets registered first); each refusal goes to `problems`. */
function applyTable(env: Env, problems: string[]): Config {
  const draft: Draft = {};
  for (const v of VARS) {
    const raw = env[v.name];
    if (v.secret && raw) registerSecretsOf(raw);
    const err = v.apply(raw, draft, env);
    if (err) problems.push(err);
  }
  return draft as Config;
}

/** One resolution of each DSN for the checks and the tools alike (service files, sockets, passfiles: lib/core/dsn.ts). */
function resolveDsns(c: Config, env: Env, problems: string[]): void {
  for (const [key, name] of [
    ['src', 'SRC_DATABASE_URL'],
    ['dst', 'DST_DATABASE_URL'],
  ] as const) {
    const d = c[key];
    if (!d) continue;
    try {
      c[key] = resolveDsn(d, env, name);
    } catch (e) {
      problems.push((e as Error).message.replace(/^configuration error: /, ''));
    }
    const weak = evidenceLikePassword(c[key]!);
    if (weak) problems.push(`${name}: ${weak}`);
  }
}

/** DUMP_JOBS needs a directory dump; RESTORE_JOBS>1 turns the single transaction off (or conflicts with asking for it). */
function jobProblems(c: Config, env: Env): string[] {
  const problems: string[] = [];
  if (c.dumpJobs > 1 && c.dumpFormat !== 'directory') {
    problems.push(
      `DUMP_JOBS=${c.dumpJobs} needs DUMP_FORMAT=directory (pg_dump runs parallel only in directory format)`,
    );
  }
  if (c.restoreJobs > 1) {
    if (isSet(env.RESTORE_SINGLE_TRANSACTION) && c.restoreSingleTransaction) {
      problems.push(
        `RESTORE_JOBS=${c.restoreJobs} conflicts with RESTORE_SINGLE_TRANSACTION=1 (pg_restore cannot do both); unset one`,
      );
    }
    c.restoreSingleTransaction = false;
  }
  return problems;
}

/** The target may never be the source database. */
function sameDatabaseProblems(c: Config): string[] {
  if (!(c.src && c.dst && sameDatabase(c.src, c.dst))) return [];
  return [
    `SRC_DATABASE_URL and DST_DATABASE_URL name the same database (${describeDsn(c.dst)}); ` +
      'the target must be a different, staging database',
  ];
}

/** Two local asset trees must not contain each other (lexically; preflight asks again through symlinks). */
function assetDirProblems(c: Config): string[] {
  if (!(c.srcAssetsDir && !c.srcAssetsRemote && c.dstAssetsDir)) return [];
  const overlap = assetDirsOverlap(c.srcAssetsDir, c.dstAssetsDir);
  if (overlap === 'same' || overlap === 'dst-inside-src') {
    return [
      `DST_ASSETS_DIR (${c.dstAssetsDir}) is ${overlap === 'same' ? 'the same directory as' : 'inside'} SRC_ASSETS_DIR ` +
        `(${c.srcAssetsDir}); mirror to a separate directory`,
    ];
  }
  if (overlap === 'src-inside-dst') {
    return [
      `SRC_ASSETS_DIR (${c.srcAssetsDir}) is inside DST_ASSETS_DIR (${c.dstAssetsDir}); mirroring (with ASSETS_DELETE=1: ` +
        'deleting) into the target would touch the source; use separate directories',
    ];
  }
  return [];
}

/** A full run needs something to restore; the dump's own options make no sense beside an existing dump. */
function sourceProblems(c: Config, env: Env, mode: Mode): string[] {
  const problems: string[] = [];
  // Only when SRC_DATABASE_URL is unset: a malformed one already has its own problem line.
  if (mode === 'full' && !c.dumpPath && !c.src && !isSet(env.SRC_DATABASE_URL) && c.dst) {
    problems.push(
      'nothing to restore: set SRC_DATABASE_URL (the tool dumps it) or SRC_DB_DUMP_PATH (an existing dump), or run with --verify-only',
    );
  }
  if (c.dumpPath && (isSet(env.DUMP_JOBS) || c.dumpSerializableDeferrable)) {
    problems.push(
      'DUMP_JOBS / DUMP_SERIALIZABLE_DEFERRABLE apply to a dump the tool makes, but SRC_DB_DUMP_PATH names an existing dump; unset one',
    );
  }
  return problems;
}

/**
 * Why a DSN's password cannot be redacted without rewriting evidence, or undefined. Every output is redacted by
 * masking the password wherever it appears; a password that is a plain word (`public`, `postgres`, `users`) or that
 * equals the DSN's own user, database or host would also mask table names, DSN schemes and user names in the audit
 * trail. Such a password is refused rather than allowed to corrupt the evidence.
 */
export function evidenceLikePassword(d: Dsn): string | undefined {
  const p = d.password;
  if (!p || [...p].length < 3) return undefined;
  const same = [d.user, d.database, d.host].find((x) => x && x.toLowerCase() === p.toLowerCase());
  if (same !== undefined)
    return "the password equals the DSN's own user, database or host name; masking it in every output would also mask that name in the evidence: use a different password";
  if (/^[A-Za-z_]+$/.test(p))
    return 'the password is a plain word (letters only); masking it in every output would also rewrite table names and DSNs that contain the word (e.g. public, postgres): use a password with digits or symbols';
  return undefined;
}

function registerSecretsOf(raw: string) {
  // A refused SQLAlchemy URL still carries a real password: parse it as the postgresql:// it should have been.
  const text = raw.replace(/^\s*postgres(?:ql)?\+[a-z0-9_]+:\/\//i, 'postgresql://');
  try {
    const d = parseDsn(text);
    // A password refused as evidence-like (a plain word) is not registered: masking it everywhere is exactly the
    // damage the refusal prevents. Pattern redaction still masks it where passwords go (userinfo, password=).
    if (!evidenceLikePassword(d)) redactor.add(d.password);
    for (const k of SECRET_PARAMS) redactor.add(d.params[k]);
  } catch {
    // Unparseable: pattern redaction still covers URL userinfo and password= forms.
  }
}

/** Register every password of a parsed config with the process redactor. */
export function registerSecrets(c: Pick<Config, 'src' | 'dst'>): void {
  for (const d of [c.src, c.dst]) {
    redactor.add(d?.password);
    for (const k of SECRET_PARAMS) redactor.add(d?.params[k]);
  }
}
