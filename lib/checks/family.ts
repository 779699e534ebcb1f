/**
 * The check-family contract: what one family of checks is (its metadata, its subjects, how a subject's test is
 * named, how a subject is judged), and `evaluate`, which runs a family in-process without any test runner. The one
 * module that turns a family into vitest tests is lib/checks/runner.ts; everything here is plain TypeScript, so the
 * CLI (`--dry-run`, `--list`), the reporters and the integration tests can use a family directly.
 *
 * A family's test names come from `name(subject)` alone: the runner, the dry-run (`planLines`), `--list` and the
 * in-process runs all call it, so they cannot disagree.
 */
import type { Config } from '../core/config.ts';
import type { CheckPlan, ScheduledStep } from '../core/state.ts';
import type { CheckContext } from './shared/context.ts';
import { checkText } from '../core/display.ts';
import { CheckFailure, notChecked, type Annotate } from './shared/verdict.ts';

/** What a family's dry-run lines are made from: the configuration and the plan discovery made (read-only). */
export interface PlanInput {
  config: Config;
  plan: CheckPlan;
  /**
   * The copy phases a full run of `config` would run, in order, and why one would not (lib/phases/phase-schedule.ts,
   * computed by the caller: checks import only lib/core).
   */
  schedule: readonly ScheduledStep[];
  /** True when the run would restore first: subjects missing in the target now will exist then. */
  restoring: boolean;
  /**
   * When restoring: the asset columns (display names) missing in the target that the source has, i.e. that the
   * restore creates. Undefined: not known (no source database), every missing column is assumed to come with it.
   */
  restoreCreates?: ReadonlySet<string>;
}

/** A family's part of the dry-run: one summary line, then the checks it would run (names from `name()`). */
export interface PlanLines {
  /** After the family label: `5 tables, from source`. */
  head: string;
  /** Test names, or a description in parentheses where the subjects are read from the catalogs only at run time. */
  checks: string[];
}

/** A family's metadata: what the registry (lib/checks/registry.ts), the docs and the CLI read without running it. */
export interface CheckFamily {
  /** Stable id, kebab-case: `--select`/`--exclude` values, JUnit classname, manifest keys, `lib/checks/families/<id>/`. */
  id: string;
  /** Human label, plural (`row counts`). */
  label: string;
  /** The spec file that registers the family's tests, relative to the project root (`specs/<id>.spec.ts`). */
  spec: string;
  /**
   * Test-name prefixes (each followed by a space or the end of the name): a test belongs to the family whose prefix
   * is the longest match. E.g. `row count` matches `row count public.users` and `row counts (not checked)`.
   */
  prefixes: string[];
  /** Whether the family needs the source database to compare anything (it still reports `not checked` without it). */
  needsSource: boolean;
  /** The configuration variables the family reads (the env contract names). */
  reads: string[];
  /** What passes, one sentence (README "What is checked" table). */
  passesWhen: string;
  /**
   * The family's lines in `rehearse --dry-run`, from the configuration and the discovered plan; pure (no database).
   * Families whose subjects are read from the catalogs at run time (sequences, pgvector) describe them instead;
   * `rehearse --list` gives their exact names.
   */
  planLines(input: PlanInput): PlanLines;
}

/**
 * A check's verdict. A warning is a pass with `warning` notes; `not-checked` is never a pass (a check that compared
 * nothing proves nothing) and fails with `not checked: <reason>`.
 */
export type Verdict =
  { status: 'pass' } | { status: 'fail'; message: string } | { status: 'not-checked'; reason: string };

/**
 * One entry of a family's subjects: a subject to judge (its test is named `name(subject)`), a skipped test, or a test
 * whose verdict is known without judging anything (e.g. `row counts (not checked)`, a configured column that does not
 * exist).
 *
 * A skipped test: `skip` is its stable name (`phase mirror`, `checksums`: the name in JUnit, checks.json, the report
 * and `--rerun-failed`, the same in every run) and `reason` why it is skipped (`SRC_ASSETS_DIR is not set: no asset
 * mirror`: the skip note, JUnit's `<skipped message>`). The older form, the reason in parentheses at the end of `skip`
 * (`checksums (CHECKSUM=off)`) and no `reason`, is still read: `skipEntry` splits it here, the only place that does.
 */
