/**
 * Restore phase: pg_restore the archive into the target, all-or-nothing by default, then ANALYZE so the row-count
 * estimates the checks may fall back to are meaningful (since PG14 reltuples = -1 means "never analyzed"). The ANALYZE
 * runs after the commit on RESTORE_ANALYZE_JOBS connections at once (lib/phases/analyze.ts).
 *
 * Modes (lib/tools.ts restoreMode):
 * - single-transaction: pg_restore --single-transaction --exit-on-error; a failure rolls everything back.
 * - single-transaction-with-drop (DST_DROP_SCHEMA=1): the schema drop and the restore run in ONE transaction
 *   (pg_restore renders SQL, psql applies it), so even a failure after the drop leaves the old `public` in place.
 * - parallel (RESTORE_JOBS>1) / plain (RESTORE_SINGLE_TRANSACTION=0): faster, NOT atomic; said loudly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { displayCommand, runCommand, type Command } from '../core/tools.ts';
import { psql, psqlCommand } from './commands.ts';
import {
  pgRestore,
  pgRestoreList,
  pgRestoreViaPsql,
  restoreCommand,
  restoreMode,
  restorePipeline,
} from './restore-commands.ts';
import { PhaseError } from '../core/errors.ts';
import { dropSchemaSetting } from '../core/config.ts';
import {
  Progress,
  byteLine,
  countLine,
  fractionOf,
  phaseWriter,
  restoredTable,
  stdoutIsTty,
  timing,
} from '../core/progress.ts';
import { watchPhaseProgress } from './server-progress.ts';
import { formatBytes, formatDuration } from '../core/format.ts';
import { archiveDigest, tableSizes } from './dump.ts';
import { restoreAppName, withConnection } from '../core/db.ts';
import { watchLockWaits } from './lock-waits.ts';
import {
  chooseRestoreSettings,
  isLocalHost,
  memAvailable,
  pgOptions,
  ServerMessages,
  TARGET_FACTS_SQL,
  type RestoreSettings,
  type TargetFacts,
} from './restore-tuning.ts';
import os from 'node:os';
import type { PhaseCtx, PhaseOutcome } from './phase.ts';
import { extensionsPresentRule } from './privileges.ts';
import type { Config } from '../core/config.ts';
import type { ArchiveFacts, PreflightFacts, RestoreCommands, RestoreOutcome, RestorePlan } from './pipeline.ts';
import { exclusionLines, filterToc, parseTocEntries, useListText, type TocEntry, type TocRule } from './toc-filter.ts';
import {
  detachServersSql,
  isOutwardEntry,
  isolationLines,
  isolationSummary,
  isolationTocRules,
  linksFromSql,
  type OutwardLink,
} from './isolation.ts';
import type { MarkerKind } from './marker.ts';
import { beforeRestore, markRestore } from './restore-marker.ts';
import { analyzeDescription, parallelAnalyze } from './analyze.ts';
import { openPinned, withPinned, type Pinned } from './pinned.ts';

/** What the restore knows about the archive before deciding the rules. */
export interface RestoreFacts {
  /** Foreign servers, user mappings and subscriptions of the archive, with where they point (lib/phases/isolation.ts). */
  links?: OutwardLink[];
}

/**
 * The rules that leave TOC entries out of this restore (lib/phases/toc-filter.ts), decided from the configuration,
 * the preflight's facts and what is known about the archive. Empty: everything in the archive is restored.
 */
export function restoreTocRules(
  config: Config,
  pre: Pick<PreflightFacts, 'extensionsPresent' | 'schemasKept'>,
  facts: RestoreFacts = {},
): TocRule[] {
  const kept = pre.schemasKept ?? [];
  return [
    // superuser-only entries whose effect preflight found already there (lib/phases/privileges.ts)
    ...(pre.extensionsPresent.length || kept.length ? [extensionsPresentRule(pre.extensionsPresent, kept)] : []),
    // staging isolation: links that point away from the target (lib/phases/isolation.ts)
    ...isolationTocRules(config, facts.links ?? []),
  ];
}

