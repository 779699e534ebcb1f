/**
 * The sampled asset check and the census resolve stored paths identically (one resolver, lib/checks/shared/asset-paths.ts):
 * for every stored path — a newline in the name (invisible to fast-glob's `**`), `/./` and `//` segments, a
 * directory symlink that stays inside the tree, a file path with a trailing '/', a missing file — the census calls
 * it dangling exactly when the sampled check fails it, and both call a path the source lacks too pre-existing (a file
 * path with a trailing '/' too: the source stores the same value, so it is broken alike there; rw35).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { caseNamed, caseScenario, failureText, rehearseCase } from '../helpers/real-world-case.ts';

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
  const full = await rehearseCase(s, [], env);
  // every defect of the copy is pre-existing (never.jpg, trailing.jpg/): green with warnings
  expect(full.code, full.output).toBe(0);
  fs.rmSync(path.join(s.dstAssets, 'odd/gone.jpg'));
  const r = await rehearseCase(s, ['--verify-only'], env);
  expect(r.code, r.output).toBe(1);
  const census = caseNamed(r.cases, 'asset census odd_paths.p');
  expect(census.failed).toBe(true);
  const text = failureText(census);
  expect(text).toMatch(/1 of 8 paths do not resolve .*besides 2 already dangling in the source/);
  const failurePart = text.split('<failure')[1].split('</failure>')[0];
  for (const [p, ok] of PATHS) {
    const sampled = caseNamed(r.cases, `asset odd_paths.p ${p}`);
    expect(sampled.failed, `sampled check of ${JSON.stringify(p)}: ${failureText(sampled)}`).toBe(!ok);
    expect(failurePart.includes(`${p} (expected a file`), `census of ${JSON.stringify(p)}`).toBe(!ok);
  }
  const never = `${P}/odd/never.jpg (expected a file, found nothing (missing))`;
  expect(text).toMatch(
    /name="warning(?:\.\d+)?" value="asset census odd_paths\.p: 2 dangling path\(s\) already dangling in the source tree/,
  );
  expect(failurePart).not.toContain(never);
  expect(failureText(caseNamed(r.cases, `asset odd_paths.p ${P}/odd/never.jpg`))).toMatch(
    /name="warning(?:\.\d+)?" value="asset odd_paths\.p \/app\/\.data\/odd\/never\.jpg: already missing in the source/,
  );
  expect(failureText(caseNamed(r.cases, `asset odd_paths.p ${P}/odd/trailing.jpg/`))).toMatch(
    /warning.*already missing in the source .*expected a file path, the stored path ends with "\/"; not read/,
  );
});
