/**
 * The effective verdict of a run and its reruns: per check, its latest result across the original run and every
 * `--rerun-failed` that followed it (each rerun records the run it retried, `rerunOf`, so the chain is read back
 * from the manifests). This is what a person signs off and what the CI junit.xml shows after a rerun: every check
 * present, none left "skipped" just because a rerun did not select it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CheckRecord, ChecksFile } from './reporter.ts';
import { tally, type RunTotals } from './totals.ts';

export const EFFECTIVE_FILE = 'effective.json';

export interface EffectiveCheck extends CheckRecord {
  /** The run whose result this is. */
  fromRun: string;
}

export interface EffectiveView {
  /** The original run first, then each rerun in order; the last is the run this view was written for. */
  runs: string[];
  totals: Required<RunTotals>;
  checks: EffectiveCheck[];
}

function key(c: Pick<CheckRecord, 'file' | 'namePath' | 'fullName'>): string {
  return `${c.file} › ${(c.namePath ?? c.fullName.split(' > ')).join(' ')}`;
}

/**
 * Combine the checks of a chain of runs, oldest first: a check's entry is the one of the newest run that executed it
 * (passed or failed); a check a rerun did not select keeps its earlier result.
 * @param chain `[{ runId, checks }]`, the original run first
 */
export function combineRuns(chain: Array<{ runId: string; checks: ChecksFile | undefined }>): EffectiveView {
  const byKey = new Map<string, EffectiveCheck>();
  for (const { runId, checks } of chain) {
    for (const c of checks?.checks ?? []) {
      const k = key(c);
      const ran = (c.state === 'passed' || c.state === 'failed') && c.selected !== false;
      if (ran || !byKey.has(k)) byKey.set(k, { ...c, fromRun: runId });
    }
  }
  const checks = [...byKey.values()];
  return {
    runs: chain.map((r) => r.runId),
    totals: tally(checks),
    checks,
  };
}

/**
 * The chain of runs ending at `runDir`: follows each manifest's `rerunOf` (or the run's own `rerunOf` given for the
 * run being finalized, whose manifest is not written yet) back to the original run, within `runsDir`.
 */
export function runChain(
  runsDir: string,
  last: { runId: string; rerunOf?: string; checks: ChecksFile | undefined },
  read: (runDir: string) => { rerunOf?: string; checks?: ChecksFile } | undefined,
): Array<{ runId: string; checks: ChecksFile | undefined }> {
  const chain = [{ runId: last.runId, checks: last.checks }];
  const seen = new Set([last.runId]);
  let prev = last.rerunOf;
  while (prev && !seen.has(prev) && fs.existsSync(path.join(runsDir, prev))) {
    seen.add(prev);
    const r = read(path.join(runsDir, prev));
    chain.unshift({ runId: prev, checks: r?.checks });
    prev = r?.rerunOf;
  }
  return chain;
}
