/**
 * rw27: behaviour that lives outside a function's body text and a view's query text: STRICT, an argument default,
 * PARALLEL (migra#49, pgmodeler#1947), a view's security_invoker / WITH CHECK OPTION (supabase/cli#792: losing
 * security_invoker makes the view read with its owner's rights). A correct copy is green; each fault is red naming
 * the function or view and the clause.
 */
import { test } from 'vitest';
import { afterTheCopy } from '../../helpers/cases.ts';
import { expectAllRed, runFaultBlocks } from './rw25-fault-blocks.ts';

const FUNCTIONS = 'schema functions';
const VIEWS = 'schema views and materialized views';
const FEE = /FUNCTION public\.fee\(numeric, numeric\) differs: /;

test('rw27: STRICT, argument defaults, PARALLEL, security_invoker and CHECK OPTION differences are red, named', async () => {
  const { s } = await afterTheCopy('rw27-function-view-options.sql', [FUNCTIONS, VIEWS]);
  expectAllRed(await runFaultBlocks(s, 'rw27-function-view-options.faults.sql'), {
    'STRICT lost (fee(NULL) now evaluates instead of returning NULL)': [
      FUNCTIONS,
      [FEE, /- LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE \| \+ LANGUAGE sql IMMUTABLE PARALLEL SAFE/],
    ],
    'default argument value changed (0.02 -> 0.05)': [FUNCTIONS, [FEE, /DEFAULT 0\.02.*\| \+ .*DEFAULT 0\.05/]],
    'PARALLEL SAFE lost': [
      FUNCTIONS,
      [FEE, /- LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE \| \+ LANGUAGE sql IMMUTABLE STRICT/],
    ],
    "view loses security_invoker (it now reads accounts with its owner's rights: RLS bypassed for the owner)": [
      VIEWS,
      [/VIEW public\.my_accounts differs: - .*security_invoker='true'/],
    ],
    'view loses WITH CHECK OPTION': [VIEWS, [/VIEW public\.big_accounts differs: .*CHECK OPTION/]],
  });
}, 900_000);
