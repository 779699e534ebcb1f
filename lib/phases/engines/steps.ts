/**
 * The scale engines as pipeline steps (lib/phases/pipeline.ts selects them): COPY_ENGINE=pgcopydb replaces the dump and
 * the restore by one copy (recorded as the restore phase; the dump phase is skipped with the reason
 * COPY_ENGINE_DUMP_SKIP, lib/phases/phase-schedule.ts), ASSETS_ENGINE=fpsync replaces rsync in the mirror.
 *
 * What the copy keeps from the pg_dump path, and where:
 * - preflight: `pgcopydbPreflight` (read-only, exit 2 before any write): pgcopydb installed, both server majors in its
 *   "compatible with" list, the filter plan (a missing extension on a managed target, outward links under
 *   ISOLATION=detach) — called by preflightStep, so the gate, the dry-run and the cutover refuse alike;
 * - DST_DROP_SCHEMA: the same drop plan as the restore (lib/phases/marker.ts dropPlan: what the marker says the last
 *   restore created, else public and the source's schemas), run BEFORE pgcopydb starts; the guards ran in preflight;
 * - the marker: written after the copy, also when it failed or was interrupted half-way (pgcopydb is not atomic), so
 *   the next DST_DROP_SCHEMA=1 run removes what this one left;
 * - the restore's session settings (lib/phases/restore-tuning.ts, via restoreSettings): in the target URI's options;
 * - interruption: both engines start through ./process-group.ts `startEngine`; its `stopEngines` stops every running
 *   engine's process group (global setup calls it on SIGINT/SIGTERM).
 */
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../../core/config.ts';
import { withConnection } from '../../core/db.ts';
import { EXIT, PhaseError } from '../../core/errors.ts';
import { displayCommand } from '../../core/tools.ts';
import { psql, psqlCommand } from '../commands.ts';
import { describeDropPlan, dropPlan, dropPlanSql, installedExtensions, readMarker, userSchemas } from '../marker.ts';
import type { MarkerKind } from '../marker.ts';
import { mirrorChecksum, pinMirrorTarget, resolvedMirrorTarget } from '../mirror-assets.ts';
import type { Pinned } from '../pinned.ts';
import type { PhaseCtx, PhaseOutcome } from '../phase.ts';
import { restoreSettings } from '../restore.ts';
import { markRestore, type BeforeRestore } from '../restore-marker.ts';
import { assetsMarkerValue, leaveMarker } from '../guards.ts';
import { displayFpsync, fpsyncPlan, runFpsync, type FpsyncPlan } from './fpsync.ts';
import {
  PGCOPYDB_NOT_ATOMIC,
  displayPgcopydb,
  pgcopydbFilterPlan,
  pgcopydbPlan,
  pgcopydbRefusal,
  probePgcopydb,
  readFilterFacts,
  runPgcopydb,
  type FilterPlan,
  type PgcopydbPlan,
} from './pgcopydb.ts';

/** What the pgcopydb preflight found: the probe, the server majors, the filter plan. */
export interface PgcopydbFacts {
  bin: string;
  version: string;
  features: NonNullable<ReturnType<typeof probePgcopydb>>['features'];
  majors: { src: number; dst: number };
  filter: FilterPlan;
}

async function serverMajor(config: Config, side: 'src' | 'dst'): Promise<number> {
  const dsn = side === 'src' ? config.src! : config.dst;
  const v = await withConnection(
    dsn,
    async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0].v,
    {
      connectTimeoutMs: config.connectTimeoutMs,
    },
  );
  return Math.floor(Number(v) / 10000);
}

/**
 * Read-only facts for COPY_ENGINE=pgcopydb, or a PhaseError (exit 2, phase `phase`) naming what is wrong and the fix:
 * pgcopydb missing, a server major this pgcopydb does not know, an extension a non-superuser target lacks, outward
 * links under ISOLATION=detach. Reads `pgcopydb --version` / `clone --help` and both catalogs; writes nothing.
 */
