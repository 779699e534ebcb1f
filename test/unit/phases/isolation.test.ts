import { describe, expect, test } from 'vitest';
import {
  detachServersSql,
  isolationLines,
  isolationTocRules,
  linksFromSql,
  parseOptionList,
} from '../../../lib/phases/isolation.ts';
import { filterToc, parseTocEntries } from '../../../lib/phases/toc-filter.ts';
import { redactor } from '../../../lib/core/redact.ts';

const target = { host: '127.0.0.1', port: 5433 };
const source = { host: '127.0.0.1', port: 5432 };

// What `pg_restore --use-list=<servers, mappings, subscriptions> --file=-` printed for the rw17 + rw18 source.
const RENDERED = `SET client_min_messages = warning;
CREATE SERVER legacy_srv FOREIGN DATA WRAPPER postgres_fdw OPTIONS (
    dbname 'fdw_remote',
    host '127.0.0.1',
    port '5432'
);
ALTER SERVER legacy_srv OWNER TO rehearsal;
CREATE SERVER loopback FOREIGN DATA WRAPPER postgres_fdw OPTIONS (
    port '5433'
);
CREATE SERVER "Other Srv" FOREIGN DATA WRAPPER dblink_fdw OPTIONS (
    hostaddr '203.0.113.7'
);
CREATE USER MAPPING FOR rehearsal SERVER legacy_srv OPTIONS (
    password 'fdw-unit-pw',
    "user" 'fdw_user'
);
CREATE USER MAPPING FOR rehearsal SERVER loopback OPTIONS (
    "user" 'x'
);
CREATE SUBSCRIPTION feed_sub CONNECTION 'host=127.0.0.1 port=5432 dbname=postgres user=postgres password=sub-unit-pw' PUBLICATION upstream_pub WITH (connect = false, slot_name = 'feed_sub'); -- secret-scan:allow (made-up fixture password)
`;

const LIST = `;
; Archive created at ...
3; 3079 16423 EXTENSION - postgres_fdw 
2097; 1417 16401 SERVER - legacy_srv rehearsal
2098; 1417 16402 SERVER - loopback rehearsal
3419; 0 0 USER MAPPING - USER MAPPING rehearsal SERVER legacy_srv rehearsal
3420; 0 0 USER MAPPING - USER MAPPING rehearsal SERVER loopback rehearsal
216; 1259 16403 FOREIGN TABLE public legacy_customers rehearsal
3406; 6104 16420 PUBLICATION - orders_pub rehearsal
3407; 6106 16421 PUBLICATION TABLE public orders_pub orders rehearsal
3408; 6100 16422 SUBSCRIPTION - feed_sub rehearsal
3409; 0 0 COMMENT - SUBSCRIPTION feed_sub rehearsal
`;

describe('archive links', () => {
  test('parseOptionList reads quoted keys and doubled quotes', () => {
    expect(parseOptionList(`dbname 'a''b',\n "user" 'u', port '1'`)).toEqual({ dbname: "a'b", user: 'u', port: '1' });
  });

  test('servers, user mappings and subscriptions with where they point; passwords registered for redaction', () => {
    const links = linksFromSql(RENDERED, target, source);
    expect(links.map((l) => [l.kind, l.name, l.where])).toEqual([
      ['foreign server', 'legacy_srv', 'source'],
      ['foreign server', 'loopback', 'target'],
      ['foreign server', 'Other Srv', 'elsewhere'],
      ['user mapping', 'rehearsal SERVER legacy_srv', 'source'],
      ['user mapping', 'rehearsal SERVER loopback', 'target'],
      ['subscription', 'feed_sub', 'source'],
    ]);
    expect(redactor.redact('x fdw-unit-pw y sub-unit-pw')).not.toMatch(/unit-pw/);
  });

  test('a subscription whose password was redacted together with the closing quote is still read', () => {
    const sql = `CREATE SUBSCRIPTION s CONNECTION 'host=192.0.2.1 port=5 dbname=d password=*** PUBLICATION p WITH (connect = false);`;
    expect(linksFromSql(sql, target, source)[0]).toMatchObject({
      name: 's',
      endpoint: { hosts: ['192.0.2.1'], port: 5, dbname: 'd' },
    });
  });

  test('TOC rules leave out the mappings of servers pointing away and such subscriptions with their comments', () => {
    const links = linksFromSql(RENDERED, target, source);
    const out = filterToc(parseTocEntries(LIST), isolationTocRules({ isolation: 'detach' }, links));
    expect(out.map((x) => [x.entry.dumpId, x.rule])).toEqual([
      [3419, 'isolation-user-mapping'],
      [3408, 'isolation-subscription'],
      [3409, 'isolation-subscription'],
    ]);
    expect(out[0].reason).toMatch(/legacy_srv, which points at the SOURCE \(127\.0\.0\.1:5432\/fdw_remote\)/);
    expect(out[0].reason).not.toMatch(/unit-pw/);
    expect(isolationTocRules({ isolation: 'keep' }, links)).toEqual([]);
  });

  test('servers pointing away are pointed at the .invalid host; keep leaves them', () => {
    const links = linksFromSql(RENDERED, target, source);
    expect(detachServersSql({ isolation: 'detach' }, links)).toEqual([
      `ALTER SERVER "legacy_srv" OPTIONS (SET host 'rehearsal-isolated.invalid');`,
      `ALTER SERVER "Other Srv" OPTIONS (DROP hostaddr, ADD host 'rehearsal-isolated.invalid');`,
    ]);
    expect(detachServersSql({ isolation: 'keep' }, links)).toEqual([]);
    const lines = isolationLines({ isolation: 'detach' }, links);
    expect(lines[0]).toBe(
      'ISOLATION: foreign server legacy_srv (postgres_fdw) → 127.0.0.1:5432/fdw_remote, the SOURCE: restored, then pointed at rehearsal-isolated.invalid (detached)',
    );
    expect(lines[1]).toMatch(/loopback .*the target itself: restored as is$/);
    expect(lines[5]).toMatch(/^ISOLATION: subscription feed_sub → 127\.0\.0\.1:5432\/postgres, the SOURCE: LEFT OUT/);
    expect(isolationLines({ isolation: 'keep' }, links)[0]).toMatch(/RESTORED AS IS \(ISOLATION=keep\)/);
  });

  test('PUBLICATION TABLE is its own TOC type', () => {
    expect(parseTocEntries(LIST).find((e) => e.dumpId === 3407)).toMatchObject({
      type: 'PUBLICATION TABLE',
      schema: 'public',
    });
  });
});
