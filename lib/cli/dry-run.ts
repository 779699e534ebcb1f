/**
 * The dry-run plan (`rehearse --dry-run`): in order, the exact commands the copy phases would run (the same builders
 * the phases use, redacted), the preflight verdict (read-only), and the checks that would run (read-only discovery).
 * It writes nothing: no WORK_DIR, no report folder, no database write, no file transfer.
 */
import type { Config } from '../core/config.ts';
import { COPY_ENGINE_DUMP_SKIP, phaseSchedule, plannedPhases } from '../phases/phase-schedule.ts';
import { closePools } from '../core/db.ts';
import { assetColumnsInSource, discoverPlan } from '../checks/shared/discovery.ts';
import { FAMILIES } from '../checks/registry.ts';
import { mirrorChecksum } from '../phases/mirror-assets.ts';
import { describeDsn } from '../core/dsn.ts';
import { redact } from '../core/redact.ts';
import type { CheckPlan } from '../core/state.ts';
import { displayCommand } from '../core/tools.ts';
import { dumpCommand, dumpOutputPath, listCommand, psqlCommand, rsyncCommand } from '../phases/commands.ts';
import { restoreCommand, restoreMode, restorePipeline } from '../phases/restore-commands.ts';

/** What a DST_DROP_SCHEMA restore drops, decided at run time from the target's marker (lib/phases/marker.ts). */
const DROP_LINE =
  "drop what the last restore created (the marker's schemas and extensions; a DBA's extension is kept) — or, with DST_DROP_SCHEMA=<dbname>, public and the archive's schemas";
import { preflightStep } from '../phases/pipeline.ts';
import { fpsyncDryRunLines, pgcopydbDryRunLines } from '../phases/engines/steps.ts';
import { NOT_ATOMIC_WARNING } from '../phases/restore.ts';
import { analyzeDescription } from '../phases/analyze.ts';

export interface DryRunPlan {
  lines: string[];
  /** The preflight would refuse this configuration (the real run would exit 2). */
  refused: boolean;
}

/** The copy-phase commands, in order, as they would run (`{ phase: 'dump', lines: [...] }`), redaction left to the caller. */
export function phaseCommands(config: Config, workDir: string): Array<{ phase: string; lines: string[] }> {
  const planned = plannedPhases(config);
  const out: Array<{ phase: string; lines: string[] }> = [];
  const archive = config.dumpPath ?? dumpOutputPath(workDir, config.dumpFormat);
  if (config.copyEngine === 'pgcopydb' && planned.restore) {
    out.push({ phase: 'dump', lines: [`# skipped: ${COPY_ENGINE_DUMP_SKIP}`] });
    out.push({ phase: 'restore', lines: pgcopydbDryRunLines(config, workDir) });
  } else if (planned.dump) {
    out.push({
      phase: 'dump',
      lines: [
        displayCommand(dumpCommand(config, `${archive}.partial`)),
        `mv ${archive}.partial ${archive}`,
        displayCommand(listCommand(archive)) + '   # TOC summary; sha256 of the archive',
      ],
    });
  } else if (config.dumpPath) {
    out.push({
      phase: 'dump',
      lines: [
        `# existing dump SRC_DB_DUMP_PATH, validated read-only in preflight (TOC, then every byte), not dumped again`,
        displayCommand(listCommand(archive)),
        `pg_restore --file=/dev/null ${archive}`,
      ],
    });
  }
  if (planned.restore && config.copyEngine !== 'pgcopydb') {
    const mode = restoreMode(config);
    const lines: string[] = [];
    if (mode === 'parallel' || mode === 'plain') lines.push(`# ${NOT_ATOMIC_WARNING}`);
    if (mode === 'single-transaction-with-drop') {
      const { render, apply } = restorePipeline(config, archive);
      lines.push(`# one transaction: BEGIN; ${DROP_LINE}; <archive as SQL>; COMMIT only if pg_restore succeeded`);
      lines.push(`${displayCommand(render)} | ${displayCommand(apply)}`);
    } else {
      if (config.dstDropSchema) lines.push(`# psql: ${DROP_LINE} (a separate step)`);
      lines.push(displayCommand(restoreCommand(config, archive)));
    }
    lines.push(analyzeDescription(undefined, config.restoreAnalyzeJobs));
    lines.push(
      config.isolation === 'keep'
        ? '# ISOLATION=keep: foreign servers, user mappings and subscriptions are restored as they are, even those pointing at the source'
        : '# ISOLATION=detach: user mappings and subscriptions pointing away from the target are left out (--use-list), such foreign servers pointed at rehearsal-isolated.invalid',
    );
    out.push({ phase: 'restore', lines });
  }
  if (planned.mirror && config.assetsEngine === 'fpsync') {
    out.push({ phase: 'mirror', lines: fpsyncDryRunLines(config, workDir) });
  } else if (planned.mirror) {
    const content = mirrorChecksum(config.assetsMirrorChecksum, config.dstAssetsDir);
    out.push({
      phase: 'mirror',
      lines: [
        `mkdir -p ${config.dstAssetsDir}`,
        `# content check: ${content.why}`,
        displayCommand(rsyncCommand(config, { checksum: content.checksum })),
      ],
    });
  }
  return out;
}

