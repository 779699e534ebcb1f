/**
 * One pipeline for the rehearsal and the cutover (issue 23 "Done when", issue 24 item 3), on a managed target: the
 * database is owned by a non-superuser role and `vector` was installed beforehand by the DBA (a superuser), which the
 * role may not re-create or comment on. The rehearsal's restore leaves those archive entries out (a preflight fact);
 * the cutover's restore must leave out exactly the same, with the same session settings and commands. End to end
 * (issue 24 "Done when"), on PostgreSQL 15 and 17 targets: a multi-schema source into a managed target with `vector`
 * in schema `extensions` rehearses green twice in a row (the second with DST_DROP_SCHEMA=1), then every cutover phase
 * is green on that rehearsal-marked target, whose restore leaves a `cutover` marker.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { parseConfig, registerSecrets } from '../../lib/core/config.ts';
import { closePools } from '../../lib/core/db.ts';
import type { RunState } from '../../lib/core/state.ts';
import { displayCommand, PhaseLog } from '../../lib/core/tools.ts';
import { parseCutoverConfig, withCutoverDefaults } from '../../lib/cutover/config.ts';
import type { LogEntry } from '../../lib/cutover/log.ts';
import { planCutoverRestore } from '../../lib/cutover/run.ts';
import type { PhaseCtx } from '../../lib/phases/phase.ts';
import { dumpStep, type RestoreCommands, type RestorePlan } from '../../lib/phases/pipeline.ts';
import { preflightGate, recordFacts } from '../../lib/phases/preflight-gate.ts';
import { planRestore } from '../../lib/phases/restore.ts';
import { parseMarkerComment } from '../../lib/phases/marker.ts';
import { majorHasVector, useMajor } from '../helpers/majors.ts';
import { caseRun, ownerTarget, type OwnerTarget } from '../helpers/non-superuser.ts';
import { preflightOnly } from '../helpers/pipeline.ts';
import { filesContaining, rehearse, runCli } from '../helpers/scenario.ts';

afterAll(() => closePools());

/** A source tree with one file, so the cutover's asset phases (presync, sync) have something to move. */
function assetTrees(tmp: string): { src: string } {
  const src = path.join(tmp, 'src-data');
  fs.mkdirSync(path.join(src, 'docs'), { recursive: true });
  fs.writeFileSync(path.join(src, 'docs', 'a.txt'), 'hello\n');
  return { src };
}

/** What a plan runs, comparable between two runs: the run id and WORK_DIR replaced by placeholders. */
function comparable(plan: RestorePlan, runId: string, workDir: string) {
  const norm = (s: string) =>
    s.split(plan.archive.path).join('<archive>').split(runId).join('<run>').split(workDir).join('<work>');
  const cmds = (c: RestoreCommands) =>
    c.kind === 'pipeline'
      ? [displayCommand(c.render), displayCommand(c.apply), c.apply.env.PGOPTIONS ?? '']
      : [c.drop ? displayCommand(c.drop) : '', displayCommand(c.restore), c.restore.env.PGOPTIONS ?? ''];
  return {
    mode: plan.mode,
    excluded: plan.excluded,
    useList: plan.useList ? fs.readFileSync(plan.useList, 'utf8') : undefined,
    // The settings are equal; their explanation quotes this machine's available memory, which moves between reads.
    session: {
      ...plan.session,
      why: plan.session.why.map((w) => w.replace(/available memory \(\d+MB\)/, 'available memory')),
    },
    appName: norm(plan.appName),
    commands: cmds(plan.commands).map(norm),
  };
}

function emptyState(runId: string, workDir: string): RunState {
  return { runId, mode: 'full', startedAt: new Date().toISOString(), workDir, phases: [], tools: {} };
}

