/**
 * lib/phases/privileges: the roles a restore's SQL names, the verdict on the target role's powers (each refusal with
 * the DBA's statement), and the TOC rule that leaves out an extension's superuser-only entries.
 */
import { describe, expect, test } from 'vitest';
import { compareVersions } from '../../../lib/core/format.ts';
import {
  extensionsPresentRule,
  judgePrivileges,
  privilegeTocRules,
  rolesNamedBySql,
  type RolePowers,
  type TargetExtension,
} from '../../../lib/phases/privileges.ts';
import { filterToc, parseTocEntries } from '../../../lib/phases/toc-filter.ts';

describe('rolesNamedBySql', () => {
  test('policies, user mappings, owners and grants; pseudo-roles are not roles; quoted names keep their case', () => {
    const sql = [
      'CREATE POLICY reader_sees_all ON public.notes FOR SELECT TO app_reader USING (true);',
      'CREATE POLICY p2 ON public.notes TO "App Writer", PUBLIC WITH CHECK (true);',
      'CREATE POLICY p3 ON public.notes TO CURRENT_USER USING (true);',
      "CREATE USER MAPPING FOR etl SERVER legacy OPTIONS (user 'x');",
      'ALTER TABLE public.notes OWNER TO app_owner;',
      'GRANT SELECT ON TABLE public.notes TO reporting;',
    ].join('\n');
    expect(rolesNamedBySql(sql)).toEqual([
      { name: 'app_reader', why: 'policy reader_sees_all on public.notes' },
      { name: 'App Writer', why: 'policy p2 on public.notes' },
      { name: 'etl', why: 'user mapping on server legacy' },
      { name: 'app_owner', why: 'owner of table public.notes' },
      { name: 'reporting', why: 'a GRANT' },
    ]);
  });
  test('a policy without TO names no role', () => {
    expect(rolesNamedBySql('CREATE POLICY p ON public.t USING (true);')).toEqual([]);
  });
});

const owner: RolePowers = {
  role: 'app',
  superuser: false,
  dbOwner: 'app',
  ownsDb: true,
  publicOwner: 'pg_database_owner',
  ownsPublic: true,
  createOnPublic: true,
  createOnDb: true,
};
const vector = (over: Partial<TargetExtension> = {}): Map<string, TargetExtension> =>
  new Map([['vector', { name: 'vector', available: '0.8.0', ownedByRole: false, trusted: false, ...over }]]);
const judge = (over: Partial<Parameters<typeof judgePrivileges>[0]> = {}) =>
  judgePrivileges({
    powers: owner,
    database: 'staging',
    extensions: [{ name: 'vector', version: '0.8.0' }],
    targetExtensions: vector({ installed: '0.8.0', schema: 'public' }),
    neededRoles: [],
    existingRoles: new Set(),
    otherSchemas: [],
    dropPublic: false,
    cmp: compareVersions,
    ...over,
  });

describe('judgePrivileges', () => {
  test('owner, vector installed by the DBA: accepted, its extension entries to be left out', () => {
    const v = judge();
    expect(v.problems).toEqual([]);
    expect(v.extensionsPresent).toEqual(['vector']);
    expect(v.notes.join('\n')).toMatch(/target role app: not a superuser; owns database staging/);
  });
  test("vector in its own schema (Supabase's extensions), which the archive creates too: accepted, the schema kept", () => {
    for (const dropPublic of [false, true]) {
      const v = judge({
        targetExtensions: vector({ installed: '0.8.0', schema: 'extensions' }),
        otherSchemas: ['extensions', 'billing'],
        dropPublic,
      });
      expect(v.problems).toEqual([]);
      expect(v.extensionsPresent).toEqual(['vector']);
      expect(v.schemasKept).toEqual(['extensions']);
      // never advice that would remove what only a DBA can restore
      expect(v.notes.join('\n')).not.toMatch(/DROP|drop it/);
    }
    expect(judge().schemasKept).toEqual([]);
  });
  test('a superuser keeps the archive as it is', () => {
    expect(judge({ powers: { ...owner, superuser: true } }).extensionsPresent).toEqual([]);
  });
  test('vector not installed and not trusted: refused with the statement a DBA runs', () => {
    const v = judge({ targetExtensions: vector() });
    expect(v.problems).toEqual([
      expect.stringMatching(
        /role app cannot create extension vector \(not a superuser; vector is not a trusted extension\); a DBA runs in database staging: CREATE EXTENSION vector VERSION '0\.8\.0';/,
      ),
    ]);
  });
  test('a trusted extension is created by a role with CREATE on the database', () => {
    expect(judge({ targetExtensions: vector({ trusted: true }) }).problems).toEqual([]);
  });
  test("an installed extension older than the source's: ALTER EXTENSION … UPDATE", () => {
    expect(judge({ targetExtensions: vector({ installed: '0.7.4', schema: 'public' }) }).problems[0]).toMatch(
      /vector 0\.7\.4 installed, older than the source's 0\.8\.0; a DBA runs: ALTER EXTENSION vector UPDATE TO '0\.8\.0';/,
    );
  });
  test('missing roles are listed with where they are named, and one CREATE ROLE each', () => {
    const v = judge({
      neededRoles: [
        { name: 'app_reader', why: 'policy reader_sees_all on public.notes' },
        { name: 'present', why: 'a GRANT' },
      ],
      existingRoles: new Set(['present']),
    });
    expect(v.problems).toEqual([
      'the dump names role(s) the target cluster lacks: app_reader (policy reader_sees_all on public.notes); a DBA runs: CREATE ROLE app_reader NOLOGIN;',
    ]);
  });
  test('DST_DROP_SCHEMA=1 without owning public, and no CREATE on public without it', () => {
    expect(
      judge({ dropPublic: true, powers: { ...owner, ownsPublic: false, publicOwner: 'dba' } }).problems[0],
    ).toMatch(
      /DST_DROP_SCHEMA drops schema public, which role app does not own \(owner: dba\); a DBA runs: ALTER SCHEMA public OWNER TO app;/,
    );
    expect(judge({ powers: { ...owner, createOnPublic: false } }).problems[0]).toMatch(
      /a DBA runs: GRANT CREATE ON SCHEMA public TO app;/,
    );
  });
});

describe('the extension rule', () => {
  const list = [
    ';',
    '; Archive created at 2026-11-30 02:00:00 UTC',
    '2; 3079 16385 EXTENSION - vector ',
    '3; 0 0 COMMENT - EXTENSION vector ',
    '4; 1259 16400 TABLE public items app',
    '5; 0 16400 TABLE DATA public items app',
  ].join('\n');
  test('CREATE EXTENSION and COMMENT ON EXTENSION of a present extension are left out, nothing else', () => {
    const x = filterToc(parseTocEntries(list), [extensionsPresentRule(['vector'])]);
    expect(x.map((e) => [e.entry.dumpId, e.rule])).toEqual([
      [2, 'extension-already-installed'],
      [3, 'extension-already-installed'],
    ]);
    expect(x[0].reason).toMatch(/already installed on the target by another role; only its owner or a superuser/);
  });
  test("rules come from the preflight phase's details; none without them", () => {
    expect(privilegeTocRules({ phases: [] })).toEqual([]);
    expect(
      privilegeTocRules({
        phases: [{ name: 'preflight', status: 'ok', details: { extensionsPresent: ['vector'] } }],
      }).map((r) => r.id),
    ).toEqual(['extension-already-installed']);
  });
});
