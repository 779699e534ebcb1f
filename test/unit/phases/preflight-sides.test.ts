/**
 * Issue 26: a preflight message names the side it is about. The target role's check quoted the source's DSN under the
 * target's label ("could not read the target role's powers: cannot connect to <source DSN>"); sideProblem words
 * every such problem with its own side's DSN, the password masked.
 */
import { randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import { parseDsn } from '../../../lib/core/dsn.ts';
import { escapeRegExp, MASK } from '../../../lib/core/redact.ts';
import { sideProblem } from '../../../lib/phases/preflight.ts';

// Made-up passwords, generated per run: no DSN with a password literal in a tracked file.
const SRC_PW = `src-${randomUUID()}`;
const DST_PW = `dst-${randomUUID()}`;
const SRC = parseDsn(`postgresql://app:${SRC_PW}@db-src.invalid:6543/legacy`, 'SRC_DATABASE_URL');
const DST = parseDsn(`postgresql://app:${DST_PW}@db-dst.invalid:7654/staging`, 'DST_DATABASE_URL');
const config = { connectTimeoutMs: 10_000 };

test("a failed query on the target names the target's DSN (password masked) and the server's message, never the source", () => {
  const e = Object.assign(new Error('permission denied for table pg_authid'), { code: '42501' });
  const m = sideProblem('target', DST, "read the target role's powers", e, config);
  expect(m).toBe(
    `could not read the target role's powers on the target postgresql://app:${MASK}@db-dst.invalid:7654/staging: permission denied for table pg_authid (SQLSTATE 42501)`,
  );
  expect(m).not.toContain(DST_PW);
  expect(m).not.toMatch(/6543|legacy/);
});

test("a source that does not answer is named as the source, with the connection's own cause", () => {
  const e = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6543'), { code: 'ECONNREFUSED' });
  const m = sideProblem('source', SRC, 'read what the restore needs', e, config);
  expect(m).toMatch(
    new RegExp(
      `^could not read what the restore needs: the source ${escapeRegExp(`postgresql://app:${MASK}@db-src.invalid:6543/legacy`)} is not reachable \\(connect ECONNREFUSED`,
    ),
  );
  expect(m).not.toContain(SRC_PW);
  expect(m).not.toMatch(/target/);
  const t = sideProblem(
    'source',
    SRC,
    'read what the restore needs',
    new Error('cannot connect: timeout expired'),
    config,
  );
  expect(t).toContain('did not answer within CONNECT_TIMEOUT_MS=10000');
});
