import { describe, expect, test } from 'vitest';
import {
  countLine,
  dumpedTable,
  isVerboseInfo,
  LOG_THROTTLE,
  mirrorLine,
  parseRsyncProgress2,
  phaseWriter,
  Progress,
  restoredTable,
  shouldPrint,
} from '../../../lib/core/progress.ts';
import { checksProgress } from '../../../lib/audit/reporter.ts';
import { formatBytes } from '../../../lib/core/format.ts';

describe('throttle', () => {
  test('should print the first update always', () => {
    expect(shouldPrint(undefined, 0, 0, LOG_THROTTLE)).toBe(true);
  });

  test('should print in a log only when both 5 s passed and another 10% is done', () => {
    const last = { at: 1_000, fraction: 0.2 };
    expect(shouldPrint(last, 2_000, 0.9, LOG_THROTTLE), '1 s later, +70%').toBe(false);
    expect(shouldPrint(last, 60_000, 0.25, LOG_THROTTLE), '59 s later, +5%').toBe(false);
    expect(shouldPrint(last, 6_000, 0.3, LOG_THROTTLE), '5 s later, exactly +10% (floating point)').toBe(true);
  });

  test('should fall back to time alone when the total is unknown', () => {
    expect(shouldPrint({ at: 0 }, 4_999, undefined, LOG_THROTTLE)).toBe(false);
    expect(shouldPrint({ at: 0 }, 5_000, undefined, LOG_THROTTLE)).toBe(true);
  });
});

describe('meter', () => {
  const meter = (tty: boolean) => {
    let now = 0;
    const out: string[] = [];
    const p = new Progress<{ done: number; total: number }>({
      format: (v) => countLine(v.done, v.total, 'tables dumped'),
      fraction: (v) => v.done / v.total,
      writer: { line: (t) => out.push(`line ${t}`), update: (t) => out.push(`update ${t}`) },
      tty,
      now: () => now,
    });
    return {
      p,
      out,
      tick: (ms: number) => {
        now += ms;
      },
    };
  };

  test('should print plain start and end lines and a bounded number in between when not a TTY', () => {
    const { p, out, tick } = meter(false);
    p.start({ done: 0, total: 1000 });
    for (let i = 1; i <= 1000; i++) {
      tick(100); // 100 s in all
      p.update({ done: i, total: 1000 });
    }
    p.finish({ done: 1000, total: 1000 });
    expect(out[0]).toBe('line 0/1000 tables dumped (0%)');
    expect(out[out.length - 1]).toBe('line 1000/1000 tables dumped (100%)');
    expect(out.every((l) => l.startsWith('line ') && !l.includes('\r'))).toBe(true);
    // At most one line per 10% (and per 5 s), plus start and end.
    expect(out.length).toBeLessThanOrEqual(12);
    expect(out.length).toBeGreaterThanOrEqual(3);
  });

  test('should print start and end even when the phase is instant', () => {
    const { p, out } = meter(false);
    p.start({ done: 0, total: 7 });
    for (let i = 1; i <= 7; i++) p.update({ done: i, total: 7 });
    p.finish({ done: 7, total: 7 });
    expect(out).toEqual(['line 0/7 tables dumped (0%)', 'line 7/7 tables dumped (100%)']);
  });

  test('should update in place on a TTY and end with a plain line', () => {
    const { p, out, tick } = meter(true);
    p.start({ done: 0, total: 10 });
    tick(300);
    p.update({ done: 5, total: 10 });
    tick(10);
    p.update({ done: 6, total: 10 }); // within 200 ms: not printed
    p.finish({ done: 10, total: 10 });
    expect(out).toEqual([
      'line 0/10 tables dumped (0%)',
      'update 5/10 tables dumped (50%)',
      'line 10/10 tables dumped (100%)',
    ]);
  });

  test("should write a phase's plain lines through say and its terminal updates redacted, ended before the next line", () => {
    const said: string[] = [];
    let raw = '';
    const w = phaseWriter((l) => said.push(l), '[mirror] ', {
      write: (s: string) => {
        raw += s;
        return true;
      },
    } as unknown as NodeJS.WriteStream);
    w.line('0 B transferred');
    w.update!(`copying postgresql://u:${'s3cret'}@h/db`);
    w.line('done');
    expect(said).toEqual(['progress: 0 B transferred', 'progress: done']);
    expect(raw).toBe('\r[mirror] progress: copying postgresql://u:***@h/db\x1b[K\r\x1b[K');
  });

  test('should count checks against the plan total, with elapsed time and ETA', () => {
    const lines: string[] = [];
    const p = checksProgress(
      (l) => lines.push(l),
      () => 0,
    );
    p.start({ done: 0, total: 0 });
    p.finish({ done: 120, total: 120 });
    expect(lines).toEqual([
      '[checks] progress: 0 checks done, elapsed 0 ms, ETA unknown',
      '[checks] progress: 120/120 checks done (100%), elapsed 0 ms, done',
    ]);
  });

  test('should print a heartbeat with the slowest running check while no check finishes', () => {
    let now = 0;
    const lines: string[] = [];
    const p = checksProgress(
      (l) => lines.push(l),
      () => now,
    );
    const running = [
      { name: 'row count public.users', startedAt: 3_000 },
      { name: 'checksum public.events', startedAt: 1_000 },
    ];
    p.start({ done: 0, total: 120 });
    now = 6_000;
    p.update({ done: 1, total: 120, running });
    expect(lines, '5 s but under 10%: no line yet').toHaveLength(1);
    now = 10_000;
    p.update({ done: 1, total: 120, running });
    expect(lines[1]).toBe(
      '[checks] progress: 1/120 checks done (0%), elapsed 10.0 s, ETA 19 min 50 s; 2 running, slowest: checksum public.events (9.0 s)',
    );
    // The heartbeat rule itself: a quiet meter prints after heartbeatMs even without a 10% step.
    expect(shouldPrint({ at: 0, fraction: 0.1 }, 9_999, 0.1, { ...LOG_THROTTLE, heartbeatMs: 10_000 })).toBe(false);
    expect(shouldPrint({ at: 0, fraction: 0.1 }, 10_000, 0.1, { ...LOG_THROTTLE, heartbeatMs: 10_000 })).toBe(true);
  });
});

