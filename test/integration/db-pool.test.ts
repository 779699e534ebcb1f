/**
 * The shared check pools (lib/core/db.ts getPool) against a real server: a fresh pooled connection is fully set up
 * (client_connection_check_interval) before anyone can query it, so no query is ever queued behind another on one
 * client (node-postgres deprecates that: "Calling client.query() when the client is already executing a query").
 */
import { afterAll, expect, test } from 'vitest';
import { closePools, getPool } from '../../lib/core/db.ts';
import { parseDsn } from '../../lib/core/dsn.ts';
import { freshDb } from '../helpers/sandbox.ts';

afterAll(() => closePools());

test('pool.query on fresh pooled connections queues nothing behind the set-up query (no pg deprecation warning)', async () => {
  const warnings: string[] = [];
  const listen = (w: Error) => warnings.push(w.message);
  process.on('warning', listen);
  try {
    const db = await freshDb('target');
    const pool = getPool(parseDsn(db.url), { max: 4 });
    // Four fresh connections at once, each asked a query the moment pg-pool hands it out.
    const rows = await Promise.all([1, 2, 3, 4].map((n) => pool.query<{ n: number }>('SELECT $1::int AS n', [n])));
    expect(rows.map((r) => r.rows[0].n)).toEqual([1, 2, 3, 4]);
    // The set-up still happened on each connection (PostgreSQL 14+).
    const c = await pool.query<{ v: string }>(`SELECT current_setting('client_connection_check_interval') AS v`);
    expect(c.rows[0].v).toBe('2s');
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', listen);
  }
  expect(warnings.filter((w) => /already executing a query/.test(w))).toEqual([]);
});
