/**
 * The cutover's configuration: the shared contract (lib/config.ts parseConfig, unchanged) plus the CUTOVER_*
 * variables, parsed once from an environment passed in, every problem reported at once (exit 2).
 *
 * The cutover is stricter than the rehearsal about three shared variables, because it runs once, for real, across
 * several invocations: WORK_DIR must be a fixed path (the log lives there), SRC_DATABASE_URL is required (the final
 * dump is made after the freeze) and SRC_DB_DUMP_PATH is refused (an older dump would lose the writes made since),
 * SRC_ASSETS_DIR is required (the asset tree moves with the database).
 */
import { ConfigError } from '../core/errors.ts';
import { MAX_TIMEOUT_MS, envInt, isSet, showDefault, type IntRule } from '../core/env.ts';
import { parseConfig, registerSecrets, type Config, type Env } from '../core/config.ts';

/** The operator's hooks: application-specific actions, configured as shell commands. */
export type HookName =
  | 'maintenanceOn'
  | 'stopWorkers'
  | 'drainCheck'
  | 'switch'
  | 'switchBack'
  | 'startWorkers'
  | 'maintenanceOff'
  | 'smoke';

export interface HookSpec {
  name: HookName;
  variable: string;
  /** Which phase runs it (for --help and the runbook). */
  runBy: string;
  /** A required hook that is not set stops its phase; an optional one is logged as skipped. */
  required: boolean;
  doc: string;
}

export const HOOKS: HookSpec[] = [
  {
    name: 'maintenanceOn',
    variable: 'CUTOVER_HOOK_MAINTENANCE_ON',
    runBy: 'freeze',
    required: true,
    doc: 'Enable maintenance mode (the API stops accepting writes).',
  },
  {
    name: 'stopWorkers',
    variable: 'CUTOVER_HOOK_STOP_WORKERS',
    runBy: 'freeze',
    required: true,
    doc: 'Stop Celery beat, then the workers (set it to `true` if there are none: say so explicitly).',
  },
  {
    name: 'drainCheck',
    variable: 'CUTOVER_HOOK_DRAIN_CHECK',
    runBy: 'freeze-check',
    required: true,
    doc: 'Exit 0 only when the queues are empty (no task still to write to the source).',
  },
  {
    name: 'switch',
    variable: 'CUTOVER_HOOK_SWITCH',
    runBy: 'switch',
    required: true,
    doc: 'Point every service (API, workers, beat, cron, admin tools) at the new DSN and assets volume.',
  },
  {
    name: 'switchBack',
    variable: 'CUTOVER_HOOK_SWITCH_BACK',
    runBy: 'rollback (and required before switch runs)',
    required: true,
    doc: 'Point every service back at the old DSN and assets volume.',
  },
  {
    name: 'startWorkers',
    variable: 'CUTOVER_HOOK_START_WORKERS',
    runBy: 'unfreeze, rollback',
    required: true,
    doc: 'Start the workers, then beat.',
  },
  {
    name: 'maintenanceOff',
    variable: 'CUTOVER_HOOK_MAINTENANCE_OFF',
    runBy: 'unfreeze, rollback',
    required: true,
    doc: 'Disable maintenance mode.',
  },
  {
    name: 'smoke',
    variable: 'CUTOVER_HOOK_SMOKE',
    runBy: 'smoke',
    required: false,
    doc: 'Optional extra smoke test after the health probe (exit 0 = pass); unset: logged as skipped.',
  },
];

export interface CutoverConfig {
  /** The shared contract, as the rehearsal parses it. */
  base: Config;
  /** WORK_DIR: required, a fixed path; holds cutover-log.jsonl, the final dump and the verify reports. */
  workDir: string;
  /** CUTOVER_MAX_REHEARSAL_AGE_DAYS: the green rehearsal may be at most this old (default 7). */
  maxRehearsalAgeDays: number;
  /** CUTOVER_HOOK_TIMEOUT_MS: every hook is killed after this long (default 300000 = 5 min). */
  hookTimeoutMs: number;
  /** CUTOVER_VERIFY_TIMEOUT_MS: the verify check suite is stopped after this long (default 3600000 = 1 h). */
  verifyTimeoutMs: number;
  /** CUTOVER_FREEZE_IGNORE_APPS: application_name values of read-only sessions freeze-check tolerates (monitoring). */
  freezeIgnoreApps: string[];
  hooks: Partial<Record<HookName, string>>;
}

type Draft = { -readonly [K in keyof Omit<CutoverConfig, 'base'>]?: CutoverConfig[K] };

export interface CutoverVarSpec {
  name: string;
  doc: string;
  default?: string;
  apply(raw: string | undefined, draft: Draft): string | void;
}

/** A whole-number CUTOVER_* variable: default and range written once (lib/core/env.ts envInt). */
function intVar(
  name: string,
  key: 'maxRehearsalAgeDays' | 'hookTimeoutMs' | 'verifyTimeoutMs',
  rule: IntRule,
  doc: string,
): CutoverVarSpec {
  return {
    name,
    doc,
    default: showDefault(rule.default),
    apply(raw, d) {
      const v = envInt(name, raw, rule);
      if (typeof v === 'string') return v;
      d[key] = v;
    },
  };
}

