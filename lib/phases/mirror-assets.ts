/**
 * Asset mirror phase: rsync SRC_ASSETS_DIR/ into DST_ASSETS_DIR/ (contents at the root), with the flags a careful
 * operator uses; every itemized change and the transfer statistics go to the phase log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { withConnection } from '../core/db.ts';
import { EXIT, PhaseError } from '../core/errors.ts';
import { realPathLoose } from '../core/paths.ts';
import {
  Progress,
  mirrorLine,
  parseRsyncProgress2,
  phaseWriter,
  stdoutIsTty,
  timing,
  type RsyncProgress,
} from '../core/progress.ts';
import { assetsDeleteSetting, refusedAssetsDir, type Config } from '../core/config.ts';
import { formatBytes } from '../core/format.ts';
import { displayCommand, runCommand, toolFailure } from '../core/tools.ts';
import { parseUnsafeLink, rsyncCommand, rsyncMeaning } from './commands.ts';
import type { PhaseCtx, PhaseOutcome } from './phase.ts';
import { assetsMarkerValue, leaveMarker } from './guards.ts';
import { readMarker } from './marker.ts';
import { openPinned, pinnedLocation, withPinned, type Pinned } from './pinned.ts';

/** rsync --stats lines we keep as facts ("Number of regular files transferred: 1,234" → 1234). */
const STATS: Record<string, string> = {
  'Number of files': 'files',
  'Number of created files': 'created',
  'Number of deleted files': 'deleted',
  'Number of regular files transferred': 'transferred',
  'Total file size': 'totalBytes',
  'Total transferred file size': 'transferredBytes',
};

/**
 * The numbers of rsync's `--stats` block (`Number of files: 1,234 (reg: ...)` → `{ files: 1234 }`; keys from STATS:
 * files, created, deleted, transferred, totalBytes, transferredBytes). Lines that are not stats are ignored.
 */
export function parseRsyncStats(lines: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of lines) {
    const m = /^([A-Za-z ]+):\s+([\d,.]+)/.exec(line);
    if (m && STATS[m[1]]) out[STATS[m[1]]] = Number(m[2].replace(/,/g, ''));
  }
  return out;
}

/**
 * Whether the mirror compares content (rsync --checksum) and why. rsync's default quick check skips a file whose size
 * and mtime match, so a file rewritten at the same size with its mtime kept (restored from a backup, `touch -r`, a
 * clock step) stays stale on a repeat run. --checksum reads every file of both trees whose sizes match: that costs a
 * full read of both trees, but only when something is already there — into an empty target everything is copied
 * anyway, so `auto` (the default) turns it on only for a non-empty DST_ASSETS_DIR.
 */
export function mirrorChecksum(
  setting: Config['assetsMirrorChecksum'],
  dstRoot: string,
): { checksum: boolean; why: string } {
  if (setting === 'on') return { checksum: true, why: 'ASSETS_MIRROR_CHECKSUM=1' };
  if (setting === 'off')
    return {
      checksum: false,
      why: 'ASSETS_MIRROR_CHECKSUM=0: size + mtime quick check only (same-size, same-mtime changes are NOT copied)',
    };
  let empty = true;
  try {
    const d = fs.opendirSync(dstRoot);
    try {
      empty = d.readSync() === null;
    } finally {
      d.closeSync();
    }
  } catch {
    empty = true;
  }
  return empty
    ? { checksum: false, why: 'DST_ASSETS_DIR is empty: every file is copied, no content comparison needed' }
    : {
        checksum: true,
        why: 'DST_ASSETS_DIR is not empty: content compared (rsync --checksum), not just size + mtime',
      };
}

