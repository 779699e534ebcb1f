/**
 * Reading environment variables into typed values: the one set of rules the three configurations (the contract in
 * config.ts, the cutover's CUTOVER_*, the bench's BENCH_*) share. Each parser returns the value or an error text naming
 * the variable (configurations collect every problem and throw one ConfigError); an unset or blank variable means the
 * default. Defaults are written once, typed, in the rule; `--help` shows `String(default)`.
 */

export type Env = Record<string, string | undefined>;

/** Largest timeout in ms: PostgreSQL's statement_timeout and Node's setTimeout both stop at 2^31-1. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** Set to something other than white space (an empty `export X=` means "unset", as for every variable). */
export function isSet(raw: string | undefined): raw is string {
  return raw !== undefined && raw.trim() !== '';
}

/** A whole-number variable: its default and range (inclusive); `underscores` accepts `1_000_000`. */
export interface IntRule {
  default: number;
  min: number;
  max?: number;
  underscores?: boolean;
}

/**
 * `raw` as a whole number within the rule's range, the default when unset, or an error text:
 * `NAME="abc" is not a whole number`, `NAME=0 is out of range: use 1..64` (`it must be at least N` without a maximum).
 */
export function envInt(name: string, raw: string | undefined, rule: IntRule): number | string {
  if (!isSet(raw)) return rule.default;
  const v = rule.underscores ? raw.trim().replace(/_/g, '') : raw.trim();
  if (!/^-?\d+$/.test(v)) return `${name}="${raw}" is not a whole number`;
  const n = Number(v);
  const max = rule.max ?? Number.MAX_SAFE_INTEGER;
  if (n < rule.min || n > max) {
    return `${name}=${v} is out of range: ${rule.max === undefined ? `it must be at least ${rule.min}` : `use ${rule.min}..${max}`}`;
  }
  return n;
}

/** `raw` as a boolean (1/0, true/false, yes/no, on/off; any case), the default when unset, or an error text. */
export function envBool(name: string, raw: string | undefined, dflt: boolean): boolean | string {
  if (!isSet(raw)) return dflt;
  const v = raw.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  return `${name}="${raw}" is not a boolean; use 1 or 0 (true/false)`;
}

/** The way `--help` shows a typed default: booleans as 1/0, numbers and strings as written. */
export function showDefault(v: number | boolean | string): string {
  return typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
}