export const CUTOVER_VARS: CutoverVarSpec[] = [
  intVar(
    'CUTOVER_MAX_REHEARSAL_AGE_DAYS',
    'maxRehearsalAgeDays',
    { default: 7, min: 1, max: 365 },
    'The green rehearsal manifest may be at most this many days old (measured at the start of the freeze).',
  ),
  intVar(
    'CUTOVER_HOOK_TIMEOUT_MS',
    'hookTimeoutMs',
    { default: 300_000, min: 100, max: MAX_TIMEOUT_MS },
    'Every hook is stopped (SIGTERM, then SIGKILL) after this long; a timed-out hook fails its phase.',
  ),
  intVar(
    'CUTOVER_VERIFY_TIMEOUT_MS',
    'verifyTimeoutMs',
    { default: 3_600_000, min: 1000, max: MAX_TIMEOUT_MS },
    'The verify phase (the whole check suite) is stopped after this long and counts as failed.',
  ),
  {
    name: 'CUTOVER_FREEZE_IGNORE_APPS',
    doc: 'Comma list of application_name values freeze-check tolerates on the source (read-only monitoring agents).',
    apply(raw, d) {
      d.freezeIgnoreApps = (raw ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    },
  },
  ...HOOKS.map((h): CutoverVarSpec => ({
    name: h.variable,
    doc: `${h.required ? 'Hook (required by ' : 'Hook (optional, run by '}${h.runBy}): ${h.doc}`,
    apply(raw, d) {
      if (!isSet(raw)) return;
      d.hooks = { ...d.hooks, [h.name]: raw.trim() };
    },
  })),
];

/**
 * The shared contract's defaults that differ for the cutover: the new production keeps the links the old one had
 * (foreign servers, user mappings, subscriptions) — `ISOLATION=keep` unless the operator set ISOLATION. A rehearsal
 * detaches them because staging must never reach production; after the cutover the target IS production. They are
 * still listed, loudly, by the restore phase and the isolation checks.
 */
export function withCutoverDefaults(env: Env): Env {
  return isSet(env.ISOLATION) ? env : { ...env, ISOLATION: 'keep' };
}

/**
 * Parse the shared contract and the CUTOVER_* variables; throws one ConfigError listing every problem of both.
 * Registers the DSN passwords with the redactor. Hook commands are shown through the redactor too, which catches URL
 * passwords and password= values; keep other secrets out of the command text (let the hook script read them).
 */
export function parseCutoverConfig(env: Env = process.env): CutoverConfig {
  const problems: string[] = [];
  let base: Config | undefined;
  try {
    base = parseConfig(withCutoverDefaults(env), { mode: 'full' });
    registerSecrets(base);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // Our own line says it better for the cutover (no existing dump allowed).
    problems.push(...e.problems.filter((p) => !p.startsWith('nothing to restore')));
  }
  const draft: Draft = { hooks: {} };
  for (const v of CUTOVER_VARS) {
    const err = v.apply(env[v.name], draft);
    if (err) problems.push(err);
  }
  if (!isSet(env.WORK_DIR)) {
    problems.push(
      'WORK_DIR is not set; the cutover needs a fixed path (its log must persist across invocations): export WORK_DIR=/srv/cutover/<date>',
    );
  }
  if (!isSet(env.SRC_DATABASE_URL)) {
    problems.push(
      'SRC_DATABASE_URL is not set; the cutover dumps the frozen source itself: export SRC_DATABASE_URL="postgresql://<user>:<password>@<host>:<port>/<db>"',
    );
  }
  if (isSet(env.SRC_DB_DUMP_PATH)) {
    problems.push(
      'SRC_DB_DUMP_PATH is set, but the cutover makes its own dump after the write freeze (an older dump would lose the writes made since); unset it',
    );
  }
  if (env.COPY_ENGINE?.trim() === 'pgcopydb') {
    problems.push(
      'COPY_ENGINE=pgcopydb is for rehearsals only: the cutover restores production in one transaction from its own dump after the write freeze (pgcopydb is not atomic); unset COPY_ENGINE for the cutover',
    );
  }
  if (!isSet(env.SRC_ASSETS_DIR)) {
    problems.push(
      'SRC_ASSETS_DIR is not set; the cutover moves the .data asset tree with the database: export SRC_ASSETS_DIR=/path/to/source/.data',
    );
  }
  if (problems.length) throw new ConfigError(problems);
  return { ...(draft as Omit<CutoverConfig, 'base'>), base: base!, workDir: base!.workDir! };
}

/**
 * The shared variables' --help as it holds for the cutover: the target is the production target (not staging), and
 * ISOLATION's default is `keep` (withCutoverDefaults), not the rehearsal's `detach`.
 */
export function cutoverSharedHelp(shared: string): string {
  return shared
    .replace(/Target staging /g, 'Production target ')
    .replace(
      / {2}ISOLATION {2}\(default: detach\)/,
      '  ISOLATION  (default for the cutover: keep; a rehearsal detaches)',
    );
}

/** The CUTOVER_* part of --help, from the same table the parser uses. */
export function cutoverHelpText(): string {
  const lines = [
    "Cutover variables (in addition to the rehearsal's; WORK_DIR, SRC_DATABASE_URL and SRC_ASSETS_DIR are required).",
    'DST_DATABASE_URL and DST_ASSETS_DIR name the PRODUCTION target: after the cutover it is production. ISOLATION',
    'defaults to keep here: foreign servers, user mappings and subscriptions are restored as they are (listed loudly);',
    'set ISOLATION=detach to leave them out.',
  ];
  for (const v of CUTOVER_VARS) {
    lines.push(`  ${v.name}${v.default !== undefined ? `  (default: ${v.default})` : ''}`);
    lines.push(`      ${v.doc}`);
  }
  return lines.join('\n') + '\n';
}
