/**
 * Issue 26, attack 24: "newlines or escape codes in a path or a table name forge console lines". The attacker's
 * source holds a table named `evil\n[checks] ok: FORGED\x1b[2J` and an asset file (and its stored path)
 * `ugc/x\n[mirror] ok: FORGED\x1b[2K.jpg`; both are made to fail (a row more on the source, the file gone on the
 * target). Proven on real clusters and files:
 *
 * - in-process (every family, as `--verify-only` judges): the row count, the checksum, the sampled asset and the
 *   census fail, each naming the culprit escaped (lib/core/display.ts: `U&"evil\000a…"` for an identifier, `\n`/`\x1b`
 *   in a path), and no check's name, message or note holds a raw newline (but the tool's own `\n  ` breaks) or ESC;
 * - one whole `--verify-only` run: the console has no line `[checks] ok: FORGED` / `[mirror] ok: FORGED` (leading
 *   whitespace allowed, as the attacker's kit counts it) and no raw ESC, yet shows the escaped names; checks.json,
 *   junit.xml and summary.md carry no raw ESC or forged line; plan.json (structured data) keeps the exact raw names.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { displayTable } from '../../lib/core/ident.ts';
import { shownPath } from '../../lib/core/display.ts';
import { verifyInProcess } from '../helpers/cases.ts';
import { failedNames, failureOf, outcome } from '../helpers/family.ts';
import { migrateByHand, rehearse, scenario } from '../helpers/scenario.ts';

const TABLE = 'evil\n[checks] ok: FORGED\x1b[2J';
const FILE = 'ugc/x\n[mirror] ok: FORGED\x1b[2K.jpg';
const STORED = `/app/.data/${FILE}`;
/** The attacker's kit counts a forged line with any leading whitespace. */
const FORGED = /^\s*\[(checks|mirror)\] ok: FORGED/m;
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

/** A newline that is not the tool's own break (`\n` + two spaces). */
const NAME_NEWLINE = /\n(?! {2})/;

test('a table name and an asset path with a newline and an escape code: every failing check names them escaped, no line is forged, no ESC reaches the console or the reports, plan.json keeps the exact names', async () => {
  const s = await scenario();
  await s.src.query(`CREATE TABLE public."${TABLE}" (id int PRIMARY KEY)`);
  await s.src.query(`INSERT INTO public."${TABLE}" VALUES (1)`);
  fs.writeFileSync(path.join(s.srcAssets, FILE), 'x\n');
  await s.src.query(
    'UPDATE public.ugc_assets SET storage_path = $1 WHERE id = (SELECT min(id) FROM public.ugc_assets)',
    [STORED],
  );
  await migrateByHand(s);
  // The faults: a row more on the source, the file gone on the target.
  await s.src.query(`INSERT INTO public."${TABLE}" VALUES (2)`);
  fs.rmSync(path.join(s.dstAssets, FILE));
  const env = { ASSETS_SAMPLE_N: '1000' };

  const table = displayTable({ schema: 'public', name: TABLE });
  expect(table).toBe('public.U&"evil\\000a[checks] ok: FORGED\\001b[2J"');
  const asset = `asset ugc_assets.storage_path ${shownPath(STORED)}`;
  expect(asset).toBe('asset ugc_assets.storage_path /app/.data/ugc/x\\n[mirror] ok: FORGED\\x1b[2K.jpg');

  // In-process: the culprits fail, named escaped; nothing raw in any name, message or note.
  const outcomes = await verifyInProcess(s, env);
  const failed = failedNames(outcomes);
  expect(failed).toEqual(expect.arrayContaining([`row count ${table}`, `checksum ${table}`, asset]));
  expect(failureOf(outcomes, `row count ${table}`)).toMatch(/expected the target to have 2 rows .* it has 1/);
  expect(failureOf(outcomes, asset)).toContain('missing: expected');
  expect(failureOf(outcomes, asset)).toContain('ugc/x\\n[mirror] ok: FORGED\\x1b[2K.jpg');
  const census = outcome(outcomes, 'asset census ugc_assets.storage_path');
  expect(census.verdict?.status).toBe('fail');
  expect(failureOf(outcomes, 'asset census ugc_assets.storage_path')).toContain('/app/.data/ugc/x\\n[mirror]');
  for (const o of outcomes) {
    const texts = [o.name, ...(o.verdict && o.verdict.status !== 'pass' ? [failureOf(outcomes, o.name)] : [])];
    texts.push(...o.notes.map((n) => n.message));
    for (const t of texts) {
      expect(t, o.name).not.toMatch(RAW_CONTROL);
      expect(t, o.name).not.toMatch(NAME_NEWLINE);
      expect(t, o.name).not.toMatch(FORGED);
    }
  }

  // One whole run for the console and the audit trail.
  const r = await rehearse(['--verify-only'], { ...s.env, HEALTH_CHECK: '0', ...env });
  expect(r.code, r.output.slice(-3000)).toBe(1);
  expect(r.output).not.toMatch(FORGED);
  expect(r.output).not.toContain('\x1b');
  expect(r.output).toContain(`✗ row count ${table}`);
  expect(r.output).toContain(`✗ ${asset}`);
  const runs = path.join(s.reportsDir, 'runs');
  const [runId] = fs.readdirSync(runs);
  const runDir = path.join(runs, runId);
  for (const f of ['checks.json', 'junit.xml', 'summary.md']) {
    const text = fs.readFileSync(path.join(runDir, f), 'utf8');
    expect(text, f).not.toContain('\x1b');
    expect(text, f).not.toContain('\\u001b'); // JSON's escape of a raw ESC in a message
    expect(text, f).not.toMatch(FORGED);
  }
  const checks = JSON.parse(fs.readFileSync(path.join(runDir, 'checks.json'), 'utf8')) as {
    checks: Array<{ name: string; state: string; errors: string[] }>;
  };
  const rowCount = checks.checks.find((c) => c.name === `row count ${table}`);
  expect(rowCount?.state).toBe('failed');
  for (const c of checks.checks) for (const e of [c.name, ...c.errors]) expect(e).not.toMatch(NAME_NEWLINE);
  // The evidence keeps the exact names: plan.json's structured table list and asset sample.
  const plan = JSON.parse(fs.readFileSync(path.join(runDir, 'plan.json'), 'utf8')) as {
    tables: Array<{ schema: string; name: string }>;
    assetSample: { items: Array<{ value: string }> };
  };
  expect(plan.tables).toContainEqual({ schema: 'public', name: TABLE });
  expect(plan.assetSample.items.map((i) => i.value)).toContain(STORED);
});