/**
 * DST_ASSETS_DIR's real path at the start of the mirror, judged by the same rules as the configuration and the
 * preflight were (lib/core/config.ts refusedAssetsDir: system directories, `/`, a new top-level directory) and, with
 * ASSETS_DELETE, by the confirmation again against this real path: `ASSETS_DELETE=<path>` must still lead here, and
 * `ASSETS_DELETE=1` needs the target's marker to name this directory, or the directory to be empty or new (nothing to
 * delete). A path that differs from the one resolved before the preflight (`config.dstAssetsReal`) is refused in every
 * ASSETS_DELETE form. Throws PhaseError (exit 2, nothing copied) naming the path it now leads to.
 */
export async function resolvedMirrorTarget(config: Config): Promise<string> {
  const real = realPathLoose(config.dstAssetsDir);
  const refuse = (why: string) => new PhaseError('mirror', `${why}; nothing was copied or deleted`, EXIT.usage);
  // Resolved once (lib/core/config-contract.ts dstAssetsReal, before the preflight): a link that leads elsewhere now
  // was changed after the preflight judged it, whatever ASSETS_DELETE says (issue 26: ASSETS_DELETE=<the link path>
  // still named the swapped link, and rsync --delete ran in the other directory).
  const pinned = config.dstAssetsReal;
  if (pinned !== undefined && pinned !== real)
    throw refuse(
      `DST_ASSETS_DIR ${config.dstAssetsDir} led to ${pinned} at the preflight and leads to ${real} now (a symbolic link changed since the preflight); the mirror writes only where the preflight looked — rerun to have the new path judged`,
    );
  const topLevel = path.dirname(real) === '/' && !fs.existsSync(real);
  const bad =
    refusedAssetsDir(real, process.env) ??
    (topLevel ? `DST_ASSETS_DIR leads to ${real}, a new top-level directory` : undefined);
  if (bad) throw refuse(`at the start of the mirror, ${bad}`);
  if (!config.assetsDelete) return real;
  if (config.assetsDeleteConfirm !== undefined) {
    if (realPathLoose(config.assetsDeleteConfirm) !== real)
      throw refuse(
        `ASSETS_DELETE=${config.assetsDeleteConfirm} does not lead to ${real}, where DST_ASSETS_DIR ${config.dstAssetsDir} leads now (a symbolic link changed since the preflight?)`,
      );
    return real;
  }
  if (!fs.existsSync(real) || fs.readdirSync(real).length === 0) return real;
  const marker = await withConnection(
    config.dst,
    async (c) => {
      const read = await readMarker(c);
      return read.marker?.assetsDir ?? read.legacyAssetsDir ?? null;
    },
    { connectTimeoutMs: config.connectTimeoutMs },
  ).catch(() => null);
  if (marker !== real)
    throw refuse(
      `ASSETS_DELETE=1: DST_ASSETS_DIR ${config.dstAssetsDir} now leads to ${real}, which this tool never mirrored (the target's marker names ${marker || 'no directory'}); a symbolic link changed since the preflight? confirm with ASSETS_DELETE=${real} if that is intended`,
    );
  return real;
}

/**
 * Open DST_ASSETS_DIR's resolved directory `real` ONCE (O_DIRECTORY|O_NOFOLLOW) and prove the directory opened is the
 * one living at `real` (the kernel's path of the descriptor), for every later write and deletion to go through that
 * descriptor (lib/phases/pinned.ts). Issue 26, attack E8: after the preflight the resolved directory itself was
 * renamed away and replaced by a symbolic link to a victim's directory; rsync given the path followed it and
 * `--delete` removed the victim's `.ssh/authorized_keys`. Through the descriptor, a later swap changes nothing: the
 * mirror writes into the directory that was judged.
 * @throws PhaseError (exit 2, nothing copied or deleted) when `real` is a symbolic link now, not a directory, or the
 * directory opened lives elsewhere (a parent directory swapped).
 */
