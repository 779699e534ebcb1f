/** The schema-parity check family (lib/checks/families/schema-parity/family.ts), turned into tests by lib/checks/runner.ts. */
import { registerFamily } from '../lib/checks/runner.ts';

await registerFamily('schema-parity');