/**
 * The checks that would run, every family of the registry (lib/checks/registry.ts) in its order: a header per family
 * (`row counts [row-counts]: 5 tables, from source`), then its checks as the spec names them, from a discovered plan.
 */
export function checkLines(
  config: Config,
  plan: CheckPlan,
  opts: { restoring: boolean; restoreCreates?: ReadonlySet<string> },
): string[] {
  const lines: string[] = [];
  const schedule = phaseSchedule(config);
  for (const f of FAMILIES) {
    const p = f.planLines({ config, plan, schedule, restoring: opts.restoring, restoreCreates: opts.restoreCreates });
    lines.push(`  ${f.label} [${f.id}]: ${p.head}`);
    for (const c of p.checks) lines.push(`    ${c}`);
  }
  return lines;
}

/**
 * The whole dry-run: the redacted configuration summary, the copy phases with their exact commands (preflight is run
 * read-only to say whether it would pass), and the checks per family. Writes nothing; closes its pools. Never throws
 * for an unreachable database: discovery problems become lines of the plan.
 */
export async function buildDryRunPlan(
  config: Config,
  opts: { mode: 'full' | 'verify-only' } = { mode: 'full' },
): Promise<DryRunPlan> {
  const workDir = config.workDir ?? '$WORK_DIR';
  const lines: string[] = [
    'DRY RUN (plan mode): nothing is written — no WORK_DIR files, no reports, no database writes, no file transfer.',
    `target:   ${describeDsn(config.dst)}   assets: ${config.dstAssetsDir}`,
    `source:   ${config.src ? describeDsn(config.src) : '(no SRC_DATABASE_URL)'}   assets: ${config.srcAssetsDir ?? '(no SRC_ASSETS_DIR: no mirror)'}`,
    `WORK_DIR: ${config.workDir ?? '(unset: a fresh temp dir would be created and printed; shown as $WORK_DIR)'}`,
    '',
  ];
  let refused = false;
  if (opts.mode === 'full') {
    lines.push(
      'Copy phases, in order (commands exactly as they would run; the password goes through PGPASSWORD, shown as ***):',
    );
    lines.push('  1. preflight (read-only; run now):');
    try {
      const { outcome: r } = await preflightStep(config, {
        say: (l) => {
          if (/^(DST_DROP_SCHEMA|ASSETS_DELETE|  )/.test(l)) lines.push(`     ${l}`);
        },
      });
      lines.push(`     would pass: ${r.reason}`);
    } catch (e) {
      refused = true;
      lines.push(`     WOULD REFUSE (exit 2): ${redact((e as Error).message).replace(/^preflight: /, '')}`);
    }
    let n = 2;
    for (const p of phaseCommands(config, workDir)) {
      lines.push(`  ${n++}. ${p.phase}:`);
      for (const l of p.lines) lines.push(`     ${l}`);
    }
    if (!plannedPhases(config).mirror) lines.push(`  ${n}. mirror: skipped (SRC_ASSETS_DIR is not set)`);
  } else {
    lines.push('Copy phases: none (--verify-only)');
  }
  lines.push('', 'Checks that would run, by family (discovered read-only, now; exact names of every check: --list):');
  try {
    const plan = await discoverPlan(config, { seed: config.assetsSampleSeed ?? '(the run id)' });
    const restoring = opts.mode === 'full' && plannedPhases(config).restore;
    // Only columns the source has come with the restore (an empty source creates none: the run skips them).
    const restoreCreates = restoring ? await assetColumnsInSource(config, plan) : undefined;
    lines.push(...checkLines(config, plan, { restoring, restoreCreates }));
  } catch (e) {
    lines.push(`  could not discover the checks: ${redact((e as Error).message)}`);
    lines.push('  (the real run would report this as the failing test "check discovery")');
  } finally {
    await closePools();
  }
  return { lines: lines.map(redact), refused };
}
