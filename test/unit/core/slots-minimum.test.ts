/** Issue 26 (few free connection slots): the fewest a server must have, and which servers the run's pools share. */
import { describe, expect, test } from 'vitest';
import { minimumSlots, serversOf } from '../../../lib/core/db.ts';
import { parseDsn } from '../../../lib/core/dsn.ts';

describe('minimumSlots', () => {
  test('a server of its own needs its pool and one connection beside it', () => {
    expect(minimumSlots(1)).toBe(2);
  });
  test('a server holding source and target needs both pools and one beside them', () => {
    expect(minimumSlots(2)).toBe(3);
  });
});

describe('serversOf', () => {
  test('two databases on one server are one server with two pools; another port is another server', () => {
    const a = parseDsn('postgresql://u@127.0.0.1:5432/src');
    const b = parseDsn('postgresql://u@127.0.0.1:5432/dst');
    const c = parseDsn('postgresql://u@127.0.0.1:5433/dst');
    expect(serversOf([a, b]).map((s) => s.pools)).toEqual([2]);
    expect(serversOf([c, a]).map((s) => [s.dsn.port, s.pools])).toEqual([
      [5433, 1],
      [5432, 1],
    ]);
  });
});