/**
 * The archive's outward links: its SERVER / USER MAPPING / SUBSCRIPTION entries rendered as SQL (`pg_restore
 * --use-list=<only those> --file=-`, a few lines whatever the archive's size) and parsed. The rendered SQL holds
 * passwords: it is never logged, and every password found is registered with the redactor.
 */
export async function archiveLinks(
  ctx: PhaseCtx,
  archive: string,
  listText: string,
  entries: readonly TocEntry[],
  pin?: Pinned,
): Promise<OutwardLink[]> {
  const ids = new Set(entries.filter(isOutwardEntry).map((e) => e.dumpId));
  if (ids.size === 0) return [];
  const only = path.join(ctx.workDir, 'restore.links.list');
  fs.writeFileSync(
    only,
    listText
      .split('\n')
      .filter((l) => {
        const m = /^\s*(\d+);/.exec(l);
        return m && ids.has(Number(m[1]));
      })
      .join('\n') + '\n',
    { mode: 0o600 },
  );
  let sql = '';
  const r = await runCommand(
    withPinned({ tool: 'pg_restore', args: [`--use-list=${only}`, '--file=-', archive], env: {} }, pin),
    { phase: 'restore', log: ctx.log, notInLog: () => true, onStdout: (line) => (sql += line + '\n') },
  );
  fs.rmSync(only, { force: true });
  if (r.code !== 0)
    throw new PhaseError(
      'restore',
      `could not read the archive's foreign servers / subscriptions (pg_restore exit ${r.code}): ${r.stderrTail.join(' | ')}`,
    );
  return linksFromSql(sql, ctx.config.dst, ctx.config.src);
}

/**
 * Decide the TOC entries to leave out; when there are any, write the `--use-list` file into WORK_DIR (0600) and
 * return its path with the lines that say what was left out and why. Nothing is left out: no file, no lines.
 * Also returns the archive's outward links (lib/phases/isolation.ts), which the restore neutralises. With `pin` (the
 * archive opened once, pinArchive), `archive` is its child path `/proc/self/fd/3` and the tools read that open file.
 */
export async function prepareUseList(
  ctx: PhaseCtx,
  archive: string,
  pre: Pick<PreflightFacts, 'extensionsPresent' | 'schemasKept'>,
  pin?: Pinned,
): Promise<{ useList?: string; excluded: string[]; links: OutwardLink[] }> {
  const fds = pin ? [pin.fd] : undefined;
  const { toc } = await pgRestoreList(archive, { phase: 'restore', log: ctx.log, fds, shownAs: pin?.path });
  const entries = parseTocEntries(toc);
  const links = await archiveLinks(ctx, archive, toc, entries, pin);
  for (const line of isolationLines(ctx.config, links)) ctx.say(line);
  const rules = restoreTocRules(ctx.config, pre, { links });
  if (rules.length === 0) return { excluded: [], links };
  const excluded = filterToc(entries, rules);
  if (excluded.length === 0) return { excluded: [], links };
  const useList = path.join(ctx.workDir, 'restore.use-list');
  fs.writeFileSync(useList, useListText(toc, excluded), { mode: 0o600 });
  const lines = exclusionLines(excluded);
  for (const line of lines) ctx.say(line);
  return { useList, excluded: lines, links };
}

/** Read the target's TargetFacts with the restore's own credentials (database and role settings apply). */
export async function readTargetFacts(ctx: PhaseCtx): Promise<TargetFacts> {
  const { config } = ctx;
  const r = await withConnection(
    config.dst,
    async (c) => (await c.query<{ mwm: string; ecs: string; mpmw: number; mpw: number }>(TARGET_FACTS_SQL)).rows[0],
    { connectTimeoutMs: config.connectTimeoutMs },
  );
  const local = isLocalHost(config.dst);
  return {
    maintenanceWorkMem: Number(r.mwm),
    effectiveCacheSize: Number(r.ecs),
    maxParallelMaintenanceWorkers: r.mpmw,
    maxParallelWorkers: r.mpw,
    local,
    ...(local ? { memAvailable: memAvailable(), cores: os.cpus().length } : {}),
  };
}

