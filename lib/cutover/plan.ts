/**
 * `npm run cutover -- --plan`: the ordered phases with the commands they run (redacted), where the cutover stands
 * (from the log, if there is one), the rehearsal gate, the downtime estimate and what --rollback would do now.
 * It writes nothing and connects to nothing (scripts/cutover.ts then adds the read-only target checks, readiness.ts).
 */
import path from 'node:path';
import { describeDsn } from '../core/dsn.ts';
import { phaseCommands } from '../cli/dry-run.ts';
import { redact } from '../core/redact.ts';
import type { CutoverConfig } from './config.ts';
import { estimateLines, findGreenRehearsal, windowEstimate } from './estimate.ts';
import { findRehearsal, judgeRehearsal } from './gate.ts';
import { displayHook, missingHooks } from './hooks.ts';
import { currentAttempt, lastOf, logPath, type LogEntry } from './log.ts';
import { PHASES, PHASE_NAMES, orderProblem, phaseCommand, rollbackPlan } from './phases.ts';
import { gateTime, verifyDirs } from './run.ts';

/**
 * The `--plan` lines (redacted): where the cutover stands, the rehearsal gate and estimate, every phase with its
 * commands and status, the next step, missing hooks and what a rollback would do now. Pure apart from reading the
 * rehearsal manifests.
 */
export function buildCutoverPlan(config: CutoverConfig, entries: LogEntry[], now: Date): string[] {
  const base = config.base;
  const lines: string[] = [
    'CUTOVER PLAN: nothing is written (no WORK_DIR file, no database change, no hook); the target readiness at the end is read-only.',
    `source: ${describeDsn(base.src!)}   assets: ${base.srcAssetsDir}`,
    `target: ${describeDsn(base.dst)}   assets: ${base.dstAssetsDir}`,
    `log:    ${logPath(config.workDir)} (${entries.length ? `${entries.length} entries` : 'none yet'})`,
    '',
  ];

  const found = findRehearsal(base.reportsDir);
  const verdict = judgeRehearsal(found, base.src!, config.maxRehearsalAgeDays, gateTime(entries, now), base.reportsDir);
  lines.push(`Rehearsal gate: ${verdict.ok ? 'PASSES' : 'WOULD REFUSE the writing phases'}: ${verdict.message}`);
  const green = findGreenRehearsal(base.reportsDir);
  if (green) lines.push(...estimateLines(windowEstimate(green.manifest, entries), green.manifest.runId));
  else lines.push('Downtime estimate: none (no green full rehearsal to take the phase timings from)');
  lines.push('');

  const commands = phaseCommandLines(config);
  lines.push(...phaseLines(entries, commands));
  const missing = missingHooks(config, [
    'maintenanceOn',
    'stopWorkers',
    'drainCheck',
    'switch',
    'switchBack',
    'startWorkers',
    'maintenanceOff',
  ]);
  if (missing.length) lines.push(`Hooks not configured (the phases that need them will refuse): ${missing.join(', ')}`);
  const rb = rollbackPlan(entries);
  lines.push(
    `Rollback now (npm run cutover -- --rollback --confirm): ${rb.kind === 'hooks' ? `${rb.message}${rb.hooks.length ? ` [${rb.hooks.map((h) => displayHook(config, h)).join('; ')}]` : ''}` : rb.message}`,
  );
  return lines.map(redact);
}

/** The commands (redacted later) each phase runs, one list per phase: the copy phases' from the dry-run planner. */
function phaseCommandLines(config: CutoverConfig): Record<string, string[]> {
  const base = config.base;
  const archive = path.join(config.workDir, base.dumpFormat === 'custom' ? 'source.dump' : 'source.dump.d');
  const copy = Object.fromEntries(phaseCommands(base, config.workDir).map((p) => [p.phase, p.lines]));
  const vd = verifyDirs(config.workDir);
  const commands: Record<string, string[]> = {
    presync: ['# preflight (assets, read-only)', ...(copy.mirror ?? [])],
    freeze: PHASES.freeze.hooks.map((h) => displayHook(config, h)),
    'freeze-check': [
      `# other client sessions on the source database (pg_stat_activity), none allowed${config.freezeIgnoreApps.length ? ` except application_name ${config.freezeIgnoreApps.join(', ')}` : ''}`,
      displayHook(config, 'drainCheck'),
    ],
    dump: ['# preflight (read-only)', ...(copy.dump ?? [])],
    restore: [
      `# the archive must still have the sha256 the dump phase recorded (${archive}); preflight (read-only)`,
      ...(copy.restore ?? []),
    ],
    sync: ['# preflight (assets, read-only)', ...(copy.mirror ?? [])],
    verify: [
      `REPORTS_DIR=${vd.reportsDir} WORK_DIR=${vd.workDir} npm run rehearse -- --verify-only   # the full check suite; must exit 0`,
    ],
    switch: [
      displayHook(config, 'switch'),
      '# refused unless the way back is configured too: CUTOVER_HOOK_SWITCH_BACK and the unfreeze hooks',
    ],
    smoke: [
      `GET ${base.stagingApiBaseUrl}${base.stagingHealthPath} → 2xx (HEALTH_TIMEOUT_MS=${base.healthTimeoutMs})`,
      displayHook(config, 'smoke'),
    ],
    unfreeze: PHASES.unfreeze.hooks.map((h) => displayHook(config, h)),
  };
  return commands;
}

/** The phases in order with their status in this attempt and their commands, then the next step. */
function phaseLines(entries: LogEntry[], commands: Record<string, string[]>): string[] {
  const lines: string[] = [];
  const attempt = currentAttempt(entries);
  lines.push('Phases, in order (T-1d: presync; the window: freeze … unfreeze):');
  PHASE_NAMES.forEach((name, i) => {
    const def = PHASES[name];
    const last = lastOf(attempt, name);
    const status = last ? `last: ${last.entry.status} at ${last.entry.start}` : 'not run in this attempt';
    lines.push(`  ${String(i + 1).padStart(2)}. ${name.padEnd(12)} ${def.what}`);
    lines.push(`      run:    ${phaseCommand(name)}${def.gated ? '   (rehearsal gate)' : ''}`);
    lines.push(`      status: ${status}`);
    for (const c of commands[name]) lines.push(`      ${c}`);
  });
  const next = PHASE_NAMES.find(
    (p) => p !== 'presync' && !(lastOf(attempt, p)?.entry.status === 'ok') && !orderProblem(p, entries),
  );
  lines.push(
    '',
    next
      ? `Next: ${phaseCommand(next)}`
      : 'Next: nothing (the cutover is complete, or the log says what must be fixed)',
  );
  return lines;
}