export type Entry<S> = { subject: S } | { skip: string; reason?: string } | { name: string; verdict: Verdict };

/**
 * A skipped test's stable name and its reason, from the older `name (reason)` form of a skip entry:
 * `phase mirror (SRC_ASSETS_DIR is not set: no asset mirror)` → `{ name: 'phase mirror', reason: 'SRC_ASSETS_DIR is
 * not set: no asset mirror' }`. The reason is the last balanced parenthesised group at the end of the name, and only
 * when it holds a space: a name's own column list (`orphans a(user_id) -> users(id)`) is never taken for a reason.
 */
export function splitSkipReason(name: string): { name: string; reason?: string } {
  if (!name.endsWith(')')) return { name };
  let depth = 0;
  for (let i = name.length - 1; i >= 0; i--) {
    if (name[i] === ')') depth++;
    else if (name[i] === '(' && --depth === 0) {
      const reason = name.slice(i + 1, -1);
      if (i < 2 || name[i - 1] !== ' ' || !reason.includes(' ')) return { name };
      return { name: name.slice(0, i - 1), reason };
    }
  }
  return { name };
}

/** A skip entry's stable name and reason (`reason` given, or split from the older `name (reason)` form). */
export function skipEntry(e: { skip: string; reason?: string }): { name: string; reason?: string } {
  return e.reason !== undefined ? { name: e.skip, reason: e.reason } : splitSkipReason(e.skip);
}

/**
 * Where a check writes its notes while it runs: vitest's `annotate` in a rehearsal (evidence, warnings, full lists
 * become annotations and JUnit properties), a recorder in `evaluate`.
 */
export type Notes = Annotate;

/** A family of checks: its metadata, its subjects, its test names and its judge. */
export interface Family<S> extends CheckFamily {
  /** Run the family's tests concurrently (`test.concurrent`); false: one after the other. */
  concurrent: boolean;
  /**
   * True for the families that judge the copy itself (phases): they run even when a copy phase failed. Every other
   * family's subject fails with `not checked: <why>` when the context is blocked (lib/checks/shared/context.ts).
   */
  runsWhenBlocked?: boolean | ((subject: S) => boolean);
  /**
   * The family's subjects, in test order: from the plan global setup made, or read-only from the catalogs. Never
   * throws for a database error: an unreadable catalog is an entry with a `fail` verdict naming it.
   */
  subjects(ctx: CheckContext): Promise<Array<Entry<S>>> | Array<Entry<S>>;
  /** The test name of one subject (`row count public.users`): the only place the family's names are made. */
  name(subject: S): string;
  /**
   * Judge one subject: write evidence and warnings to `notes` (`notes(text, 'evidence')`, `warn(notes, text)`), then
   * return the verdict (undefined: pass). May throw CheckFailure (`fail(message)`), which is a `fail` verdict.
   */
  check(subject: S, ctx: CheckContext, notes: Notes): Promise<Verdict | void> | Verdict | void;
}

/** Any family (the registry's list holds families of different subject types). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFamily = Family<any>;

/** A passing verdict. */
export const PASS: Verdict = { status: 'pass' };

/** A failing verdict with its message (what JUnit and checks.json show). */
export function failed(message: string): Verdict {
  return { status: 'fail', message };
}

/** A `not checked` verdict with its reason. */
export function unchecked(reason: string): Verdict {
  return { status: 'not-checked', reason };
}

/** The text a non-passing verdict fails its test with: the message, or `not checked: <reason>`. */
export function failureText(v: Verdict): string | undefined {
  if (v.status === 'fail') return v.message;
  if (v.status === 'not-checked') return notChecked(v.reason);
  return undefined;
}

/** One test of a family as the runner registers it and `evaluate` runs it. */
export interface PlannedTest {
  /** The stable name (a skipped test's too: its reason is `skipReason`, never part of the name). */
  name: string;
  /** Undefined for a skipped test. */
  run?: (notes: Notes) => Promise<Verdict>;
  /** Why a skipped test is skipped (its skip note); undefined for a test that runs. */
  skipReason?: string;
}

