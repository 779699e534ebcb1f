/**
 * Which tool produced an audit trail, where and for whom: migration-rehearsal's own version and git commit, the
 * vitest and node versions, the host name and the operator. Recorded in manifest.json (`provenance`), report.html and
 * junit.xml's suite properties, so a reviewer months later knows what made the files they read.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../core/project.ts';

export interface Provenance {
  /** `name version` of package.json, e.g. `migration-rehearsal 0.1.0`. */
  tool: string;
  /** The checkout's HEAD commit (40 hex digits, `+dirty` when files differ from it), or "not a git checkout". */
  commit: string;
  vitest: string;
  node: string;
  host: string;
  /** REHEARSAL_OPERATOR when set, else the login user. */
  operator: string;
}

export const NOT_GIT = 'not a git checkout';

function readVersion(file: string): { name?: string; version?: string } {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
  } catch {
    return {};
  }
}

/** HEAD of the checkout at `root` (with `+dirty` when tracked files changed), or NOT_GIT; never throws. */
export function gitCommit(root = PROJECT_ROOT): string {
  const git = (args: string[]) =>
    execFileSync('git', ['-C', root, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    });
  try {
    const head = git(['rev-parse', 'HEAD']).trim();
    if (!/^[0-9a-f]{40}$/.test(head)) return NOT_GIT;
    const dirty = git(['status', '--porcelain', '--untracked-files=no']).trim() !== '';
    return dirty ? `${head}+dirty` : head;
  } catch {
    return NOT_GIT;
  }
}

/** The login user: os.userInfo(), else $USER / $LOGNAME, else "unknown". */
function loginUser(env: NodeJS.ProcessEnv): string {
  try {
    return os.userInfo().username;
  } catch {
    return env.USER || env.LOGNAME || 'unknown';
  }
}

/**
 * This process's provenance.
 * @param operator REHEARSAL_OPERATOR from the configuration (config.operator), when set
 */
export function collectProvenance(
  operator?: string,
  env: NodeJS.ProcessEnv = process.env,
  root = PROJECT_ROOT,
): Provenance {
  const self = readVersion(path.join(root, 'package.json'));
  return {
    tool: `${self.name ?? 'migration-rehearsal'} ${self.version ?? 'unknown'}`,
    commit: gitCommit(root),
    vitest: readVersion(path.join(root, 'node_modules', 'vitest', 'package.json')).version ?? 'not installed',
    node: process.versions.node,
    host: os.hostname(),
    operator: operator || loginUser(env),
  };
}
