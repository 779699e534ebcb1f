/**
 * rw10: the staging role owns the database but is not a superuser, and the DBA installed `vector` beforehand. The
 * restore leaves out the extension's superuser-only entries (CREATE EXTENSION, COMMENT ON EXTENSION), says so in the
 * restore log and the manifest, stays atomic, and the whole rehearsal is green.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { expectOutcome, filesContaining, junitCases, latestJunit, rehearse, stateOf } from '../../helpers/scenario.ts';
import { caseRun, ownerTarget } from '../../helpers/non-superuser.ts';

test('rw10 non-superuser owner with vector pre-installed by the DBA: green, the extension entries left out and said', async () => {
  const target = await ownerTarget({ vector: true });
  const s = await caseRun('rw10-non-superuser.sql', target);
  const r = await rehearse([], s.env);
  expect(r.code, r.output).toBe(0);
  // The case has one table and no assets: the families with nothing to check say so (skipped with the reason).
  const nothingToCheck = [
    /^health /,
    // (each under its stable name; the reason is the JUnit skip message)
    /^assets$/,
    /^path prefix$/,
    /^asset census (every file|sampled files)/,
    /^orphans$/,
    /^sequences$/,
    /^asset census unreferenced files under DST_ASSETS_DIR$/,
  ];
  const cases = expectOutcome(junitCases(latestJunit(s)), {}, { skipped: nothingToCheck });
  expect(cases.filter((c) => !c.skipped && !c.failed).map((c) => c.name)).toEqual(
    expect.arrayContaining([
      'row count public.items',
      'checksum public.items',
      'schema extensions',
      'pgvector extension version',
    ]),
  );
  const st = stateOf(s)!;
  const restore = st.phases.find((p) => p.name === 'restore')!;
  expect(restore.details).toMatchObject({ atomic: true, mode: 'single-transaction' });
  const excluded = (restore.details as { excluded: string[] }).excluded;
  expect(excluded).toEqual([
    expect.stringMatching(
      /^left out of the restore: EXTENSION vector \(extension-already-installed: extension vector is already installed on the target by another role; only its owner or a superuser may run this entry\)$/,
    ),
    expect.stringMatching(/^left out of the restore: COMMENT EXTENSION vector \(extension-already-installed: /),
  ]);
  // The restore log and the manifest say it too; the console as well.
  const log = fs.readFileSync(path.join(s.workDir, 'logs', 'restore.log'), 'utf8');
  expect(log).toMatch(/left out of the restore: COMMENT EXTENSION vector/);
  const runs = path.join(s.reportsDir, 'runs');
  const manifest = JSON.parse(fs.readFileSync(path.join(runs, fs.readdirSync(runs)[0], 'manifest.json'), 'utf8'));
  expect(manifest.restoreExcluded).toEqual(excluded);
  expect(r.output).toMatch(/left out of the restore: EXTENSION vector/);
  // Preflight recorded the role's powers.
  const notes = (st.phases[0].details as { notes: string[] }).notes.join('\n');
  expect(notes).toMatch(new RegExp(`target role ${target.role}: not a superuser; owns database`));
  expect((await target.db.query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(10);
  expect(filesContaining([s.workDir, s.reportsDir], target.password)).toEqual([]);
});