export async function pgcopydbFacts(config: Config, phase = 'preflight'): Promise<PgcopydbFacts> {
  if (!config.src) throw new PhaseError(phase, 'COPY_ENGINE=pgcopydb needs SRC_DATABASE_URL', EXIT.usage);
  const probe = probePgcopydb();
  if (!probe)
    throw new PhaseError(
      phase,
      'COPY_ENGINE=pgcopydb but pgcopydb is not installed (apt-get install pgcopydb), or use COPY_ENGINE=pg_dump',
      EXIT.usage,
    );
  const query = (dsn: NonNullable<Config['src']>) => (sql: string) =>
    withConnection(dsn, (c: pg.Client) => c.query(sql), { connectTimeoutMs: config.connectTimeoutMs });
  // The four catalog reads at once (each is a connection of its own; one after the other they were the larger part of
  // this step's fixed cost on a busy machine, docs/benchmark.md). The majors are judged first, as before.
  const [src, dst, filterFacts] = await Promise.all([
    serverMajor(config, 'src'),
    serverMajor(config, 'dst'),
    readFilterFacts(query(config.src), query(config.dst)).catch((e: Error) => e),
  ]);
  const majors = { src, dst };
  const refused = pgcopydbRefusal(probe.version, majors.src, majors.dst);
  if (refused) throw new PhaseError(phase, refused, EXIT.usage);
  if (filterFacts instanceof Error) throw filterFacts;
  const filter = pgcopydbFilterPlan(filterFacts, config);
  if (filter.refusal) throw new PhaseError(phase, filter.refusal, EXIT.usage);
  return { bin: probe.bin, version: probe.version.version, features: probe.features, majors, filter };
}

/** The preflight's lines for COPY_ENGINE=pgcopydb (after `pgcopydbFacts` accepted the pair). */
export function pgcopydbPreflightLines(f: PgcopydbFacts): string[] {
  return [
    `pgcopydb ${f.version} (${f.bin}): source ${f.majors.src}, target ${f.majors.dst} supported`,
    ...f.filter.lines,
    PGCOPYDB_NOT_ATOMIC,
  ];
}

/** The target before the copy and, for DST_DROP_SCHEMA, the drop: the restore's drop plan, the source's schemas. */
export async function beforeCopy(config: Config): Promise<BeforeRestore> {
  const opts = { connectTimeoutMs: config.connectTimeoutMs };
  const sourceSchemas = config.dstDropSchema ? await withConnection(config.src!, userSchemas, opts) : [];
  return withConnection(
    config.dst,
    async (c) => {
      const read = await readMarker(c);
      const schemas = await userSchemas(c);
      const extensions = await installedExtensions(c);
      if (!config.dstDropSchema) return { schemas, extensions };
      const marker = read.marker?.xid ? read.marker : undefined;
      const plan = dropPlan({ marker, archiveSchemas: sourceSchemas, targetSchemas: schemas, installed: extensions });
      return { schemas, extensions, plan, dropSql: dropPlanSql(plan), dropLine: describeDropPlan(plan) };
    },
    opts,
  );
}

/** The pgcopydb command for this configuration (pure apart from reading nothing): what the copy and the dry-run show. */
export function copyPlan(
  config: Config,
  workDir: string,
  f: Pick<PgcopydbFacts, 'filter' | 'features'>,
  session: Array<[string, string]>,
): PgcopydbPlan {
  return pgcopydbPlan(config, workDir, { sessionSettings: session, filter: f.filter, features: f.features });
}

/** The drop (DST_DROP_SCHEMA), before pgcopydb writes anything; returns the command line shown. */
async function dropBeforeCopy(ctx: PhaseCtx, before: BeforeRestore): Promise<string | undefined> {
  if (!ctx.config.dstDropSchema || !before.dropSql?.length) return undefined;
  const cmd = psqlCommand(ctx.config, before.dropSql.join(' '));
  ctx.say(`DST_DROP_SCHEMA: ${before.dropLine} (a separate step before pgcopydb: this copy is not atomic)`);
  await psql(cmd, { phase: 'restore', log: ctx.log });
  return displayCommand(cmd);
}

/**
 * COPY_ENGINE=pgcopydb: the copy step that stands for dump + restore (recorded as phase `restore`). Preflight facts
 * again (read-only), the drop, `pgcopydb clone` with the restore's session settings, then the marker — written in a
 * `finally`, so a failed or interrupted copy is recorded and the next DST_DROP_SCHEMA=1 run cleans it. Throws
 * PhaseError (exit 3) when pgcopydb fails, exit 2 when preflight's refusals apply.
 */
