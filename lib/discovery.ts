/**
 * Discovery: what to check (tables, relations, asset columns, the asset sample), read from the catalogs.
 * STUB: filled in by the checks work (issue 4).
 */
import type { Config } from './config.ts';
import type { CheckPlan } from './state.ts';

export async function discoverPlan(config: Config, opts: { seed: string }): Promise<CheckPlan> {
  return {
    tablesFrom: 'none',
    tables: [],
    relations: [],
    assetColumns: [],
    assetSample: { seed: opts.seed, perColumn: config.assetsSampleN, items: [] },
  };
}
