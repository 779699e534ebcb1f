/**
 * Asset mirror phase: rsync SRC_ASSETS_DIR/ into DST_ASSETS_DIR/ (contents at the root), with the flags a careful
 * operator uses; every itemized change and the transfer statistics go to the phase log.
 */
import fs from 'node:fs';
import { displayCommand, rsyncCommand, rsyncMeaning, runCommand, toolFailure } from '../lib/tools.ts';
import type { PhaseCtx, PhaseOutcome } from './phase.ts';

/** rsync --stats lines we keep as facts ("Number of regular files transferred: 1,234" → 1234). */
const STATS: Record<string, string> = {
  'Number of files': 'files',
  'Number of created files': 'created',
  'Number of deleted files': 'deleted',
  'Number of regular files transferred': 'transferred',
  'Total file size': 'totalBytes',
  'Total transferred file size': 'transferredBytes',
};

export function parseRsyncStats(lines: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of lines) {
    const m = /^([A-Za-z ]+):\s+([\d,.]+)/.exec(line);
    if (m && STATS[m[1]]) out[STATS[m[1]]] = Number(m[2].replace(/,/g, ''));
  }
  return out;
}

export async function runMirror(ctx: PhaseCtx): Promise<PhaseOutcome> {
  const { config } = ctx;
  // rsync creates the last path component only; the target root's parents may not exist on a fresh staging host.
  fs.mkdirSync(config.dstAssetsDir, { recursive: true });
  const cmd = rsyncCommand(config);
  ctx.say(`${displayCommand(cmd)}${config.assetsDelete ? '   (ASSETS_DELETE=1: target files missing from the source are deleted)' : ''}`);
  const statLines: string[] = [];
  let changes = 0;
  let deletions = 0;
  const r = await runCommand(cmd, {
    phase: 'mirror',
    log: ctx.log,
    onStdout: (line) => {
      if (line.startsWith('*deleting')) deletions++;
      else if (/^[<>ch.*][fdLDS][.+?a-zA-Z]{7,}/.test(line)) changes++;
      else statLines.push(line);
    },
  });
  if (r.code !== 0) throw toolFailure('mirror', cmd, r, rsyncMeaning(r.code), { log: ctx.log });
  const stats = parseRsyncStats(statLines);
  return {
    reason: `${config.srcAssetsDir} → ${config.dstAssetsDir}: ${stats.files ?? '?'} entries, ${stats.transferred ?? 0} files transferred, ${stats.deleted ?? deletions} deleted${config.assetsDelete ? '' : ' (ASSETS_DELETE off)'}`,
    exitCode: r.code,
    details: { command: displayCommand(cmd), itemizedChanges: changes, deletions, stats },
  };
}
