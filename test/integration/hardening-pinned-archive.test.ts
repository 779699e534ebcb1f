/**
 * Issue 26, attack E7: the archive hashed is the archive restored. The owner of WORK_DIR's parent renames the run's
 * directory away the moment the restore announces `pg_restore` (after the sha256 check) and puts her own archive in
 * its place. The restore reads the archive through the descriptor it hashed (lib/phases/restore.ts pinArchive,
 * lib/phases/pinned.ts), so the genuine archive is restored, in every restore mode: single transaction, parallel
 * (`-j`: pg_restore's workers reopen the archive by its name `/proc/self/fd/3`), the DST_DROP_SCHEMA pipeline, and a
 * directory-format archive. A swap BEFORE the hash is refused (exit 3). Real clusters, real pg_dump / pg_restore,
 * in-process steps (no CLI, no checks).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import type { RunState } from '../../lib/core/state.ts';
import { applyToolPaths, PhaseLog } from '../../lib/core/tools.ts';
import type { PhaseCtx } from '../../lib/phases/phase.ts';
import { dumpStep, preflightStep, type ArchiveFacts, type PreflightFacts } from '../../lib/phases/pipeline.ts';
import { planRestore, runRestore } from '../../lib/phases/restore.ts';
import { configOf } from '../helpers/pipeline.ts';
import type { TestDb } from '../helpers/sandbox.ts';
import { startRefusal } from '../helpers/operator.ts';
import { scenario, tempDir } from '../helpers/scenario.ts';

/** A context for in-process steps in `workDir`: lines collected; `onSay` sees each console line as it is said. */
function ctxOf(env: Record<string, string>, workDir: string, onSay: (line: string) => void = () => {}): PhaseCtx {
  fs.mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const config = configOf({ ...env, WORK_DIR: workDir });
  const state: RunState = {
    runId: `pin-${path.basename(workDir)}`,
    mode: 'full',
    startedAt: '',
    workDir,
    phases: [],
    tools: {},
  };
  const log = new PhaseLog(path.join(workDir, 'logs', 'test.log'));
  return { config, state, workDir, log, say: (line) => (log.line(line), onSay(line)) };
}

/** Preflight + dump in `workDir` (the tool paths the preflight resolved applied, as global setup does). */
async function dumpInto(
  env: Record<string, string>,
  workDir: string,
): Promise<{ archive: ArchiveFacts; facts: PreflightFacts }> {
  const ctx = ctxOf(env, workDir);
  const { outcome, facts } = await preflightStep(ctx.config, ctx);
  applyToolPaths(outcome.details?.tools ?? {});
  const { archive } = await dumpStep(ctx, facts);
  return { archive, facts };
}

async function tables(db: TestDb): Promise<string[]> {
  const r = await db.query(`SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public' ORDER BY 1`);
  return r.rows.map((x) => x.tablename);
}

/**
 * The genuine archive dumped into `<tmp>/w/run`, the attacker's (an extra table `attacker_was_here`) into
 * `<tmp>/w/run.evil`; mallory owns `<tmp>/w` in the attack.
 */
async function twoArchives(extra: Record<string, string>) {
  const s = await scenario({ fixture: false, assets: false });
  await s.src.query(
    `CREATE TABLE public.genuine (id int PRIMARY KEY); INSERT INTO public.genuine SELECT generate_series(1, 500)`,
  );
  const env = { ...s.env, ...extra };
  const parent = path.join(tempDir('pinned-archive-'), 'w');
  const run = path.join(parent, 'run');
  const genuine = await dumpInto(env, run);
  await s.src.query(`CREATE TABLE public.attacker_was_here (x int)`);
  await dumpInto(env, `${run}.evil`);
  await s.src.query(`DROP TABLE public.attacker_was_here`);
  return { s, env, run, ...genuine };
}

/** mallory's two renames: the run's directory away, hers in its place. */
function swapDirectory(run: string): void {
  fs.renameSync(run, `${run}.old`);
  fs.renameSync(`${run}.evil`, run);
}

const CASES: { name: string; extra: Record<string, string> }[] = [
  { name: 'single transaction (custom archive)', extra: {} },
  { name: 'parallel, RESTORE_JOBS=2 (custom archive)', extra: { RESTORE_JOBS: '2' } },
  { name: 'parallel, RESTORE_JOBS=2 (directory archive)', extra: { RESTORE_JOBS: '2', DUMP_FORMAT: 'directory' } },
];

