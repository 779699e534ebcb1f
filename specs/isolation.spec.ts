/**
 * Staging isolation (lib/checks/isolation.ts): what on the target can reach outside it, with where it points, and
 * the database's behaviour settings against the source's. One test per kind of link, one for the settings.
 */
import { afterAll, test } from 'vitest';
import { closePools, dbErrorMessage } from '../lib/core/db.ts';
import { catalogRows, deepContext, sides } from '../lib/checks/deep-context.ts';
import {
  CODE_CONNINFO_SQL,
  DB_ROLE_SETTINGS_SQL,
  FOREIGN_SERVERS_SQL,
  GENERATED_COLUMNS_SQL,
  PUBLICATIONS_SQL,
  SUBSCRIPTION_CONNINFO_SQL,
  SUBSCRIPTIONS_SQL,
  compareSettings,
  describeSettingDiff,
  judgeCode,
  judgeServers,
  judgeSubscriptions,
  type LinkVerdict,
  type ServerRow,
  type SubscriptionRow,
} from '../lib/checks/isolation.ts';
import { fail, failNotChecked, warn, type Annotate } from '../lib/checks/verdict.ts';

const dc = deepContext();
afterAll(() => closePools());

const NAMES = {
  servers: 'isolation foreign servers and user mappings',
  subscriptions: 'isolation subscriptions',
  publications: 'isolation publications',
  code: 'isolation connection strings in functions and views',
  settings: 'isolation database and role settings (pg_db_role_setting)',
};

/** What the restore phase did about isolation (its evidence lines), for this check's evidence. */
const restoreLines = (): string[] => {
  const d = dc.ctx.phases.find((p) => p.name === 'restore')?.details;
  return [...((d?.isolation as string[] | undefined) ?? []), ...((d?.excluded as string[] | undefined) ?? [])];
};

async function report(
  name: string,
  verdicts: LinkVerdict[],
  annotate: Annotate,
  expect: (v: unknown, m?: string) => { toEqual(x: unknown): void },
) {
  for (const v of verdicts) {
    const line = `${v.object} ${v.state}`;
    if (v.verdict === 'warn') await warn(annotate, line);
    else await annotate(line, 'evidence');
  }
  const failed = verdicts.filter((v) => v.verdict === 'fail').map((v) => `${v.object} ${v.state}`);
  expect(failed, `${name}: staging reaches outside the target: ${failed.join('; ')}`).toEqual([]);
}

if (dc.blocked) {
  for (const n of Object.values(NAMES)) test(n, () => failNotChecked(dc.blocked!));
} else {
  const cfg = dc.cfg!;
  const ends = { target: cfg.dst, source: cfg.src, keep: cfg.isolation === 'keep' };
  const s = sides(cfg);
  const read = async <T extends Record<string, unknown>>(name: string, sql: string, which: 'src' | 'dst' = 'dst') => {
    try {
      return await catalogRows<T>(which === 'src' ? s.src! : s.dst, sql);
    } catch (e) {
      fail(
        `${name}: reading the ${which === 'src' ? 'source' : 'target'} catalog failed: ${dbErrorMessage(which === 'src' ? cfg.src! : cfg.dst, e)}`,
      );
    }
  };

  test(NAMES.servers, async ({ expect, annotate }) => {
    const rows = await read<ServerRow & Record<string, unknown>>(NAMES.servers, FOREIGN_SERVERS_SQL);
    for (const l of restoreLines().filter((l) => /foreign server|user mapping|USER MAPPING|SERVER/.test(l)))
      await annotate(`restore: ${l}`, 'evidence');
    await annotate(`${rows.length} foreign servers on the target (ISOLATION=${cfg.isolation})`, 'evidence');
    await report(NAMES.servers, judgeServers(rows, ends), annotate, expect);
  });

  test(NAMES.subscriptions, async ({ expect, annotate }) => {
    const rows = await read<SubscriptionRow & Record<string, unknown>>(NAMES.subscriptions, SUBSCRIPTIONS_SQL);
    if (rows.length) {
      // subconninfo is readable by superusers only: without it, a subscription counts as pointing away.
      const info = await catalogRows<{ name: string; conninfo: string }>(s.dst, SUBSCRIPTION_CONNINFO_SQL).catch(
        () => [],
      );
      for (const r of rows) r.conninfo = info.find((i) => i.name === r.name)?.conninfo ?? null;
    }
    for (const l of restoreLines().filter((l) => /subscription|SUBSCRIPTION/.test(l)))
      await annotate(`restore: ${l}`, 'evidence');
    await annotate(`${rows.length} subscriptions in the target database (ISOLATION=${cfg.isolation})`, 'evidence');
    await report(NAMES.subscriptions, judgeSubscriptions(rows, ends), annotate, expect);
  });

  test(NAMES.publications, async ({ annotate }) => {
    const rows = await read<{ name: string; all_tables: boolean; tables: number }>(
      NAMES.publications,
      PUBLICATIONS_SQL,
    );
    await annotate(
      `${rows.length} publications on the target (they reach nothing; a subscriber elsewhere could connect to them)${rows.length ? `: ${rows.map((r) => `${r.name} (${r.all_tables ? 'all tables' : `${r.tables} tables`})`).join(', ')}` : ''}`,
      'evidence',
    );
  });

  test(NAMES.code, async ({ expect, annotate }) => {
    const rows = await read<{ object: string; text: string }>(NAMES.code, CODE_CONNINFO_SQL);
    await annotate(`${rows.length} functions / views hold text shaped like a connection string`, 'evidence');
    await report(NAMES.code, judgeCode(rows, ends), annotate, expect);
  });

  if (!cfg.src) {
    test.skip(`${NAMES.settings} (SRC_DATABASE_URL is not set: nothing to compare the target with)`, () => {});
  } else {
    test(NAMES.settings, async ({ expect, annotate }) => {
      type Row = { scope: string; setting: string };
      const [src, dst] = await Promise.all([
        read<Row>(NAMES.settings, DB_ROLE_SETTINGS_SQL, 'src'),
        read<Row>(NAMES.settings, DB_ROLE_SETTINGS_SQL, 'dst'),
      ]);
      const diffs = compareSettings(src, dst);
      await annotate(
        `source: ${src.length} settings (${src.map((r) => `${r.scope}: ${r.setting}`).join(', ') || 'none'}); target: ${dst.length} (${dst.map((r) => `${r.scope}: ${r.setting}`).join(', ') || 'none'}); ${diffs.length} differ`,
        'evidence',
      );
      for (const d of diffs.filter((x) => !x.behaviour))
        await warn(annotate, `setting differs (cosmetic, not judged): ${describeSettingDiff(d)}`);
      const bad = diffs.filter((x) => x.behaviour).map(describeSettingDiff);
      // Generated values are not in the dump: the restore recomputed them under the target's settings.
      const generated = bad.length
        ? (await read<{ col: string }>(NAMES.settings, GENERATED_COLUMNS_SQL)).map((r) => r.col)
        : [];
      const recomputed = generated.length
        ? `; STORED generated columns over user functions were recomputed by the restore under the target's settings and may hold other values: ${generated.join(', ')}`
        : '';
      expect(
        bad,
        `${NAMES.settings}: settings differ from the source's (each can change query results or the application's behaviour): ${bad.join('; ')}${recomputed} (ALTER DATABASE … SET / RESET them on the target as on the source)`,
      ).toEqual([]);
    });
  }
}