/** The restore session's settings; when the target cannot be asked, none (the raw behaviour), said in the log. */
export async function restoreSettings(ctx: PhaseCtx): Promise<RestoreSettings> {
  if (ctx.config.restoreMaintenanceWorkMem === 'off') return chooseRestoreSettings({} as TargetFacts, ctx.config);
  try {
    return chooseRestoreSettings(await readTargetFacts(ctx), ctx.config);
  } catch (e) {
    return {
      settings: [],
      why: [`session settings not tuned: could not read the target's settings (${(e as Error).message})`],
    };
  }
}

/**
 * A restore that fails on `ALTER … SET (<option>)` with "unrecognized parameter" ran SQL that a pg_dump wrote for an
 * option this target does not know: typically a pg_dump older (as a release) than the source server, dumping a
 * per-column option it should not have (seen: pg_dump 17.11 against a 15.20 source). Say so, with the versions.
 */
export function versionHint(message: string, tools: Record<string, string>): string | undefined {
  if (!/unrecognized parameter "[^"]*"/.test(message)) return undefined;
  const dump = tools.pg_dump ? `pg_dump ${tools.pg_dump}` : 'pg_dump';
  const srcVersion = /\d+(?:\.\d+)+/.exec(tools['source server'] ?? '')?.[0];
  const src = srcVersion ? ` against a ${srcVersion} source` : '';
  return `hint: the archive sets an option the target does not know; ${dump}${src} is probably an older release than the source server and dumped an option it should not have: dump with client tools of the source's own major and latest minor (SRC_PG_BIN_DIR=/usr/lib/postgresql/<source major>/bin)`;
}

function withVersionHint(ctx: PhaseCtx) {
  return (e: unknown): never => {
    const hint = e instanceof Error ? versionHint(e.message, ctx.state.tools) : undefined;
    if (hint && e instanceof Error) {
      ctx.say(hint);
      e.message += `\n  ${hint}`;
    }
    throw e;
  };
}

/**
 * Open the archive ONCE and prove that open file is the one the dump phase hashed (issue 26: another local user
 * swapping `source.dump` between dump and restore; attack E7: the owner of WORK_DIR's parent renaming the run's
 * directory away after a check by name and putting her own archive in its place). The archive is opened without
 * following a symbolic link (O_NOFOLLOW; a directory-format archive with O_DIRECTORY), hashed through that descriptor
 * (`/proc/self/fd/<fd>`), and every later read — `pg_restore --list`, the links' rendering, the restore itself, its
 * `-j` workers — goes through the same descriptor (lib/phases/pinned.ts), so what was hashed is what is restored. A
 * directory archive's files are read by name inside the pinned directory: only whoever can write that directory (the
 * run's own 0700 WORK_DIR, or the operator's SRC_DB_DUMP_PATH) can change them.
 * @throws PhaseError (exit 3) when the archive cannot be opened as what it was, or its sha256 differs; naming both.
 */
export async function pinArchive(d: ArchiveFacts): Promise<Pinned> {
  const refuse = (why: string) =>
    new PhaseError(
      'restore',
      `the archive ${d.path} ${why}: refusing to restore it; check who else can write WORK_DIR (and its parent directories) and run again`,
    );
  let pin: Pinned;
  try {
    // SRC_DB_DUMP_PATH is the operator's path (a link to the latest dump is common): followed, then held open.
    pin = openPinned(d.path, d.format === 'custom' ? 'file' : 'directory', { followLinks: d.provided });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw refuse(
      `cannot be opened as the ${d.format === 'custom' ? 'file' : 'directory'} the dump phase recorded (${err.code === 'ELOOP' || fs.lstatSync(d.path, { throwIfNoEntry: false })?.isSymbolicLink() ? 'it is a symbolic link now' : (err.code ?? err.message)})`,
    );
  }
  if (!d.sha256) return pin;
  const now = await archiveDigest(pin.here, d.format).catch((e: Error) => ({ sha256: `unreadable (${e.message})` }));
  if (now.sha256 !== d.sha256) {
    pin.close();
    throw refuse(
      `changed since the dump phase hashed it (sha256 ${d.sha256.slice(0, 16)}… then, ${now.sha256.slice(0, 16)}… now)`,
    );
  }
  return pin;
}

