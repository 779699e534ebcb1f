/**
 * What a migration carries beyond table rows: database properties, types, comments, schemas, and the archive's TOC
 * as the checklist (`schema coverage` warns about object types no check compares).
 */
import { expect, test } from 'vitest';
import { withClient } from '../../lib/sandbox/clusters.ts';
import { quoteIdent } from '../../lib/core/ident.ts';
import { caseNamed, runCase } from '../helpers/cases.ts';
import { migrateByHand, scenario } from '../helpers/scenario.ts';

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
  const r = await runCase(s, ['--verify-only']);
  expect(r.code, r.output).toBe(1);
  expect(r.failed).toEqual(['schema database properties']);
  const body = caseNamed(r, 'schema database properties').body;
  expect(src.datlocprovider).toBe('c');
  expect(body).toMatch(/locale provider \[source: libc \| target: icu\]/);
  expect(body).toMatch(/provider locale \(ICU locale \/ datlocale\) \[source: none \| target: und\]/);
  expect(body).toMatch(/the restore cannot change them: create the target database with the source's values/);
  if (src.datcollate !== 'C')
    expect(body).toMatch(new RegExp(`LC_COLLATE \\[source: ${src.datcollate} \\| target: C\\]`));
});

test('schema coverage: a full rehearsal lists each archive entry type with its check, and warns about the uncovered', async () => {
  const s = await scenario({ fixture: false });
  await s.src.query(SOURCE);
  const r = await runCase(s, []);
  expect(r.failed, r.output).toEqual([]);
  const c = caseNamed(r, 'schema coverage');
  expect(c.skipped).toBe(false);
  expect(c.body).toMatch(/TABLE DATA \(2\) by checksum/);
  expect(c.body).toMatch(/COMMENT \(1\) by schema comments/);
  expect(c.body).toMatch(/TYPE \(1\) by schema types and domains/);
  expect(c.body).toMatch(/RULE \(1\) by schema rules/);
  expect(c.body).toMatch(/STATISTICS \(1\) by schema extended statistics/);
  // compared as pg_dump renders it (schema other objects), so no longer a warning
  expect(c.body).toMatch(/TEXT SEARCH CONFIGURATION \(1\) by schema other objects/);
  expect(c.body).not.toMatch(/compared by no check/);

  // After the copy: an enum label added, a comment changed, an empty schema dropped, a domain's check dropped.
  await s.dst.query(`
    ALTER TYPE billing.state ADD VALUE 'void';
    COMMENT ON TABLE billing.invoices IS 'changed';
    DROP SCHEMA reporting;
    ALTER DOMAIN billing.cents DROP CONSTRAINT cents_check;
    ALTER TABLE billing.invoices DISABLE RULE invoices_audit;
    DROP STATISTICS billing.invoices_stats;`);
  const after = await runCase(s, ['--verify-only']);
  expect(after.failed, after.output).toEqual([
    'schema comments',
    'schema extended statistics',
    'schema rules',
    'schema schemas',
    'schema types and domains',
  ]);
  expect(caseNamed(after, 'schema rules').body).toMatch(
    /billing\.invoices\.invoices_audit disabled on the target but enabled on the source/,
  );
  expect(caseNamed(after, 'schema extended statistics').body).toMatch(
    /missing on target \(1\): billing\.invoices_stats/,
  );
  expect(caseNamed(after, 'schema schemas').body).toMatch(/missing on target \(1\): reporting/);
  expect(caseNamed(after, 'schema comments').body).toMatch(/different \(1\): table billing\.invoices \[source: md5/);
  const types = caseNamed(after, 'schema types and domains').body;
  expect(types).toMatch(
    /billing\.state \[source: enum \('open', 'paid'\) \| target: enum \('open', 'paid', 'void'\)\]/,
  );
  expect(types).toMatch(/billing\.cents \[source: domain over bigint cents_check CHECK/);
  const skipped = after.cases.find((x) => x.name.startsWith('schema coverage'))!;
  expect(skipped.name).toBe('schema coverage');
  expect(skipped.skipped).toBe(true);
});
