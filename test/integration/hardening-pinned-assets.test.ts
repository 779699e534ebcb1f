/**
 * Issue 26, attack E8: DST_ASSETS_DIR=<link> -> real, ASSETS_DELETE=<link>. After the preflight the RESOLVED
 * directory itself is renamed away and replaced by a symbolic link to a victim's directory holding
 * `.ssh/authorized_keys`. The mirror opens the resolved directory once (lib/phases/mirror-assets.ts pinMirrorTarget)
 * and writes and deletes only through that descriptor: swapped before it opens, the mirror refuses (exit 2); swapped
 * after, it mirrors into the original directory. The victim's file survives either way, with both engines (rsync,
 * fpsync). Real rsync / fpsync, real files, a real target database (the marker); in-process, no CLI.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import type { RunState } from '../../lib/core/state.ts';
import { PhaseLog } from '../../lib/core/tools.ts';
import type { PhaseCtx, PhaseOutcome } from '../../lib/phases/phase.ts';
import { mirrorStep } from '../../lib/phases/pipeline.ts';
import { configOf } from '../helpers/pipeline.ts';
import { scenario } from '../helpers/scenario.ts';

/** The trees of the attack: source, the real target (one stale file), its link, the victim's directory. */
async function trees() {
  const s = await scenario({ fixture: false, assets: false });
  fs.mkdirSync(path.join(s.srcAssets, 'docs'));
  fs.writeFileSync(path.join(s.srcAssets, 'docs', 'a.txt'), 'from the source\n');
  const real = path.join(s.tmp, 'real');
  fs.mkdirSync(real);
  fs.writeFileSync(path.join(real, 'stale.bin'), 'deleted from the source since the last copy\n');
  const link = path.join(s.tmp, 'link');
  fs.symlinkSync(real, link);
  const victim = path.join(s.tmp, 'victim');
  fs.mkdirSync(path.join(victim, '.ssh'), { recursive: true });
  fs.writeFileSync(path.join(victim, '.ssh', 'authorized_keys'), 'ssh-ed25519 AAAA victim\n');
  return { s, real, link, victim, keys: path.join(victim, '.ssh', 'authorized_keys') };
}

/** The mirror step in-process with `engine`; `trigger` (a console line) swaps `real` for a link to `victim`. */
async function mirrorWithSwap(
  t: Awaited<ReturnType<typeof trees>>,
  engine: 'rsync' | 'fpsync',
  trigger: RegExp,
): Promise<{ outcome: Promise<PhaseOutcome>; swapped: () => boolean }> {
  const env = {
    ...t.s.env,
    DST_ASSETS_DIR: t.link,
    ASSETS_DELETE: t.link,
    ASSETS_ENGINE: engine,
    WORK_DIR: t.s.workDir,
  };
  fs.mkdirSync(t.s.workDir, { recursive: true, mode: 0o700 });
  const config = configOf(env);
  const state: RunState = {
    runId: 'pin-assets',
    mode: 'full',
    startedAt: '',
    workDir: t.s.workDir,
    phases: [],
    tools: {},
  };
  const log = new PhaseLog(path.join(t.s.workDir, 'logs', 'mirror.log'));
  let swapped = false;
  const say = (line: string) => {
    log.line(line);
    if (swapped || !trigger.test(line)) return;
    fs.renameSync(t.real, `${t.real}.old`);
    fs.symlinkSync(t.victim, t.real);
    swapped = true;
  };
  const ctx: PhaseCtx = { config, state, workDir: t.s.workDir, log, say };
  return { outcome: mirrorStep(ctx), swapped: () => swapped };
}

for (const engine of ['rsync', 'fpsync'] as const) {
  test(`E8 (${engine}): the resolved directory swapped for a link to a victim after it was opened: mirrored into the original, the victim's file kept`, async () => {
    const t = await trees();
    // `content check:` is said once the directory is open, right before the engine starts.
    const run = await mirrorWithSwap(t, engine, /^content check:/);
    const out = await run.outcome;
    expect(run.swapped()).toBe(true);
    expect(out.exitCode).toBe(0);
    expect(fs.readFileSync(t.keys, 'utf8')).toBe('ssh-ed25519 AAAA victim\n');
    expect(fs.readdirSync(t.victim)).toEqual(['.ssh']);
    // The original directory got the mirror, ASSETS_DELETE included.
    expect(fs.readFileSync(path.join(`${t.real}.old`, 'docs', 'a.txt'), 'utf8')).toBe('from the source\n');
    expect(fs.existsSync(path.join(`${t.real}.old`, 'stale.bin'))).toBe(false);
  });

  test(`E8 (${engine}): the resolved directory swapped before the mirror opens it is refused (exit 2), nothing copied or deleted`, async () => {
    const t = await trees();
    // `mirroring into` is said after the path checks, before the directory is opened.
    const run = await mirrorWithSwap(t, engine, /mirroring into/);
    await expect(run.outcome).rejects.toMatchObject({ exitCode: 2 });
    await expect(run.outcome).rejects.toThrow(
      /real was replaced by a symbolic link \(to .*victim\).*nothing was copied/,
    );
    expect(run.swapped()).toBe(true);
    expect(fs.readFileSync(t.keys, 'utf8')).toBe('ssh-ed25519 AAAA victim\n');
    expect(fs.readdirSync(t.victim)).toEqual(['.ssh']);
    expect(fs.readdirSync(`${t.real}.old`)).toEqual(['stale.bin']);
  });
}