export function pinMirrorTarget(real: string): Pinned {
  const refuse = (why: string) =>
    new PhaseError(
      'mirror',
      `DST_ASSETS_DIR's resolved directory ${real} ${why} since the preflight judged it; nothing was copied or deleted; rerun to have the new path judged`,
      EXIT.usage,
    );
  let pin: Pinned;
  try {
    pin = openPinned(real, 'directory');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // O_NOFOLLOW|O_DIRECTORY on a symbolic link: ELOOP, or ENOTDIR (Linux checks O_DIRECTORY first).
    const link =
      code === 'ELOOP' || (code === 'ENOTDIR' && fs.lstatSync(real, { throwIfNoEntry: false })?.isSymbolicLink());
    throw refuse(
      link
        ? `was replaced by a symbolic link (to ${realPathLoose(real)})`
        : `cannot be opened as a directory (${code ?? (e as Error).message}): it changed`,
    );
  }
  const now = pinnedLocation(pin);
  if (now !== real) {
    pin.close();
    throw refuse(`is not the directory found there: the directory opened lives at ${now} (a parent directory changed)`);
  }
  return pin;
}

/**
 * The mirror phase: `rsync -a` SRC_ASSETS_DIR/ into DST_ASSETS_DIR/ (created first; `--delete` only with
 * ASSETS_DELETE=1; `--timeout` = RSYNC_TIMEOUT_S), progress from `--info=progress2`, the `--stats` numbers in
 * `details`. Throws PhaseError (the phase runner records it) when rsync fails; rsync's exit codes 23/24 (partial
 * transfer, vanished files) are explained in the message (lib/core/tools.ts).
 */
/**
 * The summary's note on the source symlinks rsync skipped (`--safe-links`: they point outside SRC_ASSETS_DIR): how
 * many and the first five as `path -> target` (the phase log has every one). Empty when none was skipped.
 */
export function unsafeLinksNote(links: { path: string; target: string }[]): string {
  if (links.length === 0) return '';
  const shown = links.slice(0, 5).map((l) => `${l.path} -> ${l.target}`);
  const more = links.length > 5 ? `, and ${links.length - 5} more (see the phase log)` : '';
  return `; ${links.length} symlink(s) pointing outside the source tree NOT copied: ${shown.join(', ')}${more}`;
}

export async function runMirror(ctx: PhaseCtx): Promise<PhaseOutcome> {
  // DST_ASSETS_DIR resolved once, judged again now and used resolved: a symlink swapped after the preflight (or during
  // the copy) cannot carry the mirror, or rsync --delete, into another directory.
  const real = await resolvedMirrorTarget(ctx.config);
  const config: Config = { ...ctx.config, dstAssetsDir: real, dstAssetsReal: real };
  if (real !== path.resolve(ctx.config.dstAssetsDir))
    ctx.say(`DST_ASSETS_DIR ${ctx.config.dstAssetsDir} leads to ${real}: mirroring into ${real}`);
  // Only the last component is ever created (preflight refused a missing parent: a misspelled DST_ASSETS_DIR must not
  // become a fresh tree that the checks then call complete), and it is said.
  if (!fs.existsSync(config.dstAssetsDir)) {
    fs.mkdirSync(config.dstAssetsDir);
    ctx.say(`created DST_ASSETS_DIR ${config.dstAssetsDir} (its parent existed; nothing else was created)`);
  }
  // From here on the directory is reached only through this descriptor: rsync writes (and deletes) in it as
  // `/proc/self/fd/3/`, whatever happens to the path (lib/phases/pinned.ts).
  const pin = pinMirrorTarget(real);
  try {
    return await mirrorPinned(ctx, config, pin);
  } finally {
    pin.close();
  }
}

/**
 * A line of rsync's with the open directory's name (`/proc/self/fd/3`, what rsync was given) back to the directory
 * it stands for: a failure names DST_ASSETS_DIR's resolved path, as the operator knows it, not the descriptor.
 */
function shownAt(line: string, pin: Pinned, config: Config): string {
  return line.split(pin.child).join(config.dstAssetsDir);
}

