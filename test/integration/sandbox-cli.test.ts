/**
 * `npm run sandbox -- up|status|env|down`, run as a user would (child process), in a temp SANDBOX_DIR on free ports
 * so it never meets a developer's own `.sandbox` on 55432/56379.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, onTestFinished, test } from 'vitest';
import { libpqEnv, parseDsn, toPgConfig } from '../../lib/core/dsn.ts';
import {
  freePort,
  portIsFree,
  projectSandboxSettings,
  readProjectSandbox,
  redisPing,
  stopCluster,
} from '../../lib/sandbox/clusters.ts';
import { runCli, tempDir } from '../helpers/scenario.ts';

async function sandboxEnv(): Promise<Record<string, string>> {
  const parent = tempDir('sandbox-cli-');
  fs.chmodSync(parent, 0o755); // the clusters run as the postgres OS user when the tests run as root
  const dir = path.join(parent, 'sb');
  const env = {
    SANDBOX_DIR: dir,
    DRYRUN_POSTGRES_PORT: String(await freePort()),
    DRYRUN_REDIS_PORT: String(await freePort()),
  };
  onTestFinished(async () => {
    await runCli('sandbox', ['down'], env);
  });
  return env;
}

/** Evaluate export lines in bash exactly as `eval "$(npm run -s sandbox -- env)"` would; return the variables. */
function evalExports(lines: string, names: string[]): Record<string, string> {
  const r = spawnSync(
    'bash',
    ['-c', `eval "$1"; for n in ${names.join(' ')}; do printf '%s=%s\\0' "$n" "\${!n}"; done`, '_', lines],
    { encoding: 'utf8' },
  );
  expect(r.status, r.stderr).toBe(0);
  const out: Record<string, string> = {};
  for (const item of r.stdout.split('\0').filter(Boolean)) {
    const eq = item.indexOf('=');
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

async function login(dsn: string): Promise<string> {
  const client = new pg.Client(toPgConfig(parseDsn(dsn)));
  await client.connect();
  try {
    return (await client.query('SELECT current_database() AS db')).rows[0].db;
  } finally {
    await client.end();
  }
}

describe('npm run sandbox', () => {
  test('up, up again, status, env (DSNs in both forms log in), down removes everything', async () => {
    const env = await sandboxEnv();
    const up = await runCli('sandbox', ['up', '--fixture=5'], env);
    expect(up.code, up.output).toBe(0);
    expect(up.output).toContain(`up in ${env.SANDBOX_DIR}`);
    expect(up.output).toContain(`127.0.0.1:${env.DRYRUN_POSTGRES_PORT}/staging`);

    const again = await runCli('sandbox', ['up'], env);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(/already up/);

    // A stopped cluster (after a reboot, say): status says so, up restarts it on the same port.
    const settings = projectSandboxSettings(env);
    const recorded = readProjectSandbox(settings)!;
    await stopCluster(recorded, recorded.clusters.target!);
    const partly = await runCli('sandbox', ['status'], env);
    expect(partly.code, partly.output).toBe(1);
    expect(partly.stdout).toMatch(/target\s+STOPPED/);
    const resumed = await runCli('sandbox', ['up'], env);
    expect(resumed.code, resumed.output).toBe(0);
    expect(resumed.output).toContain(`restarting the target cluster on port ${env.DRYRUN_POSTGRES_PORT}`);

    const status = await runCli('sandbox', ['status'], env);
    expect(status.code, status.output).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`target\\s+running\\s+port ${env.DRYRUN_POSTGRES_PORT}`));
    expect(status.stdout).toMatch(new RegExp(`redis\\s+running\\s+port ${env.DRYRUN_REDIS_PORT}`));
    expect(status.stdout).toMatch(/source\s+running/);

    const out = await runCli('sandbox', ['env'], env);
    expect(out.code, out.output).toBe(0);
    const names = [
      'SRC_DATABASE_URL',
      'DST_DATABASE_URL',
      'SRC_ASSETS_DIR',
      'DST_ASSETS_DIR',
      'DRYRUN_POSTGRES_PORT',
      'DRYRUN_REDIS_PORT',
      'CELERY_BROKER_URL',
    ];
    const url = evalExports(out.stdout, names);
    const keyword = evalExports(
      out.stdout
        .split('\n')
        .filter((l) => l.startsWith('# keyword form: '))
        .map((l) => l.slice('# keyword form: '.length))
        .join('\n'),
      ['SRC_DATABASE_URL', 'DST_DATABASE_URL'],
    );
    expect(url.SRC_DATABASE_URL).toMatch(/^postgresql:\/\//);
    expect(keyword.DST_DATABASE_URL).toMatch(/^host=127\.0\.0\.1 port=\d+ dbname=staging user=rehearsal password='/);
    expect(parseDsn(url.DST_DATABASE_URL).port).toBe(Number(env.DRYRUN_POSTGRES_PORT));
    expect(url.DRYRUN_REDIS_PORT).toBe(env.DRYRUN_REDIS_PORT);
    for (const forms of [url, keyword]) {
      expect(await login(forms.SRC_DATABASE_URL)).toBe('legacy_app');
      expect(await login(forms.DST_DATABASE_URL)).toBe('staging');
    }
    // libpq tools through the keyword form, password in env only.
    const users = execFileSync('psql', ['-XAtc', 'SELECT count(*) FROM users'], {
      env: { PATH: process.env.PATH, ...libpqEnv(parseDsn(keyword.SRC_DATABASE_URL)) },
      encoding: 'utf8',
    });
    expect(users.trim()).toBe('5');
    expect(fs.readdirSync(path.join(url.SRC_ASSETS_DIR, 'ugc')).length).toBe(5);
    expect(fs.existsSync(url.DST_ASSETS_DIR)).toBe(true);
    expect(url.CELERY_BROKER_URL).toBe(`redis://127.0.0.1:${env.DRYRUN_REDIS_PORT}/0`);
    expect(await redisPing(Number(env.DRYRUN_REDIS_PORT))).toBe(true);

    // The password is printed by `env` only; on disk it lives in a 0600 file, not in state.json.
    const password = parseDsn(url.DST_DATABASE_URL).password!;
    for (const r of [up, again, status]) expect(r.output).not.toContain(password);
    expect(fs.statSync(path.join(env.SANDBOX_DIR, 'password')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(env.SANDBOX_DIR, 'state.json'), 'utf8')).not.toContain(password.slice(-12));

    const down = await runCli('sandbox', ['down'], env);
    expect(down.code, down.output).toBe(0);
    expect(fs.existsSync(env.SANDBOX_DIR)).toBe(false);
    expect(await portIsFree(Number(env.DRYRUN_POSTGRES_PORT))).toBe(true);
    expect(await portIsFree(Number(env.DRYRUN_REDIS_PORT))).toBe(true);
    expect(await portIsFree(parseDsn(url.SRC_DATABASE_URL).port)).toBe(true);

    const after = await runCli('sandbox', ['status'], env);
    expect(after.code).toBe(1);
    expect(after.output).toMatch(/not up/);
    const downAgain = await runCli('sandbox', ['down'], env);
    expect(downAgain.code).toBe(0);
    expect(downAgain.output).toMatch(/nothing to do/);
  });

  for (const which of ['DRYRUN_POSTGRES_PORT', 'DRYRUN_REDIS_PORT'] as const) {
    test(`up refuses a busy ${which} with a clear message and leaves nothing behind`, async () => {
      const env = await sandboxEnv();
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(Number(env[which]), '127.0.0.1', resolve));
      onTestFinished(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
      const r = await runCli('sandbox', ['up'], env);
      expect(r.code, r.output).toBe(2);
      expect(r.output).toContain(`port ${env[which]}`);
      expect(r.output).toMatch(/already in use/);
      expect(r.output).toContain(`${which}=<port>`);
      expect(fs.existsSync(env.SANDBOX_DIR)).toBe(false);
    });
  }

  test('the default ports are 55432/56379 and 5432/6379 are refused', () => {
    const s = projectSandboxSettings({}, '/project');
    expect(s).toEqual({ dir: '/project/.sandbox', postgresPort: 55432, redisPort: 56379 });
    expect(() => projectSandboxSettings({ DRYRUN_POSTGRES_PORT: '5432', DRYRUN_REDIS_PORT: '6379' })).toThrow(
      /DRYRUN_POSTGRES_PORT=5432 is the default PostgreSQL port[\s\S]*DRYRUN_REDIS_PORT=6379 is the default Redis port/,
    );
    expect(() => projectSandboxSettings({ DRYRUN_POSTGRES_PORT: 'abc' })).toThrow(/not a usable port/);
    expect(() => projectSandboxSettings({ SANDBOX_DIR: '/root/dockers/para/data/x' })).toThrow(/production data/);
  });
});
