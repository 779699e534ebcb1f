/**
 * The sampled asset check and the census resolve stored paths identically (one resolver, lib/checks/shared/asset-paths.ts):
 * for every stored path — a newline in the name (invisible to fast-glob's `**`), `/./` and `//` segments, a
 * directory symlink that stays inside the tree, a file path with a trailing '/', a missing file — the census calls
 * it dangling exactly when the sampled check fails it, and both call a path the source lacks too pre-existing (a file
 * path with a trailing '/' too: the source stores the same value, so it is broken alike there; rw35).
 * In-process (test/helpers/family.ts): the two families against a copy made by hand (`cp -a` keeps the relative
 * symlink); the copy phases' handling of such trees is the mirror's tests.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { bodyOf, describe, failureOf, outcome, runFamilies } from '../helpers/family.ts';
import { caseScenario } from '../helpers/real-world-case.ts';
import { migrateByHand } from '../helpers/scenario.ts';
import { shownPath } from '../../lib/core/display.ts';

const P = '/app/.data';
const PATHS: Array<[string, boolean]> = [
  [`${P}/odd/line\nbreak.jpg`, true],
  [`${P}/./odd/dot.jpg`, true],
  [`${P}/odd//double.jpg`, true],
  [`${P}/linkdir/inside.jpg`, true],
  [`${P}/odd/back\\slash.jpg`, true],
  [`${P}/odd/trailing.jpg/`, true], // broken alike in the source: pre-existing, a warning on both
  [`${P}/odd/gone.jpg`, false], // deleted on the target after the copy
  [`${P}/odd/never.jpg`, true], // missing in the source too: pre-existing, a warning on both
];

test('the sampled check and the census agree on every stored path (newline, /./, //, inside symlinked dir, trailing slash, missing)', async () => {
  const s = await caseScenario();
  await s.src.query('CREATE TABLE odd_paths (id int PRIMARY KEY, p text)');
  for (const [i, [p]] of PATHS.entries()) await s.src.query('INSERT INTO odd_paths VALUES ($1, $2)', [i + 1, p]);
  const odd = path.join(s.srcAssets, 'odd');
  fs.mkdirSync(odd);
  for (const f of [
    'line\nbreak.jpg',
    'dot.jpg',
    'double.jpg',
    'inside.jpg',
    'back\\slash.jpg',
    'trailing.jpg',
    'gone.jpg',
  ])
    fs.writeFileSync(path.join(odd, f), `bytes of ${f}`);
  fs.symlinkSync('odd', path.join(s.srcAssets, 'linkdir'));

  const env = { ASSET_COLUMNS: 'odd_paths.p:file', ASSETS_SAMPLE_N: '100' };
  const none = fs.mkdtempSync(path.join(s.tmp, 'none-'));
  await migrateByHand({ ...s, srcAssets: none }); // the database; the tree below keeps its relative symlink
  fs.rmSync(s.dstAssets, { recursive: true, force: true });
  execFileSync('cp', ['-a', s.srcAssets, s.dstAssets]);
  fs.rmSync(path.join(s.dstAssets, 'odd/gone.jpg'));
  const r = await runFamilies(s, ['assets', 'asset-census'], { env });
  const census = outcome(r, 'asset census odd_paths.p');
  expect(census.verdict?.status, describe(r)).toBe('fail');
  const failurePart = failureOf(r, 'asset census odd_paths.p');
  const text = bodyOf(r, 'asset census odd_paths.p');
  expect(text).toMatch(/1 of 8 paths do not resolve .*besides 2 already dangling in the source/);
  for (const [p, ok] of PATHS) {
    const sampled = outcome(r, `asset odd_paths.p ${shownPath(p)}`); // a newline shown as \n (issue 26)
    expect(
      sampled.verdict?.status === 'fail',
      `sampled check of ${JSON.stringify(p)}: ${bodyOf(r, sampled.name)}`,
    ).toBe(!ok);
    expect(failurePart.includes(`${shownPath(p)} (expected a file`), `census of ${JSON.stringify(p)}`).toBe(!ok);
  }
  const never = `${P}/odd/never.jpg (expected a file, found nothing (missing))`;
  expect(text).toMatch(/asset census odd_paths\.p: 2 dangling path\(s\) already dangling in the source tree/);
  expect(failurePart).not.toContain(never);
  expect(bodyOf(r, `asset odd_paths.p ${P}/odd/never.jpg`)).toMatch(
    /asset odd_paths\.p \/app\/\.data\/odd\/never\.jpg: already missing in the source/,
  );
  expect(bodyOf(r, `asset odd_paths.p ${P}/odd/trailing.jpg/`)).toMatch(
    /already missing in the source .*expected a file path, the stored path ends with "\/"; not read/,
  );
});