export async function pgcopydbStep(ctx: PhaseCtx, kind: MarkerKind = 'rehearsal'): Promise<PhaseOutcome> {
  const { config } = ctx;
  // Read-only, independent of each other: at once (docs/benchmark.md, "where the suite's fixed cost goes").
  const [facts, session, before] = await Promise.all([
    pgcopydbFacts(config, 'restore'),
    restoreSettings(ctx),
    beforeCopy(config),
  ]);
  const commands: string[] = [];
  const drop = await dropBeforeCopy(ctx, before);
  if (drop) commands.push(drop);
  const plan = copyPlan(config, ctx.workDir, facts, session.settings);
  commands.push(displayPgcopydb(plan));
  if (session.settings.length)
    ctx.say(`copy session: ${session.settings.map(([k, v]) => `${k}=${v}`).join(', ')} (target URI options)`);
  let marked: { ok: boolean; note: string } = { ok: false, note: 'the copy did not start' };
  try {
    const r = await runPgcopydb(plan, [config.src!, config.dst], {
      say: ctx.say,
      log: (l) => ctx.log.line(l),
      filtersIni: facts.filter.ini,
      bin: facts.bin,
    });
    marked = await markRestore(ctx, before, kind);
    return {
      reason: `copied by pgcopydb ${facts.version} (${config.copyJobs} table/index jobs, NOT atomic)${before.dropLine ? `, ${before.dropLine} first` : ''} in ${r.durationMs} ms; ${marked.ok ? `marked as a ${kind === 'cutover' ? 'cut-over production' : 'rehearsal copy'}` : `WARNING: ${marked.note}`}`,
      exitCode: 0,
      details: {
        engine: 'pgcopydb',
        mode: 'pgcopydb',
        commands,
        atomic: false,
        excluded: facts.filter.lines,
        sessionSettings: Object.fromEntries(session.settings),
        sessionSettingsWhy: session.why,
        marker: { kind, written: marked.ok, note: marked.note, drop: before.plan },
      },
    };
  } finally {
    if (!marked.ok) await markPartial(ctx, before, kind);
  }
}

/** After a failed or interrupted copy: the marker records what the partial copy created (never throws). */
async function markPartial(ctx: PhaseCtx, before: BeforeRestore, kind: MarkerKind): Promise<void> {
  const m = await markRestore(ctx, before, kind).catch((e: Error) => ({ ok: false, note: e.message }));
  ctx.say(
    m.ok
      ? 'the partial copy is recorded in the restore marker: rerun with DST_DROP_SCHEMA=1 to clean it'
      : `WARNING: the partial copy could not be recorded (${m.note})`,
  );
}

/**
 * ASSETS_ENGINE=fpsync: the mirror step by fpsync (ASSETS_JOBS workers, ASSETS_WORKERS hosts), with the rsync mirror's
 * guards (preflight's ASSETS_DELETE confirmation; only DST_ASSETS_DIR's last component created), its content rule
 * (`mirrorChecksum`: --checksum into a non-empty target) and rsync's exit-code meanings per failed job.
 */