describe('parsers', () => {
  test('should recognise the tables pg_dump and pg_restore --verbose report', () => {
    expect(dumpedTable('pg_dump: dumping contents of table "public.users"')).toBe('public.users');
    expect(dumpedTable('pg_dump: dumping contents of table "app.Events ""x"""')).toBe('app.Events ""x""');
    expect(dumpedTable('pg_dump: reading schemas')).toBeUndefined();
    expect(restoredTable('pg_restore: processing data for table "public.users"')).toBe('public.users');
    expect(restoredTable('pg_restore: creating MATERIALIZED VIEW DATA "public.m"')).toBeUndefined();
  });

  test('should keep errors, warnings and their context out of the informational lines', () => {
    expect(isVerboseInfo('pg_restore: creating TABLE "public.users"')).toBe(true);
    expect(isVerboseInfo('pg_dump: dumping contents of table "public.users"')).toBe(true);
    for (const l of [
      'pg_restore: error: could not execute query: ERROR:  relation "x" already exists',
      'pg_restore: warning: errors ignored on restore: 1',
      'pg_restore: from TOC entry 215; 1259 16390 TABLE x rehearsal',
      'pg_dump: error: could not write to output file: No space left on device',
      'pg_dump: detail: Query was: SELECT 1',
      'Command was: CREATE TABLE x ();',
    ])
      expect(isVerboseInfo(l), l).toBe(false);
  });

  test('should parse rsync --info=progress2 updates', () => {
    expect(parseRsyncProgress2('         32,768   3%    0.00kB/s    0:00:00  ')).toEqual({ bytes: 32768, percent: 3 });
    expect(parseRsyncProgress2('        200,000  20%  159.48MB/s    0:00:00 (xfr#1, to-chk=4/7)')).toEqual({
      bytes: 200000,
      percent: 20,
      files: 1,
      checked: 3,
      total: 7,
      totalFinal: true,
    });
    expect(parseRsyncProgress2('  1,000,000 100%  184.48MB/s  0:00:00 (xfr#5, ir-chk=1000/2011)')).toMatchObject({
      checked: 1011,
      total: 2011,
      totalFinal: false,
    });
    expect(parseRsyncProgress2('>f+++++++++ a/f1')).toBeUndefined();
    expect(parseRsyncProgress2('Number of files: 7 (reg: 5, dir: 2)')).toBeUndefined();
    expect(parseRsyncProgress2('')).toBeUndefined();
  });

  test('should describe the mirror in bytes and files', () => {
    expect(
      mirrorLine({ bytes: 1_048_576, percent: 100, files: 5, checked: 7, total: 7, totalFinal: true }, formatBytes),
    ).toBe('1.0 MiB transferred, 5 files, 7/7 entries checked (100%)');
    expect(mirrorLine({ bytes: 0, percent: 0 }, formatBytes)).toBe('0 B transferred, 0 files (0%)');
  });
});
