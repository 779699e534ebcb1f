/**
 * vitest's own file reporters (results.json, the HTML report) for a rehearsal, guarded: a write that fails (ENOSPC on
 * a full WORK_DIR, EACCES) becomes one plain line instead of vitest's unhandled error with a stack trace (issue 26,
 * attacks 12 and 13). What they write is a convenience beside the run's own records (checks.json, manifest.json,
 * junit.xml, report.html), which lib/audit/run-record.ts publishes and accounts for; a missing results.json or html/
 * is then said in the run's notes.
 */
import HtmlReporter from '@vitest/ui/reporter';
import { JsonReporter, type Reporter } from 'vitest/node';
import { fsProblem } from '../core/fs-problem.ts';

/** One plain line for a report file vitest could not write. */
function saidOnce(what: string, e: unknown): void {
  process.stderr.write(`could not write vitest's ${what}: ${fsProblem(e) ?? (e as Error).message}\n`);
}

/** vitest's `json` reporter (results.json) whose write failures are one line, never an unhandled error. */
export class GuardedJsonReporter extends JsonReporter {
  override async writeReport(report: string): Promise<void> {
    try {
      await super.writeReport(report);
    } catch (e) {
      saidOnce('results.json', e);
    }
  }
}

/** @vitest/ui's HTML reporter class (its types declare only the Reporter interface; the class has `writeReport`). */
const HtmlBase = HtmlReporter as unknown as new (options: { outputFile?: string }) => Reporter & {
  writeReport(report: string): Promise<void>;
};

/** @vitest/ui's `html` reporter (html/index.html) whose write failures are one line, never an unhandled error. */
export class GuardedHtmlReporter extends HtmlBase {
  override async writeReport(report: string): Promise<void> {
    try {
      await super.writeReport(report);
    } catch (e) {
      saidOnce('HTML report (html/)', e);
    }
  }
}