test('for the same archive and target, the cutover plans the restore the rehearsal plans: same TOC exclusions, session settings and commands', async () => {
  const target = await ownerTarget({ vector: true });
  const s = await caseRun('rw10-non-superuser.sql', target);
  const trees = assetTrees(path.dirname(s.workDir));
  const env = { ...s.env, SRC_ASSETS_DIR: trees.src };
  const config = parseConfig(env, { mode: 'full' });
  registerSecrets(config);
  const work = path.join(path.dirname(s.workDir), 'rehearsal-work');
  const log = new PhaseLog(path.join(work, 'logs', 'test.log'));
  const io = { log, say: (line: string) => log.line(line) };

  // The rehearsal: the gate's preflight, the dump step, the restore planned from the gate's facts (global setup).
  const gate = await preflightGate(config, { runId: 'rehearsal-run', workDir: work, mode: 'full' });
  expect(gate.record.result.status, gate.record.result.reason).toBe('ok');
  const facts = recordFacts(gate.record)!;
  expect(facts.extensionsPresent).toEqual(['vector']);
  const ctx: PhaseCtx = { config, state: emptyState('rehearsal-run', work), workDir: work, ...io };
  const { archive } = await dumpStep(ctx, facts);
  const rehearsalPlan = await planRestore(ctx, archive, facts);

  // The cutover: its restore phase's own planning, from the same archive, into the same target.
  const cutWork = path.join(path.dirname(s.workDir), 'cutover-work');
  fs.mkdirSync(cutWork, { recursive: true });
  const cutConfig = parseCutoverConfig(withCutoverDefaults({ ...env, WORK_DIR: cutWork }));
  const { ctx: cutCtx, plan: cutoverPlan } = await planCutoverRestore(cutConfig, archive, io);
  log.close();

  expect(rehearsalPlan.excluded).toEqual([
    expect.stringMatching(/^left out of the restore: EXTENSION vector \(extension-already-installed: /),
    expect.stringMatching(/^left out of the restore: COMMENT EXTENSION vector \(extension-already-installed: /),
  ]);
  expect(comparable(cutoverPlan, cutCtx.state.runId, cutWork)).toEqual(
    comparable(rehearsalPlan, 'rehearsal-run', work),
  );
  // The drift this replaces: a restore planned without the preflight's facts (the cutover's old `emptyState`) does
  // not leave the DBA's extension out, so the comparison above would fail.
  const blind = await planRestore(ctx, archive, { extensionsPresent: [] });
  expect(blind.excluded).toEqual([]);
});

/** A staging health endpoint answering 200, as the smoke phase expects. */
async function healthServer(): Promise<string> {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A multi-schema source (issue 24): the rw33 case (`vector` in schema `extensions`, trusted pg_trgm and citext the
 * dump creates) plus schemas `billing`, `app` and a quoted `"Ops Data"`, each with rows and a foreign key across them.
 */
const MULTI_SCHEMA_SQL = `
CREATE SCHEMA billing;
CREATE SCHEMA app;
CREATE SCHEMA "Ops Data";
CREATE TABLE app.customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE billing.invoices (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES app.customers(id), cents bigint);
CREATE TABLE "Ops Data"."Run Log" (id int PRIMARY KEY, note text);
INSERT INTO app.customers SELECT g, 'customer ' || g FROM generate_series(1, 200) g;
INSERT INTO billing.invoices SELECT g, 1 + g % 200, g * 100 FROM generate_series(1, 1000) g;
INSERT INTO "Ops Data"."Run Log" SELECT g, 'line ' || g FROM generate_series(1, 30) g;
`;

/** The extension `name` on the target: its oid and schema (the DBA's `vector` must keep both). */
async function extensionOf(target: OwnerTarget, name: string) {
  const r = await target.db.query(
    `SELECT e.oid::int AS oid, n.nspname AS schema, r.rolsuper AS su FROM pg_extension e
       JOIN pg_namespace n ON n.oid = e.extnamespace JOIN pg_roles r ON r.oid = e.extowner WHERE e.extname = $1`,
    [name],
  );
  return r.rows[0] as { oid: number; schema: string; su: boolean } | undefined;
}

/** The kind of this tool's marker in the target's database comment (lib/phases/marker.ts). */
async function markerKind(target: OwnerTarget): Promise<string | undefined> {
  const r = await target.db.query(
    "SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = current_database()",
  );
  return parseMarkerComment(r.rows[0].c).marker?.kind;
}

function hookEnv(marks: string): Record<string, string> {
  fs.mkdirSync(marks, { recursive: true });
  const hook = (name: string) => `echo ${name} >> '${marks}/order'`;
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

const major = useMajor();

for (const pg of [15, 17]) {
  test(
    `PostgreSQL ${pg}: a managed target (non-superuser owner, vector in schema extensions by the DBA) and a multi-schema source rehearse green twice with DST_DROP_SCHEMA=1, then every cutover phase is green`,
    { timeout: 900_000 },
    async () => {
      expect(majorHasVector(pg), `pgvector for PostgreSQL ${pg} (scripts/bootstrap-majors.sh)`).toBe(true);
      const target = await ownerTarget({ vector: false, cluster: await major(pg, 'target') });
      await target.db.query(
        `CREATE SCHEMA extensions AUTHORIZATION ${target.role}; CREATE EXTENSION vector SCHEMA extensions`,
      );
      const dbaVector = await extensionOf(target, 'vector');
      const s = await caseRun('rw33-extensions-schema.sql', target);
      await s.src.query(MULTI_SCHEMA_SQL);
      const tmp = path.dirname(s.workDir);
      const trees = assetTrees(tmp);
      const env = {
        ...s.env,
        SRC_ASSETS_DIR: trees.src,
        HEALTH_CHECK: '1',
        STAGING_API_BASE_URL: await healthServer(),
      };

      // Rehearse, then rehearse again over the first copy (the runbook's repeat): both green.
      const first = await rehearse([], env);
      expect(first.code, first.output).toBe(0);
      expect(first.output).toMatch(/left out of the restore: EXTENSION vector/);
      expect(await markerKind(target)).toBe('rehearsal');
      const again = await rehearse([], { ...env, DST_DROP_SCHEMA: '1' });
      expect(again.code, again.output).toBe(0);
      expect(await extensionOf(target, 'vector')).toEqual(dbaVector);
      expect(await markerKind(target)).toBe('rehearsal');

      // The cutover on the rehearsal-marked target: DST_DROP_SCHEMA=1 drops what the rehearsal's restore created
      // (the marker allows it: a rehearsal copy nobody wrote since), and the restore leaves a `cutover` marker.
      const workDir = path.join(tmp, 'cutover');
      const cutEnv = { ...env, DST_DROP_SCHEMA: '1', WORK_DIR: workDir, ...hookEnv(path.join(tmp, 'marks')) };
      const phases: Array<[string, boolean]> = [
        ['presync', true],
        ['freeze', true],
        ['freeze-check', false],
        ['dump', true],
        ['restore', true],
        ['sync', true],
        ['verify', false],
        ['switch', true],
        ['smoke', false],
        ['unfreeze', true],
      ];
      for (const [phase, confirm] of phases) {
        const r = await runCli('cutover', ['--phase', phase, ...(confirm ? ['--confirm'] : [])], cutEnv);
        expect(r.code, `${phase}: ${r.output}`).toBe(0);
        if (phase === 'restore') {
          expect(r.output).toMatch(/left out of the restore: COMMENT EXTENSION vector/);
          expect(await markerKind(target)).toBe('cutover');
        }
      }
      const log = fs
        .readFileSync(path.join(workDir, 'cutover-log.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as LogEntry);
      expect(log.map((e) => `${e.phase}:${e.status}`)).toEqual(phases.map(([p]) => `${p}:ok`));
      const counts = await target.db.query(
        `SELECT (SELECT count(*) FROM docs)::int AS docs, (SELECT count(*) FROM billing.invoices)::int AS invoices,
                (SELECT count(*) FROM "Ops Data"."Run Log")::int AS ops`,
      );
      expect(counts.rows[0]).toEqual({ docs: 50, invoices: 1000, ops: 30 });
      // The DBA's extension is still the DBA's: the same object in the same schema, owned by the superuser.
      expect(await extensionOf(target, 'vector')).toEqual(dbaVector);
      expect(dbaVector).toMatchObject({ schema: 'extensions', su: true });
      // A production target marked `cutover` is never dropped by DST_DROP_SCHEMA=1 again: the rehearsal's preflight
      // gate, in-process (the whole run's exit 2 for a marker refusal: test/integration/repeat-marker.test.ts).
      const after = await preflightOnly({ ...env, DST_DROP_SCHEMA: '1', WORK_DIR: path.join(tmp, 'after') });
      expect(after).toMatchObject({ status: 'failed', rehearseExitCode: 2 });
      expect(after.reason).toMatch(/marked as a CUT-OVER PRODUCTION database/);
      expect(filesContaining([workDir, s.workDir, s.reportsDir], target.password)).toEqual([]);
    },
  );
}