/** Judge one subject: the context's block first, then the family's check, a thrown CheckFailure as a `fail`. */
async function judge<S>(family: Family<S>, subject: S, ctx: CheckContext, notes: Notes): Promise<Verdict> {
  const runs = typeof family.runsWhenBlocked === 'function' ? family.runsWhenBlocked(subject) : family.runsWhenBlocked;
  if (ctx.blocked && !runs) return unchecked(ctx.blocked);
  try {
    return (await family.check(subject, ctx, notes)) ?? PASS;
  } catch (e) {
    if (e instanceof CheckFailure) return failed(e.message);
    throw e;
  }
}

/**
 * A verdict and the notes as they leave a check: every text through `checkText` (lib/core/display.ts), so a name from
 * a database or a file system that a family interpolated as it is still cannot start a line of its own or carry an
 * escape code into checks.json, junit.xml, summary.md or the console (issue 26, attack 24). The tool's own line
 * breaks (`\n` + two spaces) are kept.
 */
function guardedVerdict(v: Verdict): Verdict {
  if (v.status === 'fail') return { status: 'fail', message: checkText(v.message) };
  if (v.status === 'not-checked') return { status: 'not-checked', reason: checkText(v.reason) };
  return v;
}

/** A check that crashed: its error rethrown as it is (type, stack), its message through `checkText`. */
function guardedThrow(e: unknown): never {
  if (e instanceof Error) e.message = checkText(e.message);
  throw e;
}

function guardedNotes(notes: Notes): Notes {
  return (message, type) => notes(checkText(message), type);
}

/**
 * The tests a family would run in this context, in order, each named by `name()` (or by its fixed entry name). Names,
 * verdicts and notes pass the display guard (guardedVerdict): a test name is one line.
 */
export async function plannedTests<S>(family: Family<S>, ctx: CheckContext): Promise<PlannedTest[]> {
  const entries = await family.subjects(ctx);
  const one = (name: string) => checkText(name, { oneLine: true });
  return entries.map((e): PlannedTest => {
    if ('skip' in e) {
      const { name, reason } = skipEntry(e);
      return { name: one(name), skipReason: reason === undefined ? undefined : checkText(reason) };
    }
    if ('verdict' in e) return { name: one(e.name), run: async () => guardedVerdict(e.verdict) };
    return {
      name: one(family.name(e.subject)),
      run: async (notes) =>
        guardedVerdict(await judge(family, e.subject, ctx, guardedNotes(notes)).catch(guardedThrow)),
    };
  });
}

/** One note a check wrote (`evidence`, `warning`, `full-list`, ...). */
export interface Note {
  type: string;
  message: string;
}

/** The outcome of one test run in-process: its name, verdict (undefined when skipped) and notes in order. */
export interface Outcome {
  name: string;
  verdict?: Verdict;
  /** Why it was skipped (when `verdict` is undefined). */
  skipReason?: string;
  notes: Note[];
  /** The `warning` notes' texts (a passing test with warnings is a warning). */
  warnings: string[];
}

/**
 * Run a family in-process, without vitest: its subjects, then each test one after the other. What the rehearsal's
 * tests would show, as data: integration tests call it against real databases (test/helpers/family.ts).
 * `o.thrownFails`: a check that throws becomes a `fail` verdict carrying the error's message, as the rehearsal's
 * vitest run reports it (default: the error propagates to the caller).
 */
export async function evaluate<S>(
  family: Family<S>,
  ctx: CheckContext,
  o: { thrownFails?: boolean } = {},
): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const t of await plannedTests(family, ctx)) {
    const notes: Note[] = [];
    const record: Notes = async (message, type = 'notice') => notes.push({ type, message });
    const verdict = !t.run
      ? undefined
      : o.thrownFails
        ? await t.run(record).catch((e: Error): Verdict => ({ status: 'fail', message: e.message }))
        : await t.run(record);
    out.push({
      name: t.name,
      verdict,
      ...(t.run ? {} : { skipReason: t.skipReason }),
      notes,
      warnings: notes.filter((n) => n.type === 'warning').map((n) => n.message),
    });
  }
  return out;
}
