/** The checks project's worker arguments (setup/checks-config.ts): the heap limit, and the operator's wins. */
import { expect, test } from 'vitest';
import { CHECK_WORKER_HEAP_MB, checksTestOptions, checkWorkerExecArgv } from '../../../setup/checks-config.ts';

test('the check workers get a heap limit under 2048 MB (V8 then grows the heap 2×, not 4×, between full GCs)', () => {
  expect(CHECK_WORKER_HEAP_MB).toBeLessThan(2048);
  expect(checkWorkerExecArgv({})).toEqual([`--max-old-space-size=${CHECK_WORKER_HEAP_MB}`]);
  expect(checkWorkerExecArgv({ NODE_OPTIONS: '--enable-source-maps' })).toEqual([
    `--max-old-space-size=${CHECK_WORKER_HEAP_MB}`,
  ]);
  expect(checksTestOptions({}, '/x', 'js').execArgv).toEqual([`--max-old-space-size=${CHECK_WORKER_HEAP_MB}`]);
});

test("an operator's NODE_OPTIONS heap limit is left to win (either spelling)", () => {
  expect(checkWorkerExecArgv({ NODE_OPTIONS: '--max-old-space-size=8192' })).toEqual([]);
  expect(checkWorkerExecArgv({ NODE_OPTIONS: '--enable-source-maps --max_old_space_size=512' })).toEqual([]);
});
