/**
 * The ANALYZE after the restore (lib/phases/analyze.ts): how many connections, in which order, which relations.
 */
import { describe, expect, test } from 'vitest';
import { analyzeDescription, analyzeJobs, analyzeOrder, analyzeTargetsSql } from '../../../lib/phases/analyze.ts';

describe('analyzeJobs', () => {
  test('auto, target on this machine: one connection per core', () => {
    const r = analyzeJobs('auto', { local: true, cores: 2, checkConcurrency: 4, relations: 77 });
    expect(r.jobs).toBe(2);
    expect(r.why).toBe('2 connection(s) (auto: the 2 cores of this machine, where the target runs)');
  });
  test('auto, remote target: CHECK_CONCURRENCY (its cores are not visible from here)', () => {
    const r = analyzeJobs('auto', { local: false, checkConcurrency: 4, relations: 77 });
    expect(r.jobs).toBe(4);
    expect(r.why).toMatch(/auto: CHECK_CONCURRENCY=4 \(remote target\)/);
  });
  test('an explicit RESTORE_ANALYZE_JOBS wins; never more connections than relations, never fewer than one', () => {
    expect(analyzeJobs(3, { local: true, cores: 2, checkConcurrency: 4, relations: 77 }).jobs).toBe(3);
    const few = analyzeJobs(8, { local: true, cores: 2, checkConcurrency: 4, relations: 2 });
    expect(few.jobs).toBe(2);
    expect(few.why).toMatch(/only 2 relation\(s\)/);
    expect(analyzeJobs('auto', { local: true, cores: 2, checkConcurrency: 4, relations: 0 }).jobs).toBe(1);
  });
});

describe('analyzeOrder', () => {
  test('largest first, ties by name (deterministic), input untouched', () => {
    const input = [
      { name: 'public.small', bytes: 8192 },
      { name: 'public.big', bytes: 10_000_000 },
      { name: 'pg_catalog.pg_class', bytes: 8192 },
      { name: 'public.mid', bytes: 500_000 },
    ];
    expect(analyzeOrder(input).map((t) => t.name)).toEqual([
      'public.big',
      'public.mid',
      'pg_catalog.pg_class',
      'public.small',
    ]);
    expect(input[0].name).toBe('public.small');
  });
});

describe('analyzeTargetsSql', () => {
  test('the relations a database-wide ANALYZE processes: r/m/p, no partitions, no other session’s temp tables', () => {
    const sql = analyzeTargetsSql(150020);
    expect(sql).toContain(`c.relkind IN ('r', 'm', 'p') AND NOT c.relispartition`);
    expect(sql).toContain(`c.relpersistence <> 't' OR n.oid = pg_catalog.pg_my_temp_schema()`);
    expect(sql).toContain(`NOT c.relisshared AND pg_catalog.pg_has_role(`);
    expect(sql).toContain(`pg_catalog.format('%I.%I', n.nspname, c.relname)`);
  });
  test('the MAINTAIN privilege is asked about from PostgreSQL 17 only (older servers reject the word)', () => {
    expect(analyzeTargetsSql(160004)).not.toContain('MAINTAIN');
    expect(analyzeTargetsSql(170000)).toContain(`has_table_privilege(c.oid, 'MAINTAIN')`);
  });
});

test('analyzeDescription: what the phase commands and the dry-run plan show', () => {
  expect(analyzeDescription(77, 2)).toBe(
    '# ANALYZE 77 relation(s) (as a database-wide ANALYZE would) on 2 connection(s) at once, largest first',
  );
  expect(analyzeDescription(undefined, 'auto')).toMatch(/^# ANALYZE every relation .* RESTORE_ANALYZE_JOBS=auto/);
});
