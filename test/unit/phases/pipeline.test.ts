/**
 * The restore's TOC rules come from the preflight's typed facts (not from a state bag one orchestrator fills and
 * another does not), and a gate record from before the facts existed still yields them.
 */
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../../lib/core/config.ts';
import { factsFromDetails } from '../../../lib/phases/pipeline.ts';
import { restoreTocRules } from '../../../lib/phases/restore.ts';
import { filterToc, parseTocEntries } from '../../../lib/phases/toc-filter.ts';

const config = parseConfig(
  { DST_DATABASE_URL: 'postgresql://u@db.invalid:5432/staging', DST_ASSETS_DIR: '/srv/staging/.data' },
  { mode: 'verify-only' },
);

const TOC = `;
; Archive created at 2026-12-07 04:00:00 UTC
;
2; 3079 16385 EXTENSION - vector
3; 0 0 COMMENT - EXTENSION vector 
215; 1259 16390 TABLE public items app
`;

describe('pipeline facts → restore rules', () => {
  test('an extension the DBA pre-installed is left out (CREATE and COMMENT), the rest restored', () => {
    const rules = restoreTocRules(config, { extensionsPresent: ['vector'] });
    const out = filterToc(parseTocEntries(TOC), rules);
    expect(out.map((x) => `${x.entry.type} ${x.entry.tag}`)).toEqual(['EXTENSION vector', 'COMMENT EXTENSION vector']);
  });

  test("a schema the archive creates that holds the DBA's extension on the target is kept: its CREATE SCHEMA left out", () => {
    const toc = `${TOC}5; 2615 16400 SCHEMA - extensions postgres\n6; 2615 16401 SCHEMA - billing postgres\n`;
    const rules = restoreTocRules(config, { extensionsPresent: ['vector'], schemasKept: ['extensions'] });
    const out = filterToc(parseTocEntries(toc), rules);
    expect(out.map((x) => `${x.entry.type} ${x.entry.tag}`)).toEqual([
      'EXTENSION vector',
      'COMMENT EXTENSION vector',
      'SCHEMA extensions',
    ]);
  });

  test('no fact, no extension rule', () => {
    const ids = (present: string[]) => restoreTocRules(config, { extensionsPresent: present }).map((r) => r.id);
    expect(ids([])).not.toContain('extension-already-installed');
    expect(ids(['vector'])).toContain('extension-already-installed');
  });

  test('facts from a recorded preflight result', () => {
    expect(factsFromDetails({ tools: { psql: '17.2' }, extensionsPresent: ['vector'], notes: ['n'] })).toEqual({
      tools: { psql: '17.2' },
      archive: undefined,
      destructive: [],
      notes: ['n'],
      extensionsPresent: ['vector'],
      schemasKept: [],
    });
    expect(factsFromDetails(undefined).extensionsPresent).toEqual([]);
  });
});
