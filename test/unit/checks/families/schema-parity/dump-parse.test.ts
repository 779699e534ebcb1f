import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { parseDump } from '../../../../../lib/checks/families/schema-parity/dump-parse.ts';

const fixture = (n: string) => fs.readFileSync(path.join(import.meta.dirname, 'fixtures', n), 'utf8');

test('parseDump: every TOC entry of a real pg_dump 15 schema-only dump, with type, schema and name', () => {
  const e = parseDump(fixture('rw25-source.dump.sql'));
  expect(e.map((x) => `${x.type}|${x.schema}|${x.name}`)).toContain('TABLE|public|orders');
  expect(e.map((x) => `${x.type}|${x.name}`)).toContain('TABLE ATTACH|measurements_2025');
  expect(e.map((x) => `${x.type}|${x.name}`)).toContain('CONSTRAINT|orders orders_pkey');
  expect(e.filter((x) => x.type === 'TRIGGER').map((x) => x.name)).toEqual(['measurements measurements_touch']);
  const orders = e.find((x) => x.type === 'TABLE' && x.name === 'orders')!;
  expect(orders.owner).toBe('-');
  expect(orders.accessMethod).toBe('heap');
  expect(orders.lines.join('\n')).toMatch(/REPLICA IDENTITY FULL/);
  // the function written before the first SET default_table_access_method has none
  expect(e.find((x) => x.name === 'touch()')!.accessMethod).toBeUndefined();
});

test('parseDump: a header-shaped line inside a body is body text; text without headers yields no entry', () => {
  const text = [
    '--',
    '-- Name: f(); Type: FUNCTION; Schema: public; Owner: -',
    '--',
    '',
    'CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS $$',
    '-- Name: x; Type: TABLE; Schema: public; Owner: -',
    'SELECT 1 $$;',
  ].join('\n');
  const e = parseDump(text);
  expect(e).toHaveLength(1);
  expect(e[0].lines).toContain('-- Name: x; Type: TABLE; Schema: public; Owner: -');
  expect(parseDump('SET x = 1;\n')).toEqual([]);
});

test('parseDump: the closing "dump complete" block belongs to no entry (the last entry equals the same entry elsewhere)', () => {
  const e = parseDump(fixture('rw26-source.dump.sql'));
  const last = e[e.length - 1];
  expect(last.name).toBe('prices prices_pkey');
  expect(last.lines.filter((l) => l.startsWith('--'))).toEqual([]);
});
