/** The row-counts check family (lib/checks/families/row-counts/family.ts), turned into tests by lib/checks/runner.ts. */
import { registerFamily } from '../lib/checks/runner.ts';

await registerFamily('row-counts');
