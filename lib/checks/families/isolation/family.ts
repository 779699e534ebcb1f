/**
 * Staging isolation (./isolation.ts): what on the target can reach outside it, with where it points, and the
 * database's behaviour settings against the source's. One test per kind of link, one for the settings.
 */
import { dbErrorMessage } from '../../../core/db.ts';
import { failed, type Entry, type Family, type Notes, type Verdict } from '../../family.ts';
import { configOf, type CheckContext } from '../../shared/context.ts';
import { catalogRows, sides } from '../../shared/deep-context.ts';
import { fail, warn } from '../../shared/verdict.ts';
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
} from './isolation.ts';

/** The isolation tests, by subject. */
export const NAMES = {
  servers: 'isolation foreign servers and user mappings',
  subscriptions: 'isolation subscriptions',
  publications: 'isolation publications',
  code: 'isolation connection strings in functions and views',
  settings: 'isolation database and role settings (pg_db_role_setting)',
} as const;
type Kind = keyof typeof NAMES;

/** What the restore phase did about isolation (its evidence lines), for this check's evidence. */
function restoreLines(ctx: CheckContext): string[] {
  const d = ctx.run.phases.find((p) => p.name === 'restore')?.details;
  return [...((d?.isolation as string[] | undefined) ?? []), ...((d?.excluded as string[] | undefined) ?? [])];
}

/** One catalog query on a side; a failure fails the check naming the side. */
async function read<T extends Record<string, unknown>>(
  ctx: CheckContext,
  kind: Kind,
  sql: string,
  which: 'src' | 'dst' = 'dst',
) {
  const cfg = configOf(ctx);
  const s = sides(cfg);
  try {
    return await catalogRows<T>(which === 'src' ? s.src! : s.dst, sql);
  } catch (e) {
    fail(
      `${NAMES[kind]}: reading the ${which === 'src' ? 'source' : 'target'} catalog failed: ${dbErrorMessage(which === 'src' ? cfg.src! : cfg.dst, e)}`,
    );
  }
}

/** Evidence per link, warnings as warnings, and the verdict: every `fail` link named. */
async function report(kind: Kind, verdicts: LinkVerdict[], notes: Notes): Promise<Verdict | void> {
  for (const v of verdicts) {
    const line = `${v.object} ${v.state}`;
    if (v.verdict === 'warn') await warn(notes, line);
    else await notes(line, 'evidence');
  }
  const bad = verdicts.filter((v) => v.verdict === 'fail').map((v) => `${v.object} ${v.state}`);
  if (bad.length) return failed(`${NAMES[kind]}: staging reaches outside the target: ${bad.join('; ')}`);
}

const ends = (ctx: CheckContext) => {
  const cfg = configOf(ctx);
  return { target: cfg.dst, source: cfg.src, keep: cfg.isolation === 'keep' };
};

