/**
 * Every environment variable some part of the tool reads (the contract table, the cutover's CUTOVER_*, the bench's
 * BENCH_*): the CLIs warn about a variable with a contract prefix that is not one of these (a typo would otherwise be
 * ignored silently). Here, not in lib/, because it spans layers that do not import each other.
 */
import { BENCH_VARS } from '../lib/bench/config.ts';
import { VARS } from '../lib/core/config.ts';
import { CUTOVER_VARS } from '../lib/cutover/config.ts';

/** Set by the cutover for its hooks (lib/cutover/hooks.ts); a hook may start the tool again with them inherited. */
const SET_FOR_CHILDREN = ['CUTOVER_PHASE', 'CUTOVER_WORK_DIR'];

export const KNOWN_VARS: readonly string[] = [
  ...[...VARS, ...CUTOVER_VARS, ...BENCH_VARS].map((v) => v.name),
  ...SET_FOR_CHILDREN,
];
