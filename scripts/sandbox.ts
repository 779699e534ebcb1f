/**
 * `npm run sandbox -- up|down|status|env`: the local dependency stack on local binaries (what
 * deploy/prod/docker-compose.dryrun.yml gives with Docker): a source and a target ("staging") PostgreSQL cluster with
 * pgvector, and Redis, in the project-scoped `.sandbox/` directory.
 *
 * Exit codes: 0 done · 1 `status`/`env`: the sandbox is not (fully) up · 2 usage or a problem to fix first (busy port,
 * missing binary), nothing left behind.
 */
import {
  projectSandboxDown,
  projectSandboxExports,
  projectSandboxSettings,
  projectSandboxStatus,
  projectSandboxUp,
  clusterUrl,
  SandboxError,
  DEFAULT_DRYRUN_POSTGRES_PORT,
  DEFAULT_DRYRUN_REDIS_PORT,
  type ProjectSandbox,
} from '../lib/sandbox/clusters.ts';
import { formatUrl, parseDsn } from '../lib/core/dsn.ts';
import { didYouMean } from '../lib/core/cli-args.ts';

const USAGE = `Usage: npm run sandbox -- <command> [options]

Local dependencies for a rehearsal, on local binaries (no Docker needed), in .sandbox/ (git-ignored):
a source PostgreSQL cluster (free port), the target "staging" cluster on DRYRUN_POSTGRES_PORT (${DEFAULT_DRYRUN_POSTGRES_PORT})
and Redis on DRYRUN_REDIS_PORT (${DEFAULT_DRYRUN_REDIS_PORT}); never 5432/6379. Password authentication with a generated password
(kept in a 0600 file, printed only by \`env\`).

Commands:
  up [--fixture[=USERS]] [--no-redis]   start (or restart) everything; --fixture loads the demo data (default 50 users)
                                        into the source database and writes its asset tree; running twice is a no-op
  status                                what runs where (exit 1 when not fully up)
  env                                   export lines for your shell: eval "$(npm run -s sandbox -- env)"
  down                                  stop everything and delete .sandbox/ (data included)

Environment: DRYRUN_POSTGRES_PORT (${DEFAULT_DRYRUN_POSTGRES_PORT}), DRYRUN_REDIS_PORT (${DEFAULT_DRYRUN_REDIS_PORT}), SANDBOX_DIR (.sandbox).
`;

const say = (line = '') => process.stderr.write(line + '\n');

function describe(s: ProjectSandbox): string[] {
  const redacted = (url: string) => formatUrl(parseDsn(url), { redact: true });
  const lines: string[] = [];
  for (const name of ['source', 'target'] as const) {
    const c = s.clusters[name];
    if (c) lines.push(`  ${name.padEnd(7)} ${redacted(clusterUrl(c, s.databases[name]))}`);
  }
  if (s.redis) lines.push(`  redis   redis://${s.redis.host}:${s.redis.port}/0`);
  lines.push(`  assets  source ${s.assets.source}`, `          target ${s.assets.target}`);
  return lines;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const settings = projectSandboxSettings();
  switch (command) {
    case 'up': {
      let fixtureUsers = 0;
      let redis = true;
      for (const a of rest) {
        const m = /^--fixture(?:=(\d+))?$/.exec(a);
        if (m) fixtureUsers = m[1] ? Number(m[1]) : 50;
        else if (a === '--no-redis') redis = false;
        else {
          const guess = didYouMean(a.split('=')[0], ['--fixture', '--no-redis']);
          throw new SandboxError(
            `unknown option "${a}" for up${guess ? ` (did you mean ${guess}?)` : ''}; see npm run sandbox -- --help`,
          );
        }
      }
      const { sandbox, already } = await projectSandboxUp(settings, {
        redis,
        fixtureUsers,
        log: (l) => say(`sandbox: ${l}`),
      });
      say(
        already
          ? `sandbox: already up in ${sandbox.root} (nothing to do; \`down\` removes it)`
          : `sandbox: up in ${sandbox.root}`,
      );
      for (const l of describe(sandbox)) say(l);
      say('Point a rehearsal at it: eval "$(npm run -s sandbox -- env)"');
      return 0;
    }
    case 'status': {
      if (rest.length) throw new SandboxError(`status takes no options`);
      const st = await projectSandboxStatus(settings);
      if (!st.sandbox) {
        process.stdout.write(`sandbox: not up (no ${settings.dir}); start it with \`npm run sandbox -- up\`\n`);
        return 1;
      }
      process.stdout.write(
        `sandbox: ${st.up ? 'up' : 'partly down (run `npm run sandbox -- up` to restart it)'} in ${st.sandbox.root}\n`,
      );
      for (const c of st.components)
        process.stdout.write(
          `  ${c.name.padEnd(7)} ${c.running ? 'running' : 'STOPPED'}  port ${c.port}  ${c.detail}\n`,
        );
      return st.up ? 0 : 1;
    }
    case 'env': {
      if (rest.length) throw new SandboxError(`env takes no options`);
      const st = await projectSandboxStatus(settings);
      if (!st.sandbox) {
        say(`sandbox: not up; start it with \`npm run sandbox -- up\``);
        return 1;
      }
      if (!st.up) say('sandbox: warning: not everything is running; `npm run sandbox -- up` restarts it');
      process.stdout.write(projectSandboxExports(st.sandbox) + '\n');
      return 0;
    }
    case 'down': {
      if (rest.length) throw new SandboxError(`down takes no options`);
      const removed = await projectSandboxDown(settings);
      say(removed ? `sandbox: stopped and removed ${removed}` : `sandbox: nothing to do (no ${settings.dir})`);
      return 0;
    }
    default:
      throw new SandboxError(`unknown command "${command}"; use up, down, status or env (npm run sandbox -- --help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof SandboxError) {
      say(`sandbox: ${e.message}`);
      process.exit(2);
    }
    say(`sandbox: unexpected error: ${(e as Error)?.stack ?? e}`);
    process.exit(1);
  },
);
