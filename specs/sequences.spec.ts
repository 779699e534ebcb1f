/** The sequences check family (lib/checks/families/sequences/family.ts), turned into tests by lib/checks/runner.ts. */
import { registerFamily } from '../lib/checks/runner.ts';

await registerFamily('sequences');