/**
 * The archive is still the one the dump phase hashed (pinArchive, its descriptor closed again). Undefined archive or
 * no recorded sha256: nothing to prove. A mismatch fails the phase (exit 3) naming both hashes.
 */
export async function verifyArchive(d: ArchiveFacts | undefined): Promise<void> {
  if (!d?.sha256) return;
  (await pinArchive(d)).close();
}

/**
 * A loud warning when the restore would run as a superuser (no RESTORE_ROLE): an index expression, a generated column
 * or a default in the archive calling a function that runs `COPY … TO PROGRAM` executes as the server's OS user on
 * staging (the class of CVE-2024-7348). Undefined when RESTORE_ROLE is set, the role is not a superuser, or the
 * question cannot be asked.
 */
export async function superuserWarning(config: PhaseCtx['config']): Promise<string | undefined> {
  if (config.restoreRole) return undefined;
  const superuser = await withConnection(
    config.dst,
    async (c) =>
      (await c.query(`SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user`)).rows[0]?.rolsuper ===
      true,
    { connectTimeoutMs: config.connectTimeoutMs },
  ).catch(() => false);
  return superuser
    ? `WARNING: the restore runs as a SUPERUSER (${config.dst.user ?? 'the target role'}): code in the archive (index expressions, generated columns, defaults) runs with superuser powers and can execute programs as the server's OS user (CVE-2024-7348 class); restore as a non-superuser owner role, or set RESTORE_ROLE=<non-superuser role> to SET ROLE to it for the restore`
    : undefined;
}

export const NOT_ATOMIC_WARNING =
  'WARNING: this restore is NOT atomic (RESTORE_JOBS>1 or RESTORE_SINGLE_TRANSACTION=0): if it fails, the target is left PARTIALLY restored';

/**
 * Plan the restore of `archive` (the dump step's, state.dump) into DST_DATABASE_URL from the preflight's facts: the
 * mode (restoreMode), the TOC entries left out (`--use-list`), the outward links, the session settings and the exact
 * commands. Reads the archive's TOC and the target's settings; writes only the `--use-list` file in WORK_DIR. Every
 * caller (rehearsal, cutover) restores through this plan. Throws PhaseError when no archive was recorded.
 */
export async function planRestore(
  ctx: PhaseCtx,
  archive: ArchiveFacts | undefined,
  pre: Pick<PreflightFacts, 'extensionsPresent' | 'schemasKept'>,
): Promise<RestorePlan> {
  const { config } = ctx;
  if (!archive)
    throw new PhaseError('restore', 'no archive to restore (the dump phase recorded none); see the dump phase');
  // From here on the archive is read only through this descriptor (closed by runRestore, or here on a failure).
  const pin = await pinArchive(archive);
  try {
    return await planPinned(ctx, archive, pre, pin);
  } catch (e) {
    pin.close();
    throw e;
  }
}

/** planRestore with the archive opened once (`pin`): every tool reads `pin.child`, the archive's open descriptor. */
async function planPinned(
  ctx: PhaseCtx,
  archive: ArchiveFacts,
  pre: Pick<PreflightFacts, 'extensionsPresent' | 'schemasKept'>,
  pin: Pinned,
): Promise<RestorePlan> {
  const { config } = ctx;
  const mode = restoreMode(config);
  const tuned = await restoreSettings(ctx);
  // RESTORE_ROLE: the restore session switches to it at connect (SET ROLE), so archive code runs without superuser.
  const session: RestoreSettings = config.restoreRole
    ? { ...tuned, settings: [...tuned.settings, ['role', config.restoreRole]] }
    : tuned;
  const superuser = await superuserWarning(config);
  // The restore's backends carry this application_name, so the lock-wait watcher can find them.
  // Run-unique even when the DSN sets its own application_name (lib/core/db.ts restoreAppName).
  const appName = restoreAppName(config.dst.params.application_name, ctx.state.runId);
  const { useList, excluded, links } = await prepareUseList(ctx, pin.child, pre, pin);
  // What DST_DROP_SCHEMA removes: what the previous restore created (its marker), never a DBA's extension.
  const target = await beforeRestore(ctx, pin.child, [pin.fd]);
  const dropSql = target.dropSql ?? [];
  return {
    archive,
    mode,
    useList,
    excluded,
    links,
    session,
    appName,
    target,
    superuserWarning: superuser,
    pinned: pin,
    commands: restoreCommands(config, pin, mode, useList, session, appName, dropSql),
  };
}

