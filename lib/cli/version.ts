/**
 * `--version`: the tool's own version and the versions of what it runs on — node, the npm dependencies that do the
 * work (vitest, pg, zx, execa, fast-glob, fast-xml-parser, supertest) and the client tools found on PATH (pg_dump,
 * pg_restore, psql, rsync; "not found" when missing). Read-only; never connects to a database.
 */
import fs from 'node:fs';
import path from 'node:path';
import { toolVersion } from '../core/tools.ts';
import { PROJECT_ROOT } from '../core/project.ts';

/** The npm packages whose versions `--version` reports, in this order. */
export const REPORTED_PACKAGES = ['vitest', 'pg', 'zx', 'execa', 'fast-glob', 'fast-xml-parser', 'supertest'] as const;
/** The external tools whose `--version` is reported. */
export const REPORTED_TOOLS = ['pg_dump', 'pg_restore', 'psql', 'rsync'] as const;

/** `version` of `<root>/node_modules/<name>/package.json` (or of the project's own package.json), or "not installed". */
export function packageVersion(name: string | undefined, root = PROJECT_ROOT): string {
  const file = name ? path.join(root, 'node_modules', name, 'package.json') : path.join(root, 'package.json');
  try {
    return String((JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown');
  } catch {
    return 'not installed';
  }
}

/** The lines `--version` prints: `migration-rehearsal 0.1.0` first, then `  name  version`, one per dependency. */
export async function versionLines(): Promise<string[]> {
  const self = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { name: string };
  const rows: Array<[string, string]> = [['node', process.versions.node]];
  for (const p of REPORTED_PACKAGES) rows.push([p, packageVersion(p)]);
  const tools = await Promise.all(REPORTED_TOOLS.map((t) => toolVersion(t)));
  REPORTED_TOOLS.forEach((t, i) => rows.push([t, tools[i]?.line ?? 'not found on PATH']));
  const w = Math.max(...rows.map(([k]) => k.length));
  return [`${self.name} ${packageVersion(undefined)}`, ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`)];
}
