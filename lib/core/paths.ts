/**
 * Paths every part of the tool agrees on (the project root is lib/core/project.ts): the container path the application stores asset paths
 * under, and the one "is this path inside that root" rule (lexical; callers that must not follow symlinks out of a
 * tree resolve both sides with fs.realpath first).
 */
import path from 'node:path';

/**
 * The container path the application stores asset paths under (`/app/.data/knowledge/7/a.pdf`): the default of
 * ASSETS_DB_PATH_PREFIX, from the product contract (docs/contract.md, "Asset paths").
 */
export const DEFAULT_DB_PATH_PREFIX = '/app/.data';

/**
 * Whether `p` is `root` itself or lies below it, lexically (both resolved against the cwd first). A child whose name
 * merely starts with two dots (`root/..x`) IS inside; `root/../x`, a sibling (`/a/bc` for `/a/b`) and another drive or
 * absolute path are not. `allowSame: false` answers "strictly below" (the root itself is not inside).
 */
export function isInside(root: string, p: string, opts: { allowSame?: boolean } = {}): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(p));
  if (rel === '') return opts.allowSame ?? true;
  return rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel);
}