/** The restore's commands for `mode`, with the session settings (PGOPTIONS) and PGAPPNAME in their environment. */
function restoreCommands(
  config: Config,
  pin: Pinned,
  mode: RestorePlan['mode'],
  useList: string | undefined,
  session: RestoreSettings,
  appName: string,
  dropSql: string[],
): RestoreCommands {
  const withSettings = <C extends { env: Record<string, string> }>(c: C): C => {
    const opts = pgOptions(session.settings, c.env.PGOPTIONS);
    const env = { ...c.env, PGAPPNAME: appName };
    return { ...c, env: opts ? { ...env, PGOPTIONS: opts } : env };
  };
  if (mode === 'single-transaction-with-drop') {
    const { render, apply } = restorePipeline(config, pin.child, useList);
    return { kind: 'pipeline', render: withPinned(render, pin), apply: withSettings(apply), dropSql };
  }
  let drop: Command | undefined;
  if (config.dstDropSchema) {
    const plainDrop = psqlCommand(config, dropSql.join(' '));
    drop = { ...plainDrop, env: { ...plainDrop.env, PGAPPNAME: appName } };
  }
  return {
    kind: 'pg_restore',
    drop,
    restore: withPinned(withSettings(restoreCommand(config, pin.child, useList)), pin),
  };
}

/** The restore's progress: byte progress from the source tables' sizes, else the table count against the TOC. */
async function restoreProgress(ctx: PhaseCtx, total: number | undefined) {
  const sizes = await tableSizes(ctx.config);
  const totalBytes = sizes ? [...sizes.values()].reduce((a, b) => a + b, 0) : undefined;
  const t0 = Date.now();
  let doneBytes = 0;
  let done = 0;
  let current: string | undefined;
  const value = (d: number, t = total) => ({ done: d, total: t, doneBytes, totalBytes, elapsedMs: Date.now() - t0 });
  const progress = new Progress<ReturnType<typeof value>>({
    format: restoreProgressLine,
    fraction: (v) => (v.totalBytes ? fractionOf(v.doneBytes, v.totalBytes) : fractionOf(v.done, v.total)),
    writer: phaseWriter(ctx.say, '[restore] '),
    tty: stdoutIsTty(),
  });
  return {
    start: () => progress.start(value(done)),
    /** A line of pg_restore --verbose: a table counts as restored when pg_restore moves to the next one. */
    line: (line: string) => {
      const table = restoredTable(line);
      if (table === undefined) return;
      if (current !== undefined) doneBytes += sizes?.get(current) ?? 0;
      current = table;
      done++;
      progress.update(value(done, total === undefined ? undefined : Math.max(total, done)));
    },
    finish: () => {
      doneBytes = totalBytes ?? 0;
      progress.finish(value(done, Math.max(total ?? 0, done)));
    },
  };
}

/** Say what the plan will do before it writes (session settings, non-atomic warning, tablespaces). */
function announcePlan(ctx: PhaseCtx, plan: RestorePlan): void {
  const { config } = ctx;
  for (const line of plan.session.why) ctx.log.line(`restore session: ${line}`);
  if (plan.session.settings.length)
    ctx.say(
      `restore session: ${plan.session.settings.map(([k, v]) => `${k}=${v}`).join(', ')} (PGOPTIONS of the restore only)`,
    );
  if (plan.superuserWarning) ctx.say(plan.superuserWarning);
  if (plan.mode === 'parallel' || plan.mode === 'plain') ctx.say(NOT_ATOMIC_WARNING);
  if (config.restoreNoTablespaces)
    ctx.say(
      "RESTORE_NO_TABLESPACES=1: pg_restore --no-tablespaces (every object goes to the target's default tablespace)",
    );
}

