/**
 * The copy pipeline: `preflight → dump → restore → mirror` as typed steps whose inputs and outputs are typed facts.
 * The rehearsal (setup/global-setup.ts), the dry-run (lib/cli/dry-run.ts), the cutover (lib/cutover/run.ts) and the
 * bench use these same steps; the cutover only adds its gates and hooks around them. In particular the restore of
 * every caller is planned by `planRestore` from the preflight's facts (its TOC exclusions and its session settings),
 * so a green rehearsal predicts the cutover's restore (issue: "must be owner of extension vector" after the freeze).
 */
import type { Config } from '../core/config.ts';
import type { RunState } from '../core/state.ts';
import type { Command, PhaseLog } from '../core/tools.ts';
import type { RestoreMode } from './restore-commands.ts';
import { runDump, type ArchiveInfo } from './dump.ts';
import { runMirror } from './mirror-assets.ts';
import { runPreflight } from './preflight.ts';
import { planRestore, runRestore } from './restore.ts';
import type { OutwardLink } from './isolation.ts';
import type { PhaseCtx, PhaseDetails, PhaseOutcome } from './phase.ts';
import type { PhaseName } from './phase-types.ts';
import type { RestoreSettings } from './restore-tuning.ts';
import type { BeforeRestore } from './restore-marker.ts';
import type { Pinned } from './pinned.ts';
import { fpsyncStep, pgcopydbFacts, pgcopydbPreflightLines, pgcopydbStep } from './engines/steps.ts';

/** What the read-only preflight established, handed unchanged to every later step. */
export interface PreflightFacts {
  /** Versions and resolved paths of tools and servers (state.tools). */
  tools: Record<string, string>;
  /** The existing dump (SRC_DB_DUMP_PATH), validated; undefined when the tool dumps. */
  archive?: ArchiveInfo;
  /** What DST_DROP_SCHEMA / ASSETS_DELETE would drop or delete, one line each. */
  destructive: string[];
  /** What preflight noticed without refusing. */
  notes: string[];
  /**
   * Extensions the archive creates that the target already has, installed by another role (a DBA on a managed
   * target): the restore leaves their CREATE/COMMENT entries out (lib/phases/privileges.ts extensionsPresentRule).
   */
  extensionsPresent: string[];
  /** Schemas the archive creates that hold such an extension on the target: kept, their CREATE SCHEMA left out. */
  schemasKept?: string[];
}

/** The archive the dump step made or was given: what the restore reads (state.dump). */
export type ArchiveFacts = NonNullable<RunState['dump']>;

/** The commands a restore runs, with the session's environment (PGOPTIONS, PGAPPNAME) already applied. */
export type RestoreCommands =
  | { kind: 'pipeline'; render: Command; apply: Command; dropSql: string[] }
  | { kind: 'pg_restore'; drop?: Command; restore: Command };

/**
 * Everything the restore will do, decided before it writes: made by `planRestore` from the archive and the
 * preflight's facts, executed by `runRestore`. Two plans for the same archive, target and configuration are equal
 * (up to the run id in the application name and WORK_DIR in the `--use-list` path).
 */
export interface RestorePlan {
  archive: ArchiveFacts;
  mode: RestoreMode;
  /** The `--use-list` file in WORK_DIR (0600) when entries are left out. */
  useList?: string;
  /** The entries left out, one line each with why (lib/phases/toc-filter.ts exclusionLines). */
  excluded: string[];
  /** The archive's foreign servers, user mappings and subscriptions, with where they point. */
  links: OutwardLink[];
  /** The restore session's settings (PGOPTIONS) and how each was chosen (lib/phases/restore-tuning.ts). */
  session: RestoreSettings;
  /** The application_name of the restore's backends (the lock-wait watcher finds them by it). */
  appName: string;
  /** The target as the plan found it, and what DST_DROP_SCHEMA removes there (the marker's drop plan). */
  target: BeforeRestore;
  /** Said before the restore when it would run as a superuser without RESTORE_ROLE (CVE-2024-7348 class). */
  superuserWarning?: string;
  /**
   * The archive opened once and hashed (lib/phases/restore.ts pinArchive): every command reads it as `/proc/self/fd/3`
   * (its `fds`). runRestore closes it.
   */
  pinned?: Pinned;
  commands: RestoreCommands;
}