/** runMirror once DST_ASSETS_DIR is open (`pin`): rsync into the open directory, progress, stats, the marker. */
async function mirrorPinned(ctx: PhaseCtx, config: Config, pin: Pinned): Promise<PhaseOutcome> {
  const content = mirrorChecksum(config.assetsMirrorChecksum ?? 'auto', pin.here);
  // What is shown (and named in a failure): the resolved path; what runs: the same command into the open directory.
  const cmd = rsyncCommand(config, { checksum: content.checksum });
  const pinned = withPinned(rsyncCommand({ ...config, dstAssetsDir: pin.child }, { checksum: content.checksum }), pin);
  ctx.say(`content check: ${content.why}`);
  ctx.say(
    `${displayCommand(cmd)}${config.assetsDelete ? `   (${assetsDeleteSetting(config)}: target files missing from the source are deleted)` : ''}`,
  );
  const statLines: string[] = [];
  let changes = 0;
  let deletions = 0;
  const unsafeLinks: { path: string; target: string }[] = [];
  const t0 = Date.now();
  const progress = new Progress<RsyncProgress>({
    // rsync's bytes and percentage, with our rate, elapsed time and ETA over the whole transfer.
    format: (p) => {
      const ms = Date.now() - t0;
      return `${mirrorLine(p, formatBytes)}, ${formatBytes(Math.round(ms > 0 ? (p.bytes * 1000) / ms : 0))}/s, ${timing(p.percent / 100, ms)}`;
    },
    fraction: (p) => p.percent / 100,
    writer: phaseWriter(ctx.say, '[mirror] '),
    tty: stdoutIsTty(),
  });
  let last: RsyncProgress = { bytes: 0, percent: 0, files: 0 };
  progress.start(last);
  // --info=progress2: one running total for the whole transfer (not per file), separated by carriage returns.
  const run = { ...pinned, args: ['--info=progress2', ...pinned.args] };
  const r = await runCommand(run, {
    phase: 'mirror',
    log: ctx.log,
    // Progress updates (and the empty lines their carriage returns leave between two itemized lines) stay out of
    // the log: one per file would double it.
    notInLog: (line) => line.trim() === '' || parseRsyncProgress2(line) !== undefined,
    onStdout: (line) => {
      const p = parseRsyncProgress2(line);
      if (p) {
        last = p;
        progress.update(p);
      } else if (line.startsWith('*deleting')) deletions++;
      else if (parseUnsafeLink(line)) unsafeLinks.push(parseUnsafeLink(line)!);
      else if (/^[<>ch.*][fdLDS][.+?a-zA-Z]{7,}/.test(line)) changes++;
      else statLines.push(line);
    },
  });
  if (r.code !== 0)
    throw toolFailure(
      'mirror',
      cmd,
      { ...r, stderrTail: r.stderrTail.map((l) => shownAt(l, pin, config)) },
      rsyncMeaning(r.code),
      {
        log: ctx.log,
      },
    );
  const stats = parseRsyncStats(statLines);
  progress.finish({
    ...last,
    percent: 100,
    bytes: stats.transferredBytes ?? last.bytes,
    files: stats.transferred ?? last.files,
    ...(stats.files !== undefined ? { checked: stats.files, total: stats.files, totalFinal: true } : {}),
  });
  // Record on the target database which directory this tool mirrored (ASSETS_DELETE=1 is accepted there next time).
  ctx.log.line((await leaveMarker(config.dst, { assetsDir: assetsMarkerValue(config) }, config)).note);
  return {
    reason: `${config.srcAssetsDir} → ${config.dstAssetsDir}: ${stats.files ?? '?'} entries, ${stats.transferred ?? 0} files transferred, ${stats.deleted ?? deletions} deleted${config.assetsDelete ? '' : ' (ASSETS_DELETE off)'}; ${content.checksum ? 'content compared (--checksum)' : 'size + mtime quick check'}${unsafeLinksNote(unsafeLinks)}`,
    exitCode: r.code,
    details: {
      command: displayCommand(cmd),
      itemizedChanges: changes,
      deletions,
      stats,
      checksum: content.checksum,
      contentCheck: content.why,
      unsafeLinksSkipped: unsafeLinks,
    },
  };
}
