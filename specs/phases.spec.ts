/** The phases check family (lib/checks/families/phases/family.ts), turned into tests by lib/checks/runner.ts. */
import { registerFamily } from '../lib/checks/runner.ts';

await registerFamily('phases');
