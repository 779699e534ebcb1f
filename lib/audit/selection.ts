/**
 * `--select <family,…>` / `--exclude <family,…>`: which check families a run executes, by registry id
 * (lib/checks/registry.ts). The copy phases' family (`phases`) always runs: a run must say what it copied.
 * The selection becomes vitest file filters (one spec file per family) and is recorded in the manifest and reports.
 */
import { ConfigError } from '../core/errors.ts';
import { FAMILIES } from '../checks/registry.ts';

export interface Selection {
  /** The ids given to --select (empty: all). */
  select: string[];
  /** The ids given to --exclude. */
  exclude: string[];
  /** The families that run, in registry order. */
  families: string[];
  /** Their spec files. */
  specs: string[];
  /** vitest arguments narrowed to the selection: spec files given (a rerun) are filtered, else the specs added. */
  apply(args: string[]): string[];
}

/** The selection for these option values; undefined when neither was given. Throws ConfigError for an unknown id. */
export function selectionSpecs(select: string[] | undefined, exclude: string[] | undefined): Selection | undefined {
  if (!select?.length && !exclude?.length) return undefined;
  const known = new Set(FAMILIES.map((f) => f.id));
  const unknown = [...(select ?? []), ...(exclude ?? [])].filter((id) => !known.has(id));
  if (unknown.length)
    throw new ConfigError(
      `unknown check famil${unknown.length > 1 ? 'ies' : 'y'} ${unknown.map((u) => `"${u}"`).join(', ')} in --select/--exclude; known: ${[...known].join(', ')}`,
    );
  const chosen = FAMILIES.filter(
    (f) => f.id === 'phases' || ((!select?.length || select.includes(f.id)) && !exclude?.includes(f.id)),
  );
  const specs = chosen.map((f) => f.spec);
  return {
    select: select ?? [],
    exclude: exclude ?? [],
    families: chosen.map((f) => f.id),
    specs,
    apply(args) {
      const files = args.filter((a) => a.endsWith('.spec.ts'));
      if (!files.length) return [...specs, ...args];
      return args.filter((a) => !a.endsWith('.spec.ts') || specs.includes(a));
    },
  };
}
