import { expect, test } from 'vitest';
import {
  compareSettings,
  conninfosIn,
  alignStatement,
  describeSettingDiff,
  judgeCode,
  judgeServers,
  judgeSubscriptions,
} from '../../../../../lib/checks/families/isolation/isolation.ts';

const ends = { target: { host: '127.0.0.1', port: 5433 }, source: { host: '127.0.0.1', port: 5432 }, keep: false };

test('foreign servers: pointing at the source fails, detached warns, the target itself and hostless wrappers pass', () => {
  const v = judgeServers(
    [
      {
        name: 'legacy_srv',
        wrapper: 'postgres_fdw',
        options: ['host=127.0.0.1', 'port=5432', 'dbname=r'],
        mappings: 1,
      },
      { name: 'gone', wrapper: 'postgres_fdw', options: ['host=rehearsal-isolated.invalid', 'port=5432'], mappings: 0 },
      { name: 'loop', wrapper: 'postgres_fdw', options: ['port=5433'], mappings: 1 },
      { name: 'files', wrapper: 'file_fdw', options: [], mappings: 0 },
    ],
    ends,
  );
  expect(v.map((x) => x.verdict)).toEqual(['fail', 'warn', 'ok', 'ok']);
  expect(v[0].object).toBe('foreign server legacy_srv (postgres_fdw, 1 user mapping)');
  expect(v[0].state).toMatch(/^→ 127\.0\.0\.1:5432\/r, the SOURCE; queries through it on staging reach that server/);
  expect(
    judgeServers([{ name: 'legacy_srv', wrapper: 'postgres_fdw', options: ['host=h'], mappings: 1 }], {
      ...ends,
      keep: true,
    })[0],
  ).toMatchObject({ verdict: 'warn' });
});

test('subscriptions: live and pointing away fails; detached (disabled, no slot) warns; unreadable conninfo counts as away', () => {
  const v = judgeSubscriptions(
    [
      { name: 'feed', enabled: false, slot: 'feed', conninfo: 'host=127.0.0.1 port=5432 dbname=postgres' },
      { name: 'cut', enabled: false, slot: null, conninfo: 'host=127.0.0.1 port=5432' },
      { name: 'secret', enabled: true, slot: 's', conninfo: null },
    ],
    ends,
  );
  expect(v.map((x) => x.verdict)).toEqual(['fail', 'warn', 'fail']);
  expect(v[0].state).toMatch(/the SOURCE; disabled, slot feed; enabling it would consume/);
  expect(v[2].state).toMatch(/conninfo not readable/);
});

test('connection strings in code: the source fails, elsewhere warns, the target passes', () => {
  expect(conninfosIn(`SELECT * FROM dblink('host=192.0.2.3 port=6000 dbname=x user=u', 'select 1')`)).toEqual([
    { hosts: ['192.0.2.3'], port: 6000, dbname: 'x' },
  ]);
  const v = judgeCode(
    [
      { object: 'function public.f()', text: `dblink('host=127.0.0.1 port=5432 dbname=app', q)` },
      { object: 'view public.v', text: `'postgresql://u@198.51.100.9:5432/x'` },
      { object: 'function public.g()', text: `'host=localhost port=5433'` },
    ],
    ends,
  );
  expect(v.map((x) => [x.object, x.verdict])).toEqual([
    ['function public.f()', 'fail'],
    ['view public.v', 'warn'],
  ]);
});

test('settings: every difference is behaviour except the cosmetic allow-list; both directions', () => {
  const d = compareSettings(
    [{ scope: 'database', setting: 'search_path=app, public' }],
    [
      { scope: 'database', setting: 'session_replication_role=replica' },
      { scope: 'database', setting: 'TimeZone=Asia/Kathmandu' },
      { scope: 'database', setting: 'application_name=staging' },
      { scope: 'database', setting: 'log_min_duration_statement=0' },
      { scope: 'database', setting: 'hnsw.ef_search=100' },
      { scope: 'database', setting: 'app.tenant=acme' },
      { scope: 'role app in database', setting: 'default_transaction_read_only=on' },
    ],
  );
  expect(d.map((x) => [x.scope, x.name, x.behaviour])).toEqual([
    ['database', 'app.tenant', true],
    ['database', 'application_name', false],
    ['database', 'hnsw.ef_search', true],
    ['database', 'log_min_duration_statement', false],
    ['database', 'search_path', true],
    ['database', 'session_replication_role', true],
    ['database', 'timezone', true],
    ['role app in database', 'default_transaction_read_only', true],
  ]);
  expect(describeSettingDiff(d[5])).toBe(
    'database: session_replication_role source (not set), target replica (no foreign key or ordinary trigger fires on the target)',
  );
  expect(compareSettings([{ scope: 'database', setting: 'x=1' }], [{ scope: 'database', setting: 'x=1' }])).toEqual([]);
});

test('settings: each difference names both values and the ALTER DATABASE / ROLE … SET or RESET that aligns the target', () => {
  const d = compareSettings(
    [
      { scope: 'database', setting: 'DateStyle=ISO, MDY' },
      { scope: 'database', setting: 'search_path="$user", public' },
      { scope: 'role Web App in database', setting: "app.tenant=it's" },
    ],
    [
      { scope: 'database', setting: 'DateStyle=SQL, DMY' },
      { scope: 'database', setting: 'TimeZone=Asia/Kathmandu' },
    ],
  );
  expect(d.map((x) => alignStatement(x, 'My-DB'))).toEqual([
    `ALTER DATABASE "My-DB" SET datestyle TO 'ISO, MDY';`,
    'ALTER DATABASE "My-DB" SET search_path TO "$user", public;',
    'ALTER DATABASE "My-DB" RESET timezone;',
    `ALTER ROLE "Web App" IN DATABASE "My-DB" SET app.tenant TO 'it''s';`,
  ]);
  expect(describeSettingDiff(d[0], 'app')).toBe(
    "database: datestyle source ISO, MDY, target SQL, DMY (ALTER DATABASE app SET datestyle TO 'ISO, MDY';)",
  );
  expect(describeSettingDiff(d[2], 'app')).toBe(
    'database: timezone source (not set), target Asia/Kathmandu (ALTER DATABASE app RESET timezone;)',
  );
});
