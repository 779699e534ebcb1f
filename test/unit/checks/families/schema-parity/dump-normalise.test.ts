import { expect, test } from 'vitest';
import { entryKey, normaliseEntry } from '../../../../../lib/checks/families/schema-parity/dump-normalise.ts';
import type { DumpEntry } from '../../../../../lib/checks/families/schema-parity/dump-parse.ts';

const entry = (lines: string[], over: Partial<DumpEntry> = {}): DumpEntry => ({
  name: 't',
  type: 'TABLE',
  schema: 'public',
  owner: '-',
  lines,
  ...over,
});

test('normaliseEntry: session SETs, restrict keys, owner lines and blank edges go; the SQL stays', () => {
  const t = normaliseEntry(
    entry(
      [
        '',
        'CREATE TABLE public.t (',
        '    id integer',
        ');',
        'ALTER TABLE public.t OWNER TO app;',
        '',
        '',
        "SET default_tablespace = '';",
        '\\unrestrict abc',
        '',
      ],
      { accessMethod: 'heap' },
    ),
  );
  expect(t).toBe('CREATE TABLE public.t (\n    id integer\n);\n-- access method: heap');
});

test('normaliseEntry: PostgreSQL 18 NOT NULL constraint names are dropped (older majors have none)', () => {
  expect(normaliseEntry(entry(['    id integer CONSTRAINT t_id_not_null NOT NULL,']))).toBe('    id integer NOT NULL,');
  expect(normaliseEntry(entry(['    id integer CONSTRAINT "my nn" NOT NULL']))).toBe('    id integer NOT NULL');
});

test('normaliseEntry: an inheritance child compares its columns as a set (the restore reorders them)', () => {
  const a = ['CREATE TABLE public.c (', '    b text,', '    a integer', ')', 'INHERITS (public.p);'];
  const b = ['CREATE TABLE public.c (', '    a integer,', '    b text', ')', 'INHERITS (public.p);'];
  expect(normaliseEntry(entry(a))).toBe(normaliseEntry(entry(b)));
  // a plain table keeps its column order
  expect(normaliseEntry(entry(a.slice(0, 4)))).not.toBe(normaliseEntry(entry(b.slice(0, 4))));
});

test('entryKey: type, schema and pg_dump tag; objects outside a schema by type and tag', () => {
  expect(entryKey({ type: 'FK CONSTRAINT', schema: 'public', name: 'event event_fk' })).toBe(
    'FK CONSTRAINT public.event event_fk',
  );
  expect(entryKey({ type: 'EXTENSION', schema: '-', name: 'vector' })).toBe('EXTENSION vector');
});

test('normaliseEntry: the internal pg_attver column option (rendered by a newer pg_dump of some 15 builds) is dropped', () => {
  expect(
    normaliseEntry(
      entry([
        'CREATE TABLE public.t (',
        '    id integer',
        ');',
        'ALTER TABLE ONLY public.t ALTER COLUMN id SET (pg_attver=32454312);',
        'ALTER TABLE ONLY public.t ALTER COLUMN id SET (n_distinct=5, pg_attver=32454312);',
      ]),
    ),
  ).toBe('CREATE TABLE public.t (\n    id integer\n);\nALTER TABLE ONLY public.t ALTER COLUMN id SET (n_distinct=5);');
});