const CHECKS: Record<Kind, (ctx: CheckContext, notes: Notes) => Promise<Verdict | void>> = {
  async servers(ctx, notes) {
    const rows = await read<ServerRow & Record<string, unknown>>(ctx, 'servers', FOREIGN_SERVERS_SQL);
    for (const l of restoreLines(ctx).filter((l) => /foreign server|user mapping|USER MAPPING|SERVER/.test(l)))
      await notes(`restore: ${l}`, 'evidence');
    await notes(`${rows.length} foreign servers on the target (ISOLATION=${configOf(ctx).isolation})`, 'evidence');
    return report('servers', judgeServers(rows, ends(ctx)), notes);
  },
  async subscriptions(ctx, notes) {
    const rows = await read<SubscriptionRow & Record<string, unknown>>(ctx, 'subscriptions', SUBSCRIPTIONS_SQL);
    if (rows.length) {
      // subconninfo is readable by superusers only: without it, a subscription counts as pointing away.
      const info = await catalogRows<{ name: string; conninfo: string }>(
        sides(configOf(ctx)).dst,
        SUBSCRIPTION_CONNINFO_SQL,
      ).catch(() => []);
      for (const r of rows) r.conninfo = info.find((i) => i.name === r.name)?.conninfo ?? null;
    }
    for (const l of restoreLines(ctx).filter((l) => /subscription|SUBSCRIPTION/.test(l)))
      await notes(`restore: ${l}`, 'evidence');
    await notes(
      `${rows.length} subscriptions in the target database (ISOLATION=${configOf(ctx).isolation})`,
      'evidence',
    );
    return report('subscriptions', judgeSubscriptions(rows, ends(ctx)), notes);
  },
  async publications(ctx, notes) {
    const rows = await read<{ name: string; all_tables: boolean; tables: number }>(
      ctx,
      'publications',
      PUBLICATIONS_SQL,
    );
    await notes(
      `${rows.length} publications on the target (they reach nothing; a subscriber elsewhere could connect to them)${rows.length ? `: ${rows.map((r) => `${r.name} (${r.all_tables ? 'all tables' : `${r.tables} tables`})`).join(', ')}` : ''}`,
      'evidence',
    );
  },
  async code(ctx, notes) {
    const rows = await read<{ object: string; text: string }>(ctx, 'code', CODE_CONNINFO_SQL);
    await notes(`${rows.length} functions / views hold text shaped like a connection string`, 'evidence');
    return report('code', judgeCode(rows, ends(ctx)), notes);
  },
  async settings(ctx, notes) {
    type Row = { scope: string; setting: string };
    const [src, dst] = await Promise.all([
      read<Row>(ctx, 'settings', DB_ROLE_SETTINGS_SQL, 'src'),
      read<Row>(ctx, 'settings', DB_ROLE_SETTINGS_SQL, 'dst'),
    ]);
    const diffs = compareSettings(src, dst);
    await notes(
      `source: ${src.length} settings (${src.map((r) => `${r.scope}: ${r.setting}`).join(', ') || 'none'}); target: ${dst.length} (${dst.map((r) => `${r.scope}: ${r.setting}`).join(', ') || 'none'}); ${diffs.length} differ`,
      'evidence',
    );
    for (const d of diffs.filter((x) => !x.behaviour))
      await warn(
        notes,
        `setting differs (cosmetic, not judged): ${describeSettingDiff(d, configOf(ctx).dst.database)}`,
      );
    const database = configOf(ctx).dst.database;
    const bad = diffs.filter((x) => x.behaviour).map((x) => describeSettingDiff(x, database));
    if (!bad.length) return;
    // Generated values are not in the dump: the restore recomputed them under the target's settings.
    const generated = (await read<{ col: string }>(ctx, 'settings', GENERATED_COLUMNS_SQL)).map((r) => r.col);
    const recomputed = generated.length
      ? `; STORED generated columns over user functions were recomputed by the restore under the target's settings and may hold other values: ${generated.join(', ')}`
      : '';
    return failed(
      `${NAMES.settings}: settings differ from the source's (each can change query results or the application's behaviour): ${bad.join('; ')}${recomputed}; each with the statement that gives the target the source's value`,
    );
  },
};

function subjects(ctx: CheckContext): Array<Entry<Kind>> {
  const kinds = Object.keys(NAMES) as Kind[];
  if (ctx.blocked || ctx.config?.src) return kinds.map((subject) => ({ subject }));
  return [
    ...kinds.filter((k) => k !== 'settings').map((subject) => ({ subject })),
    { skip: NAMES.settings, reason: 'SRC_DATABASE_URL is not set: nothing to compare the target with' },
  ];
}

export const isolation: Family<Kind> = {
  id: 'isolation',
  label: 'staging isolation',
  spec: 'specs/isolation.spec.ts',
  prefixes: ['isolation'],
  needsSource: false,
  reads: ['ISOLATION'],
  passesWhen:
    "nothing on the target reaches the source or another server (foreign servers, user mappings, subscriptions, connection strings in code) unless detached or ISOLATION=keep; every database / role setting (pg_db_role_setting) equals the source's, cosmetic ones excepted",
  planLines: () => ({
    head: 'what on the target could reach another server, and the behaviour settings',
    checks: (Object.keys(NAMES) as Kind[]).map((k) => isolation.name(k)),
  }),
  concurrent: false,
  subjects,
  name: (k) => NAMES[k],
  check: (k, ctx, notes) => CHECKS[k](ctx, notes),
};
