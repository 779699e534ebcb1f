/**
 * What a migration carries beyond table rows: database properties, types, comments, schemas, and the archive's TOC
 * as the checklist (`schema coverage` warns about object types no check compares). In-process
 * (test/helpers/family.ts): the schema-parity family against a copy made by hand with pg_dump | pg_restore, the TOC
 * read from that very archive (`pg_restore --list`, parsed by the dump phase's `parseToc`).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect, test } from 'vitest';
import { withClient } from '../../lib/sandbox/clusters.ts';
import { quoteIdent } from '../../lib/core/ident.ts';
import { parseToc } from '../../lib/phases/dump.ts';
import { bodyOf, describe, expectFailures, outcome, runFamilies } from '../helpers/family.ts';
import { migrateByHand, scenario, type Scenario } from '../helpers/scenario.ts';

const SOURCE = `
CREATE SCHEMA billing;
CREATE TYPE billing.state AS ENUM ('open', 'paid');
CREATE DOMAIN billing.cents AS bigint CHECK (VALUE >= 0);
CREATE TABLE billing.invoices (id int PRIMARY KEY, state billing.state NOT NULL, total billing.cents);
INSERT INTO billing.invoices SELECT g, 'open', g * 100 FROM generate_series(1, 20) g;
COMMENT ON TABLE billing.invoices IS 'one row per invoice';
CREATE SCHEMA reporting;
CREATE TEXT SEARCH CONFIGURATION public.docs_ts (COPY = english);
CREATE TABLE billing.audit (id int);
CREATE RULE invoices_audit AS ON DELETE TO billing.invoices DO ALSO INSERT INTO billing.audit VALUES (OLD.id);
CREATE STATISTICS billing.invoices_stats ON state, total FROM billing.invoices;
`;

/** The TOC by entry type of the archive migrateByHand made (a real pg_dump custom archive). */
function archiveToc(s: Scenario): Record<string, number> {
  return parseToc(execFileSync('pg_restore', ['--list', path.join(s.tmp, 'by-hand.dump')], { encoding: 'utf8' })).toc;
}

test('database properties: a target database with another collation and locale provider is red, saying what differs', async () => {
  const s = await scenario({ fixture: false });
  await s.src.query(SOURCE);
  const src = (
    await s.src.query(`SELECT datcollate, datlocprovider FROM pg_database WHERE datname = current_database()`)
  ).rows[0];
  await withClient(s.dst.cluster, s.dst.cluster.database, async (c) => {
    await c.query(`DROP DATABASE ${quoteIdent(s.dst.name)} WITH (FORCE)`);
    await c.query(
      `CREATE DATABASE ${quoteIdent(s.dst.name)} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'und' LC_COLLATE 'C' LC_CTYPE 'C'`,
    );
  });
  await migrateByHand(s);
  const r = await runFamilies(s, ['schema-parity'], { env: { HEALTH_CHECK: '0' } });
  expectFailures(r, { 'schema database properties': /locale provider/ });
  const body = bodyOf(r, 'schema database properties');
  expect(src.datlocprovider).toBe('c');
  expect(body).toMatch(/locale provider \[source: libc \| target: icu\]/);
  expect(body).toMatch(/provider locale \(ICU locale \/ datlocale\) \[source: none \| target: und\]/);
  expect(body).toMatch(/the restore cannot change them: create the target database with the source's values/);
  if (src.datcollate !== 'C')
    expect(body).toMatch(new RegExp(`LC_COLLATE \\[source: ${src.datcollate} \\| target: C\\]`));
});

test('schema coverage: each archive entry type is listed with its check, the uncovered warned about; changes after the copy are red', async () => {
  const s = await scenario({ fixture: false });
  await s.src.query(SOURCE);
  await migrateByHand(s);
  const toc = archiveToc(s);
  const r = expectFailures(await runFamilies(s, ['schema-parity'], { toc, env: { HEALTH_CHECK: '0' } }), {});
  expect(outcome(r, 'schema coverage').verdict?.status, describe(r)).toBe('pass');
  const body = bodyOf(r, 'schema coverage');
  expect(body).toMatch(/TABLE DATA \(2\) by checksum/);
  expect(body).toMatch(/COMMENT \(1\) by schema comments/);
  expect(body).toMatch(/TYPE \(1\) by schema types and domains/);
  expect(body).toMatch(/RULE \(1\) by schema rules/);
  expect(body).toMatch(/STATISTICS \(1\) by schema extended statistics/);
  // compared as pg_dump renders it (schema other objects), so no longer a warning
  expect(body).toMatch(/TEXT SEARCH CONFIGURATION \(1\) by schema other objects/);
  expect(body).not.toMatch(/compared by no check/);

  // After the copy: an enum label added, a comment changed, an empty schema dropped, a domain's check dropped.
  await s.dst.query(`
    ALTER TYPE billing.state ADD VALUE 'void';
    COMMENT ON TABLE billing.invoices IS 'changed';
    DROP SCHEMA reporting;
    ALTER DOMAIN billing.cents DROP CONSTRAINT cents_check;
    ALTER TABLE billing.invoices DISABLE RULE invoices_audit;
    DROP STATISTICS billing.invoices_stats;`);
  const after = expectFailures(await runFamilies(s, ['schema-parity'], { env: { HEALTH_CHECK: '0' } }), {
    'schema comments':
      /COMMENT billing\.TABLE invoices differs: - COMMENT ON TABLE billing\.invoices IS 'one row per invoice'; \| \+ COMMENT ON TABLE billing\.invoices IS 'changed';/,
    'schema extended statistics': /STATISTICS billing\.invoices_stats missing on target/,
    'schema rules': /billing\.invoices\.invoices_audit disabled on the target but enabled on the source/,
    'schema schemas': /SCHEMA reporting missing on target/,
    'schema types and domains': /TYPE billing\.state differs: .*\+ 'void'/,
  });
  expect(bodyOf(after, 'schema rules')).toMatch(
    /RULE billing\.invoices invoices_audit differs: \+ ALTER TABLE billing\.invoices DISABLE RULE invoices_audit;/,
  );
  expect(bodyOf(after, 'schema types and domains')).toMatch(
    /DOMAIN billing\.cents differs: .*- .*CONSTRAINT cents_check CHECK/,
  );
  // Without an archive (a --verify-only run) the coverage check is skipped, never judged.
  const skipped = after.filter((o) => o.name.startsWith('schema coverage'));
  expect(skipped).toHaveLength(1);
  expect(skipped[0].verdict).toBeUndefined();
});
