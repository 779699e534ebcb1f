/**
 * `npm run cutover -- --plan | --phase <name> [--confirm] | --rollback --confirm | --note "<text>" | --help`:
 * the production cutover, one phase per invocation, gated by the rehearsal (see deploy/prod/migration/PROD_CUTOVER_RUNBOOK.md).
 *
 * Exit codes: 0 ok · 1 a gate is red (freeze-check, verify, smoke) · 2 usage error or refusal (nothing touched) ·
 * 3 a phase failed.
 */
import { helpText } from '../lib/core/config.ts';
import { cutoverHelpText, cutoverSharedHelp, parseCutoverConfig, type CutoverConfig } from '../lib/cutover/config.ts';
import { readLog } from '../lib/cutover/log.ts';
import { PHASE_NAMES, isPhase, type CutoverPhase } from '../lib/cutover/phases.ts';
import { buildCutoverPlan } from '../lib/cutover/plan.ts';
import { targetReadiness } from '../lib/cutover/readiness.ts';
import { addNote, runCutoverPhase, runRollback } from '../lib/cutover/run.ts';
import { ConfigError, EXIT } from '../lib/core/errors.ts';
import { parseCliArgs, unknownEnvWarnings } from '../lib/core/cli-args.ts';
import { KNOWN_VARS } from './known-vars.ts';
import { redact } from '../lib/core/redact.ts';

const USAGE = `Usage: npm run cutover -- <command> [--confirm]

The production cutover, one phase per invocation, every phase recorded in WORK_DIR/cutover-log.jsonl.
See deploy/prod/migration/PROD_CUTOVER_RUNBOOK.md.

Commands:
  --plan                 the phases in order with their commands (redacted), where the cutover stands, the rehearsal
                         gate and the downtime estimate (every window phase: the latest green full
                         rehearsal's timings, hooks measured in the cutover log, + 50 %); writes nothing
  --phase <name>         run one phase: ${PHASE_NAMES.join(' | ')}
  --rollback             the way back for the phases that ran (needs --confirm)
  --note "<text>"        record a remark or sign-off in the log
  --confirm              required by every phase that changes something outside WORK_DIR, and by --rollback
  --help                 this text

Exit codes: 0 ok, 1 a gate is red (freeze-check, verify, smoke), 2 usage error or refusal (nothing touched),
            3 a phase failed.

`;

function out(line = '') {
  process.stdout.write(redact(line) + '\n');
}
function err(line = '') {
  process.stderr.write(redact(line) + '\n');
}

type Command =
  | { kind: 'help' }
  | { kind: 'plan' }
  | { kind: 'phase'; phase: CutoverPhase }
  | { kind: 'rollback' }
  | { kind: 'note'; text: string };

/** The cutover's options (util.parseArgs): an unknown one is a usage error naming the closest known option. */
const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  plan: { type: 'boolean' },
  rollback: { type: 'boolean' },
  confirm: { type: 'boolean' },
  phase: { type: 'string', multiple: true },
  note: { type: 'string', multiple: true },
} as const;

function parseArgs(argv: string[]): { command: Command; confirm: boolean } {
  const { values: v } = parseCliArgs(argv, OPTIONS, 'npm run cutover -- --help');
  const commands: Command[] = [];
  if (v.help) commands.push({ kind: 'help' });
  if (v.plan) commands.push({ kind: 'plan' });
  if (v.rollback) commands.push({ kind: 'rollback' });
  for (const name of v.phase ?? []) {
    if (!isPhase(name)) throw new ConfigError(`unknown phase "${name}"; the phases are ${PHASE_NAMES.join(', ')}`);
    commands.push({ kind: 'phase', phase: name });
  }
  for (const raw of v.note ?? []) {
    const text = raw.trim();
    if (!text) throw new ConfigError('--note needs a text');
    commands.push({ kind: 'note', text });
  }
  const confirm = !!v.confirm;
  if (commands.length === 0)
    throw new ConfigError(
      'say what to do: --plan, --phase <name>, --rollback or --note; see npm run cutover -- --help',
    );
  if (commands.length > 1)
    throw new ConfigError(
      `one command per invocation (got ${commands.map((c) => c.kind).join(', ')}); each phase is its own step in the log`,
    );
  return { command: commands[0], confirm };
}

async function main(): Promise<number> {
  let command: Command;
  let confirm: boolean;
  let config: CutoverConfig;
  try {
    ({ command, confirm } = parseArgs(process.argv.slice(2)));
    if (command.kind === 'help') {
      out(
        USAGE +
          cutoverHelpText() +
          '\nShared variables (as for the rehearsal, except where said):\n' +
          cutoverSharedHelp(helpText()),
      );
      return EXIT.ok;
    }
    for (const w of unknownEnvWarnings(process.env, KNOWN_VARS)) err(w);
    config = parseCutoverConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.message);
      return EXIT.usage;
    }
    throw e;
  }
  switch (command.kind) {
    case 'plan':
      for (const line of buildCutoverPlan(config, readLog(config.workDir), new Date())) out(line);
      out('');
      for (const line of await targetReadiness(config)) out(line);
      return EXIT.ok;
    case 'phase':
      return runCutoverPhase(config, command.phase, { confirm });
    case 'rollback':
      return runRollback(config, { confirm });
    case 'note':
      return addNote(config, command.text);
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    err(`cutover: unexpected error: ${(e as Error)?.stack ?? e}`);
    process.exit(EXIT.phaseFailed);
  },
);