for (const c of CASES)
  test(`E7, ${c.name}: the run's directory swapped when pg_restore is announced; the genuine archive is restored`, async () => {
    const { s, env, run, archive, facts } = await twoArchives(c.extra);
    let swapped = false;
    // The attacker's trigger: the console line that announces pg_restore (after the archive's sha256 was checked).
    const ctx = ctxOf(env, run, (line) => {
      if (!swapped && /^pg_restore \(/.test(line)) {
        swapDirectory(run);
        swapped = true;
      }
    });
    const out = await runRestore(ctx, await planRestore(ctx, archive, facts));
    expect(swapped).toBe(true);
    expect(out.exitCode).toBe(0);
    expect(await tables(s.dst)).toEqual(['genuine']);
    expect((await s.dst.query(`SELECT count(*)::int AS n FROM public.genuine`)).rows[0].n).toBe(500);
    // The attacker's archive really was in place at the archive's path when pg_restore ran.
    expect(fs.existsSync(path.join(`${run}.old`, path.basename(archive.path)))).toBe(true);
  });

test('E7, DST_DROP_SCHEMA=1 pipeline: swapped when the restore is announced; the genuine archive is restored', async () => {
  const { s, env, run, archive, facts } = await twoArchives({});
  // A first restore marks the target (DST_DROP_SCHEMA=1 drops only a target this tool restored).
  const first = ctxOf(env, run);
  await runRestore(first, await planRestore(first, archive, facts));
  let swapped = false;
  const ctx = ctxOf({ ...env, DST_DROP_SCHEMA: '1' }, run, (line) => {
    if (!swapped && /then restores .* in one transaction/.test(line)) {
      swapDirectory(run);
      swapped = true;
    }
  });
  expect(ctx.config.dstDropSchema).toBeTruthy();
  const out = await runRestore(ctx, await planRestore(ctx, archive, facts));
  expect(swapped).toBe(true);
  expect(out.exitCode).toBe(0);
  expect(out.details.mode).toBe('single-transaction-with-drop');
  expect(await tables(s.dst)).toEqual(['genuine']);
});

test('E7: the directory swapped before the restore opens the archive is refused (exit 3), the target untouched', async () => {
  const { s, env, run, archive, facts } = await twoArchives({});
  swapDirectory(run);
  const ctx = ctxOf(env, run);
  await expect(planRestore(ctx, archive, facts)).rejects.toThrow(/changed since the dump phase hashed it/);
  await expect(planRestore(ctx, archive, facts)).rejects.toMatchObject({ exitCode: 3 });
  // A symbolic link where the archive was: not followed (O_NOFOLLOW).
  fs.rmSync(archive.path);
  fs.symlinkSync(path.join(`${run}.old`, path.basename(archive.path)), archive.path);
  await expect(planRestore(ctx, archive, facts)).rejects.toThrow(/it is a symbolic link now/);
  expect(await tables(s.dst)).toEqual([]);
});

test.runIf(process.getuid?.() === 0)(
  "E7's set-up: WORK_DIR under a link another user owns, to her directory, is refused at the start (exit 2); nothing written there",
  async () => {
    const s = await scenario({ fixture: false, assets: false });
    // The attack kit's shape: in a sticky shared directory, mallory's 0700 directory and her link to it.
    const shared = tempDir('shared-tmp-');
    fs.chmodSync(shared, 0o1777);
    const hers = path.join(shared, 'wd-e7t');
    fs.mkdirSync(hers, { mode: 0o700 });
    fs.chownSync(hers, 4242, 4242);
    const link = path.join(shared, 'wd-e7');
    fs.symlinkSync(hers, link);
    fs.lchownSync(link, 4242, 4242);
    const r = await startRefusal({ ...s.env, WORK_DIR: path.join(link, 'run') }, 'full');
    expect(r.code, r.output).toBe(2);
    expect(r.output).toMatch(
      /WORK_DIR .*wd-e7\/run is not private: .*wd-e7 \(a symbolic link\) is owned by uid 4242, another user .*rename the run's directory away/,
    );
    expect(fs.readdirSync(hers)).toEqual([]);
  },
);
