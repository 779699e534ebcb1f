/** The large-objects check family (lib/checks/families/large-objects/family.ts), turned into tests by lib/checks/runner.ts. */
import { registerFamily } from '../lib/checks/runner.ts';

await registerFamily('large-objects');
