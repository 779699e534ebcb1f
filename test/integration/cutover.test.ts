/**
 * The production cutover end to end between the sandbox clusters (issue 8): a green rehearsal, then every phase in
 * order with hooks that leave marker files, the verify gate passing, the switch, the smoke, the unfreeze; the plan
 * writes nothing; refusals (no --confirm, out of order) touch nothing; the log is the timeline; no secret anywhere;
 * the compose file in the repo is byte-identical afterwards.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { expect, test } from 'vitest';
import { parseDsn, toPgConfig } from '../../lib/core/dsn.ts';
import { readLog, type LogEntry } from '../../lib/cutover/log.ts';
import { orderProblem } from '../../lib/cutover/phases.ts';
import {
  ROOT,
  catalogSnapshot,
  filesContaining,
  rehearse,
  runCli,
  scenario,
  treeListing,
  type CliResult,
  type Scenario,
} from '../helpers/scenario.ts';

/** Every compose file of the repository, with its sha256, at import time. */
function composeHashes(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === '.git' || e.name === '.sandbox' || e.name === 'reports') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/compose.*\.ya?ml$/.test(e.name))
        out[path.relative(ROOT, p)] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(ROOT);
  return out;
}
const COMPOSE_BEFORE = composeHashes();

/** Hooks that append their name to `order` and touch a marker, like a real operator's commands would act. */
function hookEnv(marks: string): Record<string, string> {
  fs.mkdirSync(marks, { recursive: true });
  const hook = (name: string) => `echo ${name} >> '${marks}/order' && touch '${marks}/${name}'`;
  return {
    CUTOVER_HOOK_MAINTENANCE_ON: hook('maintenance_on'),
    CUTOVER_HOOK_STOP_WORKERS: hook('stop_workers'),
    CUTOVER_HOOK_DRAIN_CHECK: hook('drain_check'),
    CUTOVER_HOOK_SWITCH: hook('switch'),
    CUTOVER_HOOK_SWITCH_BACK: hook('switch_back'),
    CUTOVER_HOOK_START_WORKERS: hook('start_workers'),
    CUTOVER_HOOK_MAINTENANCE_OFF: hook('maintenance_off'),
    CUTOVER_HOOK_TIMEOUT_MS: '20000',
  };
}

function hooksRun(marks: string): string[] {
  const f = path.join(marks, 'order');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : [];
}

function readCutoverLog(workDir: string): LogEntry[] {
  const f = path.join(workDir, 'cutover-log.jsonl');
  return fs.existsSync(f)
    ? fs
        .readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as LogEntry)
    : [];
}

/** The cutover's environment for a scenario: its own fixed WORK_DIR, the target replaced (the rehearsal filled it). */
function cutoverEnv(s: Scenario, extra: Record<string, string> = {}) {
  const workDir = path.join(s.tmp, 'cutover');
  const marks = path.join(s.tmp, 'marks');
  return { workDir, marks, env: { ...s.env, WORK_DIR: workDir, DST_DROP_SCHEMA: '1', ...hookEnv(marks), ...extra } };
}

function makeCutover(env: Record<string, string>, outputs: CliResult[]) {
  return async (...args: string[]) => {
    const r = await runCli('cutover', args, env);
    outputs.push(r);
    return r;
  };
}

