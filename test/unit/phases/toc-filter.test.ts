/**
 * lib/phases/toc-filter: parsing `pg_restore --list`, applying rules, and the `--use-list` file that leaves entries
 * out with the reason written beside each.
 */
import { expect, test } from 'vitest';
import {
  exclusionLines,
  filterToc,
  parseTocEntries,
  useListText,
  type TocRule,
} from '../../../lib/phases/toc-filter.ts';

const LIST = `;
; Archive created at 2026-11-30 02:00:00 UTC
;     dbname: app
;
5; 2615 2200 SCHEMA - public pg_database_owner
2; 3079 16385 EXTENSION - vector 
4100; 0 0 COMMENT - EXTENSION vector 
220; 1259 16400 TABLE public users app
221; 1259 16410 FOREIGN SERVER - legacy_src app
3400; 0 16400 TABLE DATA public users app
`;

test('entries: dump id, multi-word type, schema, tag with spaces, owner', () => {
  const e = parseTocEntries(LIST);
  expect(e.map((x) => [x.dumpId, x.type, x.schema, x.tag, x.owner])).toEqual([
    [5, 'SCHEMA', undefined, 'public', 'pg_database_owner'],
    [2, 'EXTENSION', undefined, 'vector', undefined],
    [4100, 'COMMENT', undefined, 'EXTENSION vector', undefined],
    [220, 'TABLE', 'public', 'users', 'app'],
    [221, 'FOREIGN SERVER', undefined, 'legacy_src', 'app'],
    [3400, 'TABLE DATA', 'public', 'users', 'app'],
  ]);
});

test('rules leave entries out; the use-list comments them out with the reason; the rest is untouched', () => {
  const rules: TocRule[] = [
    {
      id: 'ext',
      exclude: (e) => (e.type === 'COMMENT' && e.tag === 'EXTENSION vector' ? 'already installed' : undefined),
    },
    { id: 'fdw', exclude: (e) => (e.type === 'FOREIGN SERVER' ? 'points at the source' : undefined) },
  ];
  const x = filterToc(parseTocEntries(LIST), rules);
  expect(x.map((y) => [y.entry.dumpId, y.rule])).toEqual([
    [4100, 'ext'],
    [221, 'fdw'],
  ]);
  const use = useListText(LIST, x);
  expect(use).toContain('; left out (ext: already installed)\n;4100; 0 0 COMMENT - EXTENSION vector');
  expect(use).toContain(';221; 1259 16410 FOREIGN SERVER - legacy_src app');
  expect(use).toContain('\n220; 1259 16400 TABLE public users app');
  expect(exclusionLines(x)).toEqual([
    'left out of the restore: COMMENT EXTENSION vector (ext: already installed)',
    'left out of the restore: FOREIGN SERVER legacy_src (fdw: points at the source)',
  ]);
});
