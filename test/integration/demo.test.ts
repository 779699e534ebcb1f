/**
 * `npm run demo` end to end, run as a user would (`tsx scripts/demo.ts`, its own sandbox): green by default, and each
 * `--break <fault>` turns exactly its check red: through the whole demo for the fault seeded through a copy phase
 * (read from the run's junit.xml), in-process for the others (the demo's seeders, every family run in-process on a
 * copy made by hand). Small sizes keep CI fast.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import {
  applyFault,
  FAULT_EXPECTATIONS,
  FAULTS,
  reportingFamily,
  type FaultExpectation,
  type FaultName,
} from '../../lib/sandbox/demo-faults.ts';
import { FAMILIES, familyById } from '../../lib/checks/registry.ts';
import { parseDsn } from '../../lib/core/dsn.ts';
import { DEFAULT_DB_PATH_PREFIX } from '../../lib/core/paths.ts';
import { cliCommand } from '../../lib/core/project.ts';
import { describe as describeOutcomes, failedNames, runFamilies } from '../helpers/family.ts';
import {
  cleanEnv,
  filesContaining,
  junitCases,
  migrateByHand,
  ROOT,
  runCli,
  scenario,
  tempDir,
  type CliResult,
} from '../helpers/scenario.ts';

const USERS = '5';
/** The fixed part of every sandbox password (lib/sandbox.ts#awkwardPassword), raw and percent-encoded. */
const PASSWORD_SHAPES = [`w/o%rd 20\\x#y?z&k=v;`, 'w%2Fo%25rd%2020%5Cx%23y'];

function reportedRunDir(r: CliResult): string {
  const m = /^demo: reports: (.+)$/m.exec(r.stdout);
  expect(m, `the demo must print where the reports are:\n${r.output}`).not.toBeNull();
  return m![1].trim();
}

/** ` (also seen by …)` for a fault another family also sees, '' otherwise (part of the test names). */
function alsoSeen(want: FaultExpectation): string {
  return want.alsoBy.length ? ` (also seen by ${want.alsoBy.join(', ')})` : '';
}

/**
 * The red checks `red` of a run with `fault` seeded: at least one of the fault's family, naming its culprit; every red
 * check belongs to that family or one that may also see it, and names the same culprit.
 */
function expectOnlyCulprit(fault: FaultName, red: string[], context = ''): void {
  const want = FAULT_EXPECTATIONS[fault];
  const byFamily = red.map((name) => ({ family: reportingFamily(name), name }));
  expect(
    byFamily.some((c) => c.family === want.family && want.culprit.test(c.name)),
    `no failing ${want.family} check: ${JSON.stringify(byFamily)}\n${context}`,
  ).toBe(true);
  for (const c of byFamily) {
    expect([want.family, ...want.alsoBy], `unexpected red check "${c.name}" (${c.family})\n${context}`).toContain(
      c.family,
    );
    expect(c.name, `a red check about something else than the ${fault} culprit`).toMatch(want.culprit);
  }
}

function expectNoPasswordShape(text: string) {
  for (const shape of PASSWORD_SHAPES)
    expect(text.includes(shape), `output contains a password fragment "${shape}"`).toBe(false);
}

/** PIDs of live processes whose environment holds exactly `entry` (`NAME=value`), read from /proc/<pid>/environ. */
function processesWithEnv(entry: string): number[] {
  const found: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(entry)) found.push(Number(d));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}

/**
 * `node bin/run.mjs demo --users USERS` under a private TMPDIR (so every process it starts can be found by that
 * variable): the child, the folder, the pids still holding it, and `untilOut(re)` that resolves once stdout matched
 * (rejects if the demo ended first). Whatever happens, every process left with that TMPDIR is SIGKILLed when the test
 * finishes.
 */
