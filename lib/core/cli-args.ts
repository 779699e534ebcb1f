/**
 * Command-line and environment hygiene shared by the CLIs (rehearse, cutover, bench, demo, sandbox): options parsed
 * with node's `util.parseArgs` (strict: an unknown option is an error), a "did you mean" for a mistyped option or a
 * mistyped variable of the contract, and nothing else. Pure: no process.exit, no printing.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from './errors.ts';

/** Levenshtein distance of two strings (insertions, deletions, substitutions; each costs 1). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word`, or undefined when none is close: within a third of the word's length (at least 2
 * edits), or one that extends the word / the word extends (`ROWCOUNT_TIMEOUT` → `ROWCOUNT_TIMEOUT_MS`). Case-insensitive.
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const lc = c.toLowerCase();
    let d = editDistance(w, lc);
    if (lc.startsWith(w) || w.startsWith(lc)) d = Math.min(d, 1);
    if (!best || d < best.d) best = { c, d };
  }
  if (!best) return undefined;
  return best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.c : undefined;
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * Parse `argv` against `options` (util.parseArgs, strict, no positionals unless `allowPositionals`). An unknown option
 * or a missing/extra value throws a ConfigError (exit 2 in every CLI) naming the option, the closest known one
 * (`unknown option "--dryrun" (did you mean --dry-run?); see npm run rehearse -- --help`) and where to look (`hint`, e.g. `npm run rehearse -- --help`).
 */
export function parseCliArgs<O extends OptionSpec>(
  argv: string[],
  options: O,
  hint: string,
  opts: { allowPositionals?: boolean } = {},
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: opts.allowPositionals ?? false });
  } catch (e) {
    const err = e as Error & { code?: string };
    const names = Object.keys(options).map((k) => `--${k}`);
    const m = /Unknown option '([^']+)'/.exec(err.message);
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && m) {
      const opt = m[1];
      const guess = opt.startsWith('--') ? didYouMean(opt.split('=')[0], names) : undefined;
      throw new ConfigError(`unknown option "${opt}"${guess ? ` (did you mean ${guess}?)` : ''}; see ${hint}`);
    }
    if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const p = /'([^']*)'/.exec(err.message)?.[1] ?? '';
      throw new ConfigError(`unknown option "${p}" (options start with --); see ${hint}`);
    }
    throw new ConfigError(`${err.message.replace(/\. To specify .*$/s, '').replace(/\.$/, '')}; see ${hint}`);
  }
}

/**
 * The prefixes of the contract's variables: a variable of the environment that starts with one of them but is not a
 * variable any part of the tool reads is most likely a typo, and it would otherwise be silently ignored.
 */
export const CONTRACT_PREFIXES = [
  'SRC_',
  'DST_',
  'ASSETS_',
  'ASSET_',
  'ROWCOUNT_',
  'CHECKSUM',
  'ORPHAN_',
  'VALIDATE_',
  'STAGING_',
  'HEALTH_',
  'RESTORE_',
  'DUMP_',
  'CUTOVER_',
  'BENCH_',
  'RSYNC_',
  'CONNECT_',
  'CHECK_',
] as const;

/**
 * One warning line per variable of `env` that carries a contract prefix but is not in `known`, with the closest known
 * name: `ROWCOUNT_TIMEOUT is not a variable this tool reads (ignored); did you mean ROWCOUNT_TIMEOUT_MS?`. Sorted by
 * name; empty when everything is known. Never throws (a warning, not a configuration error: exit codes unchanged).
 */
export function unknownEnvWarnings(env: Record<string, string | undefined>, known: readonly string[]): string[] {
  const knownSet = new Set(known);
  const out: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (env[name] === undefined || knownSet.has(name)) continue;
    if (!CONTRACT_PREFIXES.some((p) => name.startsWith(p))) continue;
    const guess = didYouMean(name, known);
    out.push(`warning: ${name} is not a variable this tool reads (ignored)${guess ? `; did you mean ${guess}?` : ''}`);
  }
  return out;
}
