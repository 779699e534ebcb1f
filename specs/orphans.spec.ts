/** The orphans check family (lib/checks/families/orphans/family.ts), turned into tests by lib/checks/runner.ts. */
import { registerFamily } from '../lib/checks/runner.ts';

await registerFamily('orphans');