function demoInPrivateTmp(prefix: string) {
  const tmp = tempDir(prefix);
  fs.chmodSync(tmp, 0o755);
  const pids = () => processesWithEnv(`TMPDIR=${tmp}`);
  onTestFinished(() => {
    for (const pid of pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
  const [file, argv] = cliCommand('demo', ['--users', USERS, '--reports-dir', path.join(tmp, 'reports')]);
  const child = spawn(file, argv, { cwd: ROOT, env: cleanEnv({ TMPDIR: tmp }), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const code = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  const untilOut = (re: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const look = () => re.test(stdout) && (child.stdout!.off('data', look), resolve(stdout));
      child.stdout!.on('data', look);
      child.on('close', () => reject(new Error(`the demo ended before ${re}:\n${stdout}\n${stderr}`)));
    });
  return { tmp, pids, child, code, untilOut, stderr: () => stderr };
}

describe('npm run demo', () => {
  test('runs green end to end, prints the redacted environment and the report path, and leaks no password', async () => {
    const reports = path.join(tempDir('demo-green-'), 'reports');
    const r = await runCli('demo', ['--users', USERS, '--reports-dir', reports, '--keep'], {});
    const kept = /^demo: the sandbox keeps running in (.+)$/m.exec(r.stdout)?.[1];
    if (kept) onTestFinished(async () => void (await runCli('demo', ['--cleanup', kept], {})));
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/export DST_DATABASE_URL='postgresql:\/\/rehearsal:\*\*\*@127\.0\.0\.1:\d+\/staging'/);
    expect(r.stdout).toMatch(/export SRC_ASSETS_DIR='.*\/assets\/source\/\.data'/);
    expect(r.stdout).toMatch(/demo: the rehearsal is green/);
    const runDir = reportedRunDir(r);
    expect(path.dirname(runDir)).toBe(path.join(reports, 'runs'));
    const cases = junitCases(fs.readFileSync(path.join(runDir, 'junit.xml'), 'utf8'));
    expect(cases.length).toBeGreaterThan(20);
    expect(cases.filter((c) => c.failed).map((c) => c.name)).toEqual([]);
    for (const family of ['row-counts', 'orphans', 'assets', 'path-prefix', 'health']) {
      expect(
        cases.some((c) => c.classname === familyById(family).spec && !c.skipped),
        `no ${family} check ran`,
      ).toBe(true);
    }

    // The real password is only in the kept sandbox's 0600 env file, never in the output or the reports.
    expect(kept, r.output).toBeDefined();
    const envFile = path.join(kept!, 'demo.env');
    expect(fs.statSync(envFile).mode & 0o777).toBe(0o600);
    const sourced = spawnSync('bash', ['-c', 'source "$1" && printf %s "$DST_DATABASE_URL"', '_', envFile], {
      encoding: 'utf8',
    });
    const password = parseDsn(sourced.stdout).password!;
    expect(password.length).toBeGreaterThan(10);
    for (const form of [password, encodeURIComponent(password)]) expect(r.output.includes(form)).toBe(false);
    expectNoPasswordShape(r.output);
    expect(filesContaining([reports], password)).toEqual([]);

    const cleaned = await runCli('demo', ['--cleanup', kept!], {});
    expect(cleaned.code, cleaned.output).toBe(0);
    expect(fs.existsSync(kept!)).toBe(false);
    // Twice: the directory is gone, and the refusal says so (not "not a demo sandbox").
    const again = await runCli('demo', ['--cleanup', kept!], {});
    expect(again.code, again.output).toBe(2);
    expect(again.stderr).toContain(`${kept} does not exist (already removed?); nothing to clean up`);
  });

  describe('--break <fault> turns exactly its check red', () => {
    // Through the whole demo (its own sandbox, dump → restore → rsync → checks, exit code, junit.xml): the one fault
    // whose seeding goes through a copy phase of the run (SRC_DB_DUMP_PATH). The other faults are the same seeders run
    // in-process below; the whole demo of `--break orphan` and `--break missing-file` also runs in
    // operator-report.test.ts (one run for its two tests).
    const WHOLE: FaultName[] = ['row-loss'];
    for (const fault of WHOLE) {
      const want = FAULT_EXPECTATIONS[fault];
      test(`${fault}: ${want.family} goes red${alsoSeen(want)}, everything else green, exit 1`, async () => {
        const reports = path.join(tempDir(`demo-${fault}-`), 'reports');
        const r = await runCli('demo', ['--users', USERS, '--reports-dir', reports, '--break', fault], {});
        expect(r.code, r.output).toBe(1);
        expect(r.stdout).toContain(`--break ${fault}:`);
        expectNoPasswordShape(r.output);
        const junit = path.join(reportedRunDir(r), 'junit.xml');
        expect(fs.existsSync(junit), `no ${junit}; the demo said:\n${r.output.slice(-4000)}`).toBe(true);
        // The summary's "manifest copy" is in the removed sandbox: the demo says so and where the kept one is.
        expect(r.stdout).toContain(`the copy in ${reportedRunDir(r)} stays`);
        expect(fs.existsSync(path.join(reportedRunDir(r), 'manifest.json'))).toBe(true);
        const cases = junitCases(fs.readFileSync(junit, 'utf8'));
        expectOnlyCulprit(
          fault,
          cases.filter((c) => c.failed).map((c) => c.name),
        );
        expect(cases.filter((c) => c.classname.endsWith('phases.spec.ts') && c.failed)).toEqual([]);
      });
    }

    // The demo's own seeders (lib/sandbox/demo-faults.ts) on a fixture source, copied by hand (pg_dump | pg_restore and
    // a file copy, as the copy phases would), then every check family in-process (test/helpers/family.ts) with the
    // demo's settings: the fault's family red naming the culprit, nothing else red. Green on a correct copy: the whole
    // demo above ("runs green end to end") and checks-clean.test.ts.
    for (const fault of FAULTS.filter((f) => !WHOLE.includes(f))) {
      const want = FAULT_EXPECTATIONS[fault];
      test(`${fault}: ${want.family} goes red${alsoSeen(want)}, everything else green (the demo's seeder, every family in-process)`, async () => {
        const s = await scenario();
        const applied = await applyFault(fault, {
          source: s.src.cluster,
          sourceDb: s.src.name,
          sourceAssets: s.srcAssets,
          prefix: DEFAULT_DB_PATH_PREFIX,
          scratch: s.tmp,
        });
        await migrateByHand(s);
        // The demo samples the whole asset column (ASSETS_SAMPLE_N = users × 3 + 10), so one broken file is always found.
        const env = { ASSETS_SAMPLE_N: '1000', ...applied.env };
        const outcomes = await runFamilies(
          s,
          FAMILIES.map((f) => f.id),
          { env },
        );
        expectOnlyCulprit(fault, failedNames(outcomes), describeOutcomes(outcomes));
      });
    }
  });

  test('an unexpected error nobody awaits (EPIPE: its stdout closed under it) still stops the sandbox clusters', async () => {
    // The sandbox goes under a private TMPDIR, so what is left of it afterwards is this demo's.
    const tmp = tempDir('demo-epipe-');
    fs.chmodSync(tmp, 0o755);
    const leftovers = () =>
      fs
        .readdirSync(tmp)
        .filter((d) => d.startsWith('rehearsal-sandbox-'))
        .flatMap((d) => ['source', 'target'].map((c) => path.join(tmp, d, c, 'data', 'postmaster.pid')))
        .filter((f) => fs.existsSync(f));
    onTestFinished(() => {
      // Whatever happened, no cluster outlives the test.
      for (const pid of leftovers()) {
        try {
          process.kill(Number(fs.readFileSync(pid, 'utf8').split('\n')[0]), 'SIGQUIT');
        } catch {
          /* already gone */
        }
      }
    });
    const child = spawn(
      path.join(ROOT, 'node_modules/.bin/tsx'),
      [path.join(ROOT, 'scripts/demo.ts'), '--users', USERS, '--reports-dir', path.join(tmp, 'reports')],
      { cwd: ROOT, env: cleanEnv({ TMPDIR: tmp }), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    // Close our end once the rehearsal child starts: the demo's next line (the child's output it forwards) fails with
    // EPIPE while both clusters run and the rehearsal writes into the sandbox.
    let stdout = '';
    const onOut = (d: Buffer) => {
      stdout += d;
      if (!/running the rehearsal/.test(stdout)) return;
      child.stdout!.off('data', onOut);
      child.stdout!.destroy();
    };
    child.stdout!.on('data', onOut);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(leftovers(), `clusters of the demo still running:\n${stderr}`).toEqual([]);
    // Nothing the demo started outlives it (the rehearsal child included): no process runs with its TMPDIR.
    expect(processesWithEnv(`TMPDIR=${tmp}`), stderr).toEqual([]);
    expect(fs.readdirSync(tmp).filter((d) => d.startsWith('rehearsal-sandbox-'))).toEqual([]);
    expect(stderr).toMatch(/demo: unexpected error: .*EPIPE/);
    expect(stderr).toMatch(/demo: stopping the sandbox/);
    expect(code).toBe(1);
  });

  test('killed outright (SIGKILL) mid-rehearsal: the rehearsal stops with it; --cleanup refuses while it runs, then stops the clusters and removes the sandbox', async () => {
    const demo = demoInPrivateTmp('demo-kill-');
    const { tmp, child, pids } = demo;
    let root: string | undefined;
    // Registered after the helper's kill-all, so it runs first (vitest runs onTestFinished callbacks in reverse).
    onTestFinished(async () => {
      if (root && fs.existsSync(root)) await runCli('demo', ['--cleanup', root], {});
    });
    const stdout = await demo.untilOut(/running the rehearsal/);
    root = /^demo: sandbox (\S+) \(should the demo be killed/m.exec(stdout)?.[1];
    expect(root, stdout).toBeDefined();
    const refused = await runCli('demo', ['--cleanup', root!], {});
    expect(refused.code, refused.output).toBe(2);
    expect(refused.stderr).toContain(`the demo that made ${root} still runs (pid ${child.pid})`);
    const notDemo = await runCli('demo', ['--cleanup', tmp], {});
    expect(notDemo.code, notDemo.output).toBe(2);
    expect(notDemo.stderr).toMatch(/is not a demo sandbox .*nothing removed/);
    expect(notDemo.stderr).not.toMatch(/unexpected error|\n\s+at /);

    child.kill('SIGKILL');
    await demo.code;
    // The rehearsal child got its parent-death signal: only the two clusters' postgres processes are left.
    await expect
      .poll(() => pids().filter((p) => !/postgres/.test(fs.readFileSync(`/proc/${p}/cmdline`, 'utf8'))), {
        timeout: 30_000,
      })
      .toEqual([]);
    expect(pids().length, 'the clusters of the killed demo still run').toBeGreaterThan(0);

    const cleaned = await runCli('demo', ['--cleanup', root!], {});
    expect(cleaned.code, cleaned.output).toBe(0);
    expect(cleaned.stdout).toContain(`demo: stopped and removed ${root}`);
    expect(fs.existsSync(root!)).toBe(false);
    expect(pids()).toEqual([]);
  });

  test('Ctrl-C twice (the second during the teardown): exit 130 after the clusters stopped, the sandbox removed; a marker naming a live non-demo pid does not block --cleanup', async () => {
    const demo = demoInPrivateTmp('demo-int2-');
    const { tmp, child, pids } = demo;
    await demo.untilOut(/running the rehearsal/);
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    expect(await demo.code, demo.stderr()).toBe(130);
    expect(demo.stderr()).toMatch(/demo: SIGINT: stopping the sandbox/);
    expect(pids(), demo.stderr()).toEqual([]);
    expect(fs.readdirSync(tmp).filter((d) => d.startsWith('rehearsal-sandbox-'))).toEqual([]);

    // A sandbox whose marker names a pid that now belongs to another program (pid reuse after a kill -9 or a reboot).
    const left = path.join(tmp, 'rehearsal-sandbox-left');
    fs.mkdirSync(path.join(left, 'work'), { recursive: true });
    fs.writeFileSync(path.join(left, '.migration-rehearsal-demo'), `running: demo pid ${process.pid}\n`);
    const cleaned = await runCli('demo', ['--cleanup', left], {});
    expect(cleaned.code, cleaned.output).toBe(0);
    expect(fs.existsSync(left)).toBe(false);
  });

  test('refuses an unknown fault with the list of faults (exit 2)', async () => {
    const r = await runCli('demo', ['--break', 'everything'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`unknown fault "everything"; choose one of: ${FAULTS.join(', ')}`);
  });
});