/** Run the plan's commands (with the lock-wait watcher); returns the tool's exit code. */
async function applyRestore(
  ctx: PhaseCtx,
  plan: RestorePlan,
  commands: string[],
  tool: { phase: 'restore'; log: PhaseCtx['log']; progress: (line: string) => void },
  startProgress: () => void,
): Promise<number> {
  const { config } = ctx;
  const archive = plan.archive.path;
  const c = plan.commands;
  const stopWatching = watchLockWaits(config, plan.appName, (line) => ctx.say(line));
  try {
    if (c.kind === 'pipeline') {
      commands.push(`${displayCommand(c.render)} | ${displayCommand(c.apply)}`);
      ctx.say(`${dropSchemaSetting(config)}: ${plan.target.dropLine}, then restores ${archive}, in one transaction`);
      startProgress();
      return (await pgRestoreViaPsql(c.render, c.apply, c.dropSql, plan.mode, tool).catch(withVersionHint(ctx))).code;
    }
    if (c.drop) {
      commands.push(displayCommand(c.drop));
      ctx.say(
        `${dropSchemaSetting(config)}: ${plan.target.dropLine} (a separate step: this restore mode is not atomic)`,
      );
      await psql(c.drop, { phase: 'restore', log: ctx.log });
    }
    commands.push(displayCommand(c.restore));
    ctx.say(
      `pg_restore (${plan.mode}${plan.mode === 'parallel' ? `, ${config.restoreJobs} jobs` : ''}) ${archive}${plan.pinned ? ` (opened once and hashed: read as ${plan.pinned.child})` : ''}`,
    );
    startProgress();
    return (await pgRestore(c.restore, plan.mode, tool).catch(withVersionHint(ctx))).code;
  } finally {
    stopWatching();
  }
}

/** After the commit: detach outward servers, the server's messages, ANALYZE and the marker. */
async function afterRestore(
  ctx: PhaseCtx,
  plan: RestorePlan,
  commands: string[],
  messages: ServerMessages,
  kind: MarkerKind,
) {
  const { config } = ctx;
  const analyzeTool = { phase: 'restore' as const, log: ctx.log };
  // Foreign servers leading away from the target are restored (foreign tables depend on them), then pointed nowhere.
  const detach = detachServersSql(config, plan.links);
  if (detach.length) {
    const cmd = psqlCommand(config, detach.join(' '));
    commands.push(displayCommand(cmd));
    ctx.say(`ISOLATION: ${detach.join(' ')}`);
    await psql(cmd, analyzeTool);
  }
  for (const m of messages.all)
    ctx.log.line(
      `server ${m.severity}: ${m.message}${m.detail ? ` DETAIL: ${m.detail}` : ''}${m.hint ? ` HINT: ${m.hint}` : ''}`,
    );
  const serverHints = messages.hints();
  for (const h of serverHints) ctx.say(`server said: ${h}`);
  // After the commit: statistics only, on several connections at once (lib/phases/analyze.ts).
  const analyzed = await parallelAnalyze(
    config.dst,
    config.restoreAnalyzeJobs,
    { local: isLocalHost(config.dst), cores: os.cpus().length, checkConcurrency: config.checkConcurrency },
    { connectTimeoutMs: config.connectTimeoutMs, log: (l) => ctx.log.line(l) },
  ).catch((e: Error) => {
    throw new PhaseError('restore', `the restore committed, but ${e.message}`);
  });
  commands.push(analyzeDescription(analyzed.relations, analyzed.jobs));
  ctx.log.line(
    `ANALYZE: ${analyzed.relations} relation(s) on ${analyzed.why}, largest first, in ${analyzed.ms} ms (what a database-wide ANALYZE processes)`,
  );
  // Record what this restore created (DST_DROP_SCHEMA=1 removes exactly that next time, for a rehearsal copy).
  const marked = await markRestore(ctx, plan.target, kind);
  if (marked.ok) ctx.log.line(marked.note);
  else ctx.say(`WARNING: ${marked.note}`);
  return { analyzed, serverHints, marked };
}

