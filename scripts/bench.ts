/**
 * `npm run bench`: the rehearsal side by side with the raw tools (pg_dump / pg_restore / rsync, count(*), find),
 * in a throw-away sandbox, at BENCH_ROWS / BENCH_SCALES rows and BENCH_FILES files. Writes BENCH_OUT_DIR/bench.json and
 * bench.md (default reports/bench) and prints the table. Timings are never asserted: targets are reported as met or not.
 *
 * Exit codes: 0 the bench ran (whatever the figures), 1 the bench itself failed, 2 a BENCH_* setting is wrong.
 */
import { BENCH_VARS, parseBenchConfig, type BenchConfig } from '../lib/bench/config.ts';
import { runBench } from '../lib/bench/harness.ts';
import { markdownTable, writeReports } from '../lib/bench/report.ts';
import { ConfigError } from '../lib/core/errors.ts';
import { parseCliArgs, unknownEnvWarnings } from '../lib/core/cli-args.ts';
import { KNOWN_VARS } from './known-vars.ts';
import { redact } from '../lib/core/redact.ts';

const USAGE = `Usage: npm run bench

Generates a source database shaped like the demo fixture and an asset tree in a throw-away sandbox, then measures
the suite against the raw tools, alternating, several repetitions (median and min-max):
copy, verification, the suite's overhead with nothing to do, and its peak memory.

Environment:
${BENCH_VARS.map((v) => `  ${v.name}  (default: ${v.default})\n      ${v.doc}`).join('\n')}

Tiny mode (seconds): BENCH_ROWS=2000 BENCH_FILES=50 BENCH_REPS=1 BENCH_SCALES=2000 npm run bench
`;

async function main(): Promise<number> {
  let config: BenchConfig;
  try {
    if (
      parseCliArgs(process.argv.slice(2), { help: { type: 'boolean', short: 'h' } }, 'npm run bench -- --help').values
        .help
    ) {
      process.stdout.write(USAGE);
      return 0;
    }
    for (const w of unknownEnvWarnings(process.env, KNOWN_VARS)) process.stderr.write(`bench: ${w}\n`);
    config = parseBenchConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`bench: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = (line: string) => process.stdout.write(redact(line) + '\n');
  log(`bench: scales ${config.scales.join(', ')} rows, ${config.files} files, ${config.reps} repetition(s)`);
  const result = await runBench(config, log);
  const files = writeReports(result, config.outDir);
  log('');
  log(markdownTable(result));
  log('');
  for (const s of result.scales)
    for (const r of s.red) log(`RED RUN at ${s.rows} rows: ${r.run} rep ${r.rep} exit ${r.exitCode}: ${r.detail}`);
  for (const s of result.scales) for (const w of s.warnings) log(`warning at ${s.rows} rows: ${w}`);
  log(`bench: wrote ${files.json} and ${files.md}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(redact(`bench: failed: ${(e as Error)?.stack ?? e}`) + '\n');
    process.exit(1);
  },
);
