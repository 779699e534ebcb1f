/**
 * The tools preflight approves are the tools the run executes: with PATH lacking the PostgreSQL client tools (found by
 * preflight under /usr/lib/postgresql/N/bin), the dump, the restore and the mirror run the absolute paths preflight
 * resolved and reported, instead of a bare `pg_dump` that the shell then cannot find.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { resolveOnPath } from '../../lib/core/tools.ts';
import { rehearse, scenario, tempDir } from '../helpers/scenario.ts';

test('a PATH without pg_dump/pg_restore/psql: the run uses the client tools preflight resolved (absolute paths)', async () => {
  const s = await scenario();
  const bin = tempDir('rehearsal-path-');
  for (const name of ['node', 'npm', 'rsync', 'sh']) {
    const file = resolveOnPath(name);
    expect(file, name).toBeDefined();
    fs.symlinkSync(file!, path.join(bin, name));
  }
  // DST_DROP_SCHEMA: the restore runs as pg_restore | psql, so all four tools run.
  const r = await rehearse([], { ...s.env, PATH: bin, DST_DROP_SCHEMA: s.dst.name }, { timeoutMs: 300_000 });
  expect(r.output).not.toMatch(/not found/);
  expect(r.code, r.output).toBe(0);
  // Preflight reports each tool with the file it resolved, and the phases ran exactly those files.
  const pre = /ok: tools (.*)/.exec(r.output)?.[1] ?? '';
  const reported = Object.fromEntries(
    [...pre.matchAll(/(pg_dump|pg_restore|psql|rsync) [\d.]+ \((\/[^)]+)\)/g)].map((m) => [m[1], m[2]]),
  );
  expect(Object.keys(reported).sort(), r.output).toEqual(['pg_dump', 'pg_restore', 'psql', 'rsync']);
  const logs = fs
    .readdirSync(s.workDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.log'))
    .map((f) => fs.readFileSync(path.join(s.workDir, f), 'utf8'))
    .join('\n');
  for (const [tool, file] of Object.entries(reported)) {
    expect(path.isAbsolute(file)).toBe(true);
    expect(logs, tool).toContain(` ${file} `);
    const commands = logs.split('\n').filter((l) => l.startsWith('$ '));
    expect(
      commands.filter((l) => l.includes(` ${tool} `) || l.startsWith(`$ ${tool} `)),
      tool,
    ).toEqual([]);
  }
}, 320_000);