/**
 * The restore phase: run `plan` (planRestore) — the archive into DST_DATABASE_URL, in the plan's mode (single
 * transaction, with DST_DROP_SCHEMA inside the same transaction, or parallel/plain, NOT atomic, said in the log),
 * the entries it leaves out via `--use-list` — then ANALYZE. Throws PhaseError when the tool fails (pg_restore's
 * "errors ignored on restore" counts as a failure: by default pg_restore continues past errors and exits 1).
 */
export async function runRestore(
  ctx: PhaseCtx,
  plan: RestorePlan,
  opts: { kind?: MarkerKind } = {},
): Promise<RestoreOutcome> {
  const kind = opts.kind ?? 'rehearsal';
  try {
    return await runPlanned(ctx, plan, kind);
  } finally {
    plan.pinned?.close();
  }
}

/** runRestore once the plan holds the archive open (planRestore): the restore, then what follows its commit. */
async function runPlanned(ctx: PhaseCtx, plan: RestorePlan, kind: MarkerKind): Promise<RestoreOutcome> {
  const { config } = ctx;
  const { archive, mode, links, session } = plan;
  const commands: string[] = [];
  // The total is the archive's TABLE DATA entries, counted by the dump phase (or preflight, for SRC_DB_DUMP_PATH).
  const progress = await restoreProgress(ctx, archive.toc?.['TABLE DATA']);
  announcePlan(ctx, plan);
  const messages = new ServerMessages();
  const tool = {
    phase: 'restore' as const,
    log: ctx.log,
    progress: (line: string) => {
      messages.line(line);
      progress.line(line);
      server.line(line);
    },
  };
  // Rows inside each table and every index build, as the target reports them (lib/phases/server-progress.ts).
  const server = await watchPhaseProgress(ctx, 'restore', plan.appName);
  const exitCode = await applyRestore(ctx, plan, commands, tool, progress.start).finally(server.stop);
  progress.finish();
  const { analyzed, serverHints, marked } = await afterRestore(ctx, plan, commands, messages, kind);
  return {
    reason: `${plan.superuserWarning ? `${plan.superuserWarning}; ` : ''}restored ${archive.path} (${mode}${mode === 'parallel' ? `, ${config.restoreJobs} jobs, NOT atomic` : ''}${config.dstDropSchema ? `, ${plan.target.dropLine} first` : ''}${config.restoreNoTablespaces ? ', without tablespaces' : ''}) and analyzed the target${isolationSummary(config, links)}${marked.ok ? `; marked as a ${kind === 'cutover' ? 'cut-over production' : 'rehearsal copy'}` : `; WARNING: ${marked.note}`}`,
    exitCode,
    details: {
      mode,
      commands,
      atomic: mode.startsWith('single-transaction'),
      excluded: plan.excluded,
      isolation: isolationLines(config, links),
      noTablespaces: config.restoreNoTablespaces || undefined,
      sessionSettings: Object.fromEntries(session.settings),
      sessionSettingsWhy: session.why,
      analyze: { relations: analyzed.relations, jobs: analyzed.jobs, ms: analyzed.ms },
      marker: { kind, written: marked.ok, note: marked.note, drop: plan.target.plan },
      serverMessages: messages.all.length,
      serverHints,
    },
  };
}

/**
 * One restore progress line: `45.2 MiB of 183.2 MiB source table data (24%), 15.0 MiB/s, elapsed 3.0 s, ETA 9.4 s;
 * 3/8 tables restored`; without the source's sizes, `3/8 tables restored (37%), elapsed 3.0 s, ETA 5.0 s`.
 */
export function restoreProgressLine(v: {
  done: number;
  total?: number;
  doneBytes: number;
  totalBytes?: number;
  elapsedMs: number;
}): string {
  const count = countLine(v.done, v.total, 'tables restored');
  if (v.totalBytes === undefined) return `${count}, ${timing(fractionOf(v.done, v.total), v.elapsedMs)}`;
  return `${byteLine({ bytes: v.doneBytes, total: v.totalBytes, of: 'source table data', elapsedMs: v.elapsedMs }, formatBytes, formatDuration)}; ${count}`;
}