/** The restore phase's typed facts (its PhaseDetails). */
export interface RestoreDetails extends PhaseDetails {
  mode: RestoreMode;
  commands: string[];
  atomic: boolean;
  excluded: string[];
  isolation: string[];
  sessionSettings: Record<string, string>;
  sessionSettingsWhy: string[];
}

export interface RestoreOutcome extends PhaseOutcome {
  details: RestoreDetails;
}

/** Where a step writes its lines. */
export interface StepIo {
  log?: PhaseLog;
  say?: (line: string) => void;
}

/** The preflight step: the read-only checks; a refusal throws PhaseError (exit 2). */
export async function preflightStep(
  config: Config,
  io: StepIo & { mode?: RunState['mode'] } = {},
): Promise<{ outcome: PhaseOutcome; facts: PreflightFacts }> {
  const r = await runPreflight(config, io);
  // COPY_ENGINE=pgcopydb: its own refusals (exit 2, before any write) and the not-atomic line where the run starts.
  if (config.copyEngine === 'pgcopydb' && (io.mode ?? 'full') === 'full' && config.src) {
    const lines = pgcopydbPreflightLines(await pgcopydbFacts(config));
    for (const line of lines) io.say?.(line);
    r.details = { ...r.details, notes: [...(r.details?.notes ?? []), ...lines] };
  }
  return { outcome: r, facts: r.facts };
}

/** The dump step: pg_dump into WORK_DIR (or the validated SRC_DB_DUMP_PATH); records and returns the archive. */
export async function dumpStep(
  ctx: PhaseCtx,
  facts: Pick<PreflightFacts, 'archive'>,
): Promise<{ outcome: PhaseOutcome; archive: ArchiveFacts }> {
  const outcome = await runDump(ctx, facts.archive);
  return { outcome, archive: ctx.state.dump! };
}

/**
 * The restore step: plan from the preflight's facts, then run that plan. Under COPY_ENGINE=pgcopydb it is the copy
 * itself (source → target, no archive; lib/phases/engines/steps.ts pgcopydbStep): the dump phase was skipped
 * (lib/phases/phase-schedule.ts), and `phase restore` stands for the clone.
 */
export async function restoreStep(
  ctx: PhaseCtx,
  archive: ArchiveFacts | undefined,
  facts: Pick<PreflightFacts, 'extensionsPresent' | 'schemasKept'>,
): Promise<PhaseOutcome> {
  if (ctx.config.copyEngine === 'pgcopydb') return pgcopydbStep(ctx);
  return runRestore(ctx, await planRestore(ctx, archive, facts));
}

/** The mirror step: rsync of the asset tree, or fpsync's parallel workers under ASSETS_ENGINE=fpsync. */
export async function mirrorStep(ctx: PhaseCtx): Promise<PhaseOutcome> {
  return ctx.config.assetsEngine === 'fpsync' ? fpsyncStep(ctx) : runMirror(ctx);
}

/**
 * The four copy steps by phase name, the preflight's typed facts handed to the dump and the restore: what global
 * setup runs for a rehearsal and what an in-process copy runs (test/helpers/pipeline.ts), so the two cannot drift.
 * `initial`: the facts of a preflight already recorded (the CLI's gate); the preflight step replaces them when it runs.
 */
export function copySteps(
  config: Config,
  initial?: PreflightFacts,
): Record<PhaseName, (ctx: PhaseCtx) => Promise<PhaseOutcome>> {
  let facts = initial;
  return {
    preflight: async (ctx) => {
      const r = await preflightStep(config, { log: ctx.log, say: ctx.say });
      facts = r.facts;
      return r.outcome;
    },
    dump: async (ctx) => (await dumpStep(ctx, facts ?? {})).outcome,
    restore: (ctx) => restoreStep(ctx, ctx.state.dump, facts ?? { extensionsPresent: [] }),
    mirror: mirrorStep,
  };
}

/** The facts of a preflight that did not run in this process (a gate record from before `extensionsPresent`). */
export function factsFromDetails(details: PhaseDetails | undefined, archive?: ArchiveInfo): PreflightFacts {
  return {
    tools: details?.tools ?? {},
    archive,
    destructive: details?.destructive ?? [],
    notes: details?.notes ?? [],
    extensionsPresent: details?.extensionsPresent ?? [],
    schemasKept: details?.schemasKept ?? [],
  };
}
