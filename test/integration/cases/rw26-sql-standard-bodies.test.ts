/**
 * rw26: SQL-standard function and procedure bodies (`RETURN …`, `BEGIN ATOMIC`; PostgreSQL 14+) live parsed in
 * pg_proc.prosqlbody with an empty prosrc, so a hash of prosrc never sees them change (pgschema#241). pg_dump renders
 * the body: a correct copy is green, and each changed body is red in `schema functions`, naming the routine and the
 * changed line.
 */
import { test } from 'vitest';
import { afterTheCopy } from '../../helpers/cases.ts';
import { expectAllRed, runFaultBlocks } from './rw25-fault-blocks.ts';

const FUNCTIONS = 'schema functions';

test('rw26: changed RETURN / BEGIN ATOMIC bodies are red in schema functions, naming the routine', async () => {
  const { s } = await afterTheCopy('rw26-sql-standard-bodies.sql', [FUNCTIONS]);
  expectAllRed(await runFaultBlocks(s, 'rw26-sql-standard-bodies.faults.sql'), {
    'VAT rate in the RETURN body changed (19% -> 7%)': [
      FUNCTIONS,
      [
        /FUNCTION public\.gross\(numeric\) differs: - RETURN round\(\(net \* 1\.19\), 2\); \| \+ RETURN round\(\(net \* 1\.07\), 2\);/,
      ],
    ],
    'BEGIN ATOMIC body changed (reads another column)': [
      FUNCTIONS,
      [/FUNCTION public\.price_of\(text\) differs: - SELECT public\.gross\(p\.net\) AS gross \| \+ SELECT p\.net/],
    ],
    'procedure body changed (UPDATE -> DELETE)': [
      FUNCTIONS,
      [/PROCEDURE public\.bump\(numeric\) differs: - UPDATE public\.prices .*\| \+ DELETE FROM public\.prices/],
    ],
  });
}, 900_000);