export async function fpsyncStep(ctx: PhaseCtx): Promise<PhaseOutcome> {
  // The same resolved, re-judged DST_ASSETS_DIR as the rsync mirror (lib/phases/mirror-assets.ts): a link swapped
  // after the preflight is refused before fpsync writes or deletes anything.
  const real = await resolvedMirrorTarget(ctx.config);
  const config: Config = { ...ctx.config, dstAssetsDir: real, dstAssetsReal: real };
  if (real !== path.resolve(ctx.config.dstAssetsDir))
    ctx.say(`DST_ASSETS_DIR ${ctx.config.dstAssetsDir} leads to ${real}: mirroring into ${real}`);
  const content = mirrorChecksum(config.assetsMirrorChecksum ?? 'auto', config.dstAssetsDir);
  const plan = fpsyncPlan(config, ctx.workDir, { checksum: content.checksum });
  if (!fs.existsSync(config.dstAssetsDir)) {
    if (!fs.existsSync(path.dirname(real)))
      throw new PhaseError('mirror', `DST_ASSETS_DIR's parent ${path.dirname(real)} does not exist`, EXIT.usage);
    fs.mkdirSync(real);
    ctx.say(`created DST_ASSETS_DIR ${config.dstAssetsDir} (its parent existed; nothing else was created)`);
  }
  // The directory opened once (issue 26, E8): local jobs write (and, with -E, delete) through this process's open
  // descriptor, named /proc/<pid>/fd/<fd>/ (fpsync's jobs are not its children, so not fd 3). Remote workers
  // (ASSETS_WORKERS) reach the tree by its path on their host: only the check at the start applies to them.
  const pin = pinMirrorTarget(real);
  ctx.say(`content check: ${content.why}`);
  const pinned = pinnedFpsyncPlan(plan, pin, config);
  const r = await runFpsync(pinned, real, {
    say: ctx.say,
    log: (l) => ctx.log.line(l),
  })
    .catch((e: unknown) => {
      // A failed job's rsync lines name the descriptor the jobs were given: name the directory it stands for.
      const given = pinned.args[pinned.args.length - 1]!;
      if (e instanceof Error && given !== plan.args[plan.args.length - 1])
        e.message = e.message.split(given).join(`${real}/`);
      throw e;
    })
    .finally(() => pin.close());
  ctx.log.line((await leaveMarker(config.dst, { assetsDir: assetsMarkerValue(config) }, config)).note);
  return {
    reason: `${config.srcAssetsDir} → ${config.dstAssetsDir} by fpsync (${config.assetsJobs} workers${config.assetsWorkers?.length ? ` on ${config.assetsWorkers.join(', ')}` : ''}): ${r.progress.jobsDone ?? '?'} job(s) in ${r.durationMs} ms${config.assetsDelete ? '' : ' (ASSETS_DELETE off)'}; ${content.checksum ? 'content compared (--checksum)' : 'size + mtime quick check'}`,
    exitCode: 0,
    details: { engine: 'fpsync', command: plan.args.join(' ') },
  };
}

/**
 * `plan` with its destination (its last argument) replaced by this process's open descriptor of DST_ASSETS_DIR,
 * `/proc/<pid>/fd/<fd>/`, reachable by the local jobs (same user) while this process holds it; unchanged for remote
 * workers (ASSETS_WORKERS), whose path is on their own host.
 */
export function pinnedFpsyncPlan(plan: FpsyncPlan, pin: Pinned, config: Pick<Config, 'assetsWorkers'>): FpsyncPlan {
  if (config.assetsWorkers?.length) return plan;
  return { ...plan, args: [...plan.args.slice(0, -1), `/proc/${process.pid}/fd/${pin.fd}/`] };
}

/** The dry-run's lines for the COPY_ENGINE=pgcopydb copy (phase restore): the drop, the command (redacted), why. */
export function pgcopydbDryRunLines(config: Config, workDir: string): string[] {
  const plan = pgcopydbPlan(config, workDir, {});
  return [
    `# ${PGCOPYDB_NOT_ATOMIC}`,
    ...(config.dstDropSchema
      ? ['# psql: DST_DROP_SCHEMA drops what the last restore created (its marker), a separate step before pgcopydb']
      : []),
    displayPgcopydb(plan),
    '# PGCOPYDB_TARGET_PGURI gets the restore session settings (chosen from the target at run time) in its options;',
    '# --filters / --skip-extensions are decided by preflight; passwords in the 0600 PGPASSFILE, never in a URI',
    '# then: the restore marker (also after a failed copy, so DST_DROP_SCHEMA=1 cleans it next time)',
  ];
}

/** The dry-run's lines for the ASSETS_ENGINE=fpsync mirror: the command and the content rule. */
export function fpsyncDryRunLines(config: Config, workDir: string): string[] {
  const content = mirrorChecksum(config.assetsMirrorChecksum ?? 'auto', config.dstAssetsDir);
  return [
    `mkdir ${config.dstAssetsDir}   # its last component only`,
    `# content check: ${content.why}`,
    displayFpsync(fpsyncPlan(config, workDir, { checksum: content.checksum })),
  ];
}