test('a full cutover between the sandbox clusters: green rehearsal → every phase in order, verify gate green → switch → smoke → unfreeze', async () => {
  const s = await scenario();
  const { workDir, marks, env } = cutoverEnv(s);
  const outputs: CliResult[] = [];
  const cutover = makeCutover(env, outputs);

  const rehearsal = await rehearse([], s.env);
  outputs.push(rehearsal);
  expect(rehearsal.code, rehearsal.output).toBe(0);
  const sourceBefore = await catalogSnapshot(s.src);

  // --plan: the phases, their commands (redacted) and the estimate; nothing written anywhere.
  const treeBefore = treeListing(s.tmp);
  const plan = await cutover('--plan');
  expect(plan.code, plan.output).toBe(0);
  expect(plan.stdout).toMatch(/Rehearsal gate: PASSES/);
  // Every formatDuration format: `840 ms`, `6.9 s`, `1 min 57 s`, `1 h 02 min`.
  expect(plan.stdout).toMatch(/ESTIMATE\s+(?:\d+(?:\.\d+)? (?:ms|s)|\d+ min \d{2} s|\d+ h \d{2} min)\s/);
  expect(plan.stdout).toMatch(/dump\s+.*final pg_dump/);
  for (const p of [
    'presync',
    'freeze',
    'freeze-check',
    'dump',
    'restore',
    'sync',
    'verify',
    'switch',
    'smoke',
    'unfreeze',
  ]) {
    expect(plan.stdout).toContain(`--phase ${p}`);
  }
  expect(plan.stdout).toMatch(/PGPASSWORD=\*\*\* .*pg_dump --format=custom/);
  expect(plan.stdout).toContain('Next: npm run cutover -- --phase freeze --confirm');
  expect(treeListing(s.tmp)).toEqual(treeBefore);
  expect(fs.existsSync(workDir)).toBe(false);

  // Refusals touch nothing: a writing phase without --confirm; a phase out of order.
  const noConfirm = await cutover('--phase', 'freeze');
  expect(noConfirm.code, noConfirm.output).toBe(2);
  expect(noConfirm.stdout).toContain('needs an explicit confirmation: run npm run cutover -- --phase freeze --confirm');
  const early = await cutover('--phase', 'switch', '--confirm');
  expect(early.code, early.output).toBe(2);
  expect(early.stdout).toContain('switch needs verify first: run npm run cutover -- --phase verify');
  expect(hooksRun(marks)).toEqual([]);

  const steps: Array<[string, boolean]> = [
    ['presync', true],
    ['freeze', true],
    ['freeze-check', false],
    ['dump', true],
    ['restore', true],
    ['restore', true],
    ['sync', true],
    ['verify', false],
    ['switch', true],
    ['smoke', false],
    ['unfreeze', true],
  ];
  for (const [phase, confirm] of steps) {
    const r = await cutover('--phase', phase, ...(confirm ? ['--confirm'] : []));
    expect(r.code, `${phase}: ${r.output}`).toBe(0);
  }
  expect(hooksRun(marks)).toEqual([
    'maintenance_on',
    'stop_workers',
    'drain_check',
    'switch',
    'start_workers',
    'maintenance_off',
  ]);

  // The log is the timeline: refusals, then each phase with its timings, status, exit code and redacted commands.
  const log = readCutoverLog(workDir);
  expect(log.map((e) => `${e.phase}:${e.status}:${e.exitCode}`)).toEqual([
    'freeze:refused:2',
    'switch:refused:2',
    'presync:ok:0',
    'freeze:ok:0',
    'freeze-check:ok:0',
    'dump:ok:0',
    'restore:ok:0',
    'restore:ok:0',
    'sync:ok:0',
    'verify:ok:0',
    'switch:ok:0',
    'smoke:ok:0',
    'unfreeze:ok:0',
  ]);
  for (const e of log) {
    expect(Date.parse(e.end)).toBeGreaterThanOrEqual(Date.parse(e.start));
    expect(e.summary).toBeTruthy();
  }
  const byPhase = (p: string) => log.filter((e) => e.phase === p && e.status === 'ok');
  expect(byPhase('dump')[0].commands?.[0]).toMatch(
    /^PGHOST=\S+ PGPORT=\d+ PGDATABASE=\S+ PGUSER=\S+ PGPASSWORD=\*\*\* .*pg_dump /,
  );
  expect(byPhase('dump')[0].details?.sha256).toMatch(/^[0-9a-f]{64}$/);
  expect(byPhase('restore')[1].summary).toMatch(/already restored from this dump/);
  expect(byPhase('verify')[0].summary).toMatch(/green \(\d+ passed, 0 failed/);
  expect(byPhase('freeze')[0].hooks?.map((h) => `${h.variable}:${h.status}:${h.exitCode}`)).toEqual([
    'CUTOVER_HOOK_MAINTENANCE_ON:ok:0',
    'CUTOVER_HOOK_STOP_WORKERS:ok:0',
  ]);
  expect(byPhase('smoke')[0].summary).toMatch(/CUTOVER_HOOK_SMOKE not set \(skipped\)/);
  expect(byPhase('presync')[0].rehearsal?.runId).toBeTruthy();

  // The target holds the source; the source was only read.
  const target = await catalogSnapshot(s.dst);
  expect(target.counts).toEqual(sourceBefore.counts);
  expect(await catalogSnapshot(s.src)).toEqual(sourceBefore);

  // After a completed cutover the window is closed: no rollback, no more writing phases.
  const late = await cutover('--rollback', '--confirm');
  expect(late.code, late.output).toBe(2);
  expect(late.stdout).toMatch(/the cutover was completed \(unfreeze at .*\); the window is closed/);
  const again = await cutover('--phase', 'dump', '--confirm');
  expect(again.code).toBe(2);
  expect(again.stdout).toMatch(/dump needs freeze-check first/);

  // No secret in any output, log or file.
  for (const r of outputs) expect(r.output.includes(s.password), 'password in CLI output').toBe(false);
  expect(filesContaining([workDir, s.workDir, s.reportsDir], s.password)).toEqual([]);
}, 420_000);

test(
  'refusals and the way back: no rehearsal → refused; a red freeze-check; a failed restore → rollback before the switch; a red verify stops the switch; a red smoke → rollback after the switch; the source is never written',
  { timeout: 420_000 },
  async () => {
    const s = await scenario();
    const { workDir, marks, env } = cutoverEnv(s);
    const outputs: CliResult[] = [];
    const cutover = makeCutover(env, outputs);

    // Configuration: WORK_DIR is required (the log must persist across invocations).
    const noWorkDir = await runCli('cutover', ['--plan'], { ...env, WORK_DIR: '' });
    expect(noWorkDir.code, noWorkDir.output).toBe(2);
    expect(noWorkDir.stderr).toContain('WORK_DIR is not set; the cutover needs a fixed path');

    // A needed hook that is not configured stops the phase, naming the variable.
    const noHook = await runCli('cutover', ['--phase', 'freeze', '--confirm'], {
      ...env,
      CUTOVER_HOOK_STOP_WORKERS: '',
    });
    expect(noHook.code, noHook.output).toBe(2);
    expect(noHook.stdout).toContain('freeze needs the hook CUTOVER_HOOK_STOP_WORKERS configured');

    // No rehearsal yet: the plan says so, every gated phase is refused and nothing runs.
    const plan = await cutover('--plan');
    expect(plan.code, plan.output).toBe(0);
    expect(plan.stdout).toContain('Rehearsal gate: WOULD REFUSE the writing phases: no rehearsal manifest');
    expect(plan.stdout).toContain('Downtime estimate: none');
    for (const phase of ['presync', 'freeze']) {
      const r = await cutover('--phase', phase, '--confirm');
      expect(r.code, r.output).toBe(2);
      expect(r.stdout).toContain(
        `cutover ${phase}: REFUSED (exit 2, nothing was touched): no rehearsal manifest in REPORTS_DIR`,
      );
    }
    expect(hooksRun(marks)).toEqual([]);
    expect(treeListing(s.dstAssets)).toEqual({});

    // The gate's precondition only (a green full-mode rehearsal of this source): one family is enough here; the test
    // above passes the gate with every family.
    const rehearsal = await rehearse(['--select', 'row-counts'], s.env);
    outputs.push(rehearsal);
    expect(rehearsal.code, rehearsal.output).toBe(0);
    const sourceBefore = await catalogSnapshot(s.src);

    // Attempt 1: the freeze does not hold while another session is on the source; then the restore fails.
    expect((await cutover('--phase', 'freeze', '--confirm')).code).toBe(0);
    const writer = new pg.Client(toPgConfig(parseDsn(s.src.url), { applicationName: 'legacy-api' }));
    await writer.connect();
    try {
      const red = await cutover('--phase', 'freeze-check');
      expect(red.code, red.output).toBe(1);
      expect(red.stdout).toMatch(
        /the freeze does not hold: 1 other client session\(s\) on the source database \(pid \d+ \S+\/"legacy-api"/,
      );
    } finally {
      await writer.end();
    }
    // The order refusals below are judged in-process on the real log (lib/cutover/phases.ts orderProblem, what the
    // CLI's admission runs before anything); the whole run's exit 2 for an order refusal: the red verify's switch below.
    expect(orderProblem('dump', readLog(workDir))).toMatch(
      /dump needs a successful freeze-check first; the last freeze-check \(at .*\) was red/,
    );
    expect((await cutover('--phase', 'freeze-check')).code).toBe(0);
    expect((await cutover('--phase', 'dump', '--confirm')).code).toBe(0);
    // A target that refuses DDL (an event trigger): the single-transaction restore fails and leaves it as it was.
    await s.dst.query(`CREATE SCHEMA trap;
    CREATE FUNCTION trap.no_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'DDL is blocked on this target'; END $$;
    CREATE EVENT TRIGGER no_ddl ON ddl_command_start EXECUTE FUNCTION trap.no_ddl();`);
    const targetBefore = await catalogSnapshot(s.dst);
    const failed = await cutover('--phase', 'restore', '--confirm');
    expect(failed.code, failed.output).toBe(3);
    expect(failed.stdout).toMatch(/cutover restore: FAILED \(exit 3\): restore: psql exited with code 3/);
    expect(failed.stdout).toContain('was ROLLED BACK: the target is exactly as it was before');
    expect(await catalogSnapshot(s.dst)).toEqual(targetBefore);
    expect(orderProblem('verify', readLog(workDir))).toMatch(
      /verify needs a successful restore first; the last restore \(at .*\) was failed/,
    );

    const unconfirmed = await cutover('--rollback');
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stdout).toContain('npm run cutover -- --rollback --confirm');
    const back1 = await cutover('--rollback', '--confirm');
    expect(back1.code, back1.output).toBe(0);
    expect(back1.stdout).toContain('before the switch: the source was never written');
    expect(hooksRun(marks)).toEqual([
      'maintenance_on',
      'stop_workers',
      'drain_check',
      'drain_check',
      'start_workers',
      'maintenance_off',
    ]);
    expect(await catalogSnapshot(s.src)).toEqual(sourceBefore);

    // Attempt 2 starts from the freeze again: the rolled-back attempt's dump does not count.
    expect(orderProblem('restore', readLog(workDir))).toContain('restore needs dump first');
    await s.dst.query('DROP EVENT TRIGGER no_ddl; DROP SCHEMA trap CASCADE');
    for (const [phase, confirm] of [
      ['freeze', true],
      ['freeze-check', false],
      ['dump', true],
      ['restore', true],
      ['sync', true],
    ] as const) {
      const r = await cutover('--phase', phase, ...(confirm ? ['--confirm'] : []));
      expect(r.code, `${phase}: ${r.output}`).toBe(0);
    }
    // A fault seeded after the restore: the gate is red and the switch is refused, naming what must come first.
    // (A changed value rather than an extra row: an insert would also move the target's sequence, a second fault.)
    const victim = (
      await s.dst.query<{ id: string; display_name: string | null }>(
        'SELECT id, display_name FROM users ORDER BY id LIMIT 1',
      )
    ).rows[0];
    await s.dst.query("UPDATE users SET display_name = 'changed after the dump' WHERE id = $1", [victim.id]);
    const redVerify = await cutover('--phase', 'verify');
    expect(redVerify.code, redVerify.output).toBe(1);
    expect(redVerify.stdout).toMatch(
      /cutover verify: GATE RED \(exit 1\): the verification gate is RED \(\d+ passed, [1-9]\d* failed.*checksum public\.users/,
    );
    const refusedSwitch = await cutover('--phase', 'switch', '--confirm');
    expect(refusedSwitch.code, refusedSwitch.output).toBe(2);
    expect(refusedSwitch.stdout).toMatch(/switch needs a successful verify first; the last verify \(at .*\) was red/);
    expect(hooksRun(marks)).not.toContain('switch');

    // Fixed: green, switched; then the smoke is red, the window stays frozen, and the way back is switch-back + unfreeze.
    await s.dst.query('UPDATE users SET display_name = $2 WHERE id = $1', [victim.id, victim.display_name]);
    expect((await cutover('--phase', 'verify')).code).toBe(0);
    expect((await cutover('--phase', 'switch', '--confirm')).code).toBe(0);
    s.health.setStatus(500);
    const redSmoke = await cutover('--phase', 'smoke');
    expect(redSmoke.code, redSmoke.output).toBe(1);
    expect(redSmoke.stdout).toMatch(/smoke RED: health http:\/\/127\.0\.0\.1:\d+\/health: expected 2xx, got HTTP 500/);
    expect(orderProblem('unfreeze', readLog(workDir))).toMatch(/unfreeze needs a successful smoke first/);
    expect(orderProblem('restore', readLog(workDir))).toMatch(
      /the services were switched to the target at .*the target is live/,
    );
    const marksBefore = hooksRun(marks).length;
    const back2 = await cutover('--rollback', '--confirm');
    expect(back2.code, back2.output).toBe(0);
    expect(hooksRun(marks).slice(marksBefore)).toEqual(['switch_back', 'start_workers', 'maintenance_off']);
    expect(await catalogSnapshot(s.src)).toEqual(sourceBefore);

    const log = readCutoverLog(workDir);
    expect(log.filter((e) => e.phase === 'rollback').map((e) => `${e.status}:${e.exitCode}`)).toEqual([
      'refused:2',
      'ok:0',
      'ok:0',
    ]);
    expect(
      log.filter((e) => e.phase === 'verify' && e.status !== 'refused').map((e) => `${e.status}:${e.exitCode}`),
    ).toEqual(['red:1', 'ok:0']);
    expect(log.find((e) => e.phase === 'restore' && e.status === 'failed')?.exitCode).toBe(3);
    for (const r of outputs) expect(r.output.includes(s.password), 'password in CLI output').toBe(false);
    expect(filesContaining([workDir, s.workDir, s.reportsDir], s.password)).toEqual([]);
  },
);

test('the compose files in the repo are byte-identical after all of it', () => {
  expect(Object.keys(COMPOSE_BEFORE)).toContain('deploy/prod/docker-compose.dryrun.yml');
  expect(composeHashes()).toEqual(COMPOSE_BEFORE);
});
