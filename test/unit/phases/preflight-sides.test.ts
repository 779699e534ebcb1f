/**
 * Issue 26: a preflight message names the side it is about. The target role's check quoted the source's DSN under the
 * target's label ("could not read the target role's powers: cannot connect to <source DSN>"); sideProblem words
 * every such problem with its own side's DSN, the password masked.
 */
import { expect, test } from 'vitest';
import { parseDsn } from '../../../lib/core/dsn.ts';
import { sideProblem } from '../../../lib/phases/preflight.ts';

const SRC = parseDsn('postgresql://app:Src-Secret-1@db-src.invalid:6543/legacy', 'SRC_DATABASE_URL'); // secret-scan:allow (made-up fixture password)
const DST = parseDsn('postgresql://app:Dst-Secret-2@db-dst.invalid:7654/staging', 'DST_DATABASE_URL'); // secret-scan:allow (made-up fixture password)
const config = { connectTimeoutMs: 10_000 };

test("a failed query on the target names the target's DSN (password masked) and the server's message, never the source", () => {
  const e = Object.assign(new Error('permission denied for table pg_authid'), { code: '42501' });
  const m = sideProblem('target', DST, "read the target role's powers", e, config);
  expect(m).toBe(
    "could not read the target role's powers on the target postgresql://app:***@db-dst.invalid:7654/staging: permission denied for table pg_authid (SQLSTATE 42501)",
  );
  expect(m).not.toMatch(/Dst-Secret-2|6543|legacy/);
});

test("a source that does not answer is named as the source, with the connection's own cause", () => {
  const e = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6543'), { code: 'ECONNREFUSED' });
  const m = sideProblem('source', SRC, 'read what the restore needs', e, config);
  expect(m).toMatch(
    /^could not read what the restore needs: the source postgresql:\/\/app:\*\*\*@db-src\.invalid:6543\/legacy is not reachable \(connect ECONNREFUSED/,
  );
  expect(m).not.toMatch(/Src-Secret-1|target/);
  const t = sideProblem(
    'source',
    SRC,
    'read what the restore needs',
    new Error('cannot connect: timeout expired'),
    config,
  );
  expect(t).toContain('did not answer within CONNECT_TIMEOUT_MS=10000');
});
