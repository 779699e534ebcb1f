/** The isolation check family (lib/checks/families/isolation/family.ts), turned into tests by lib/checks/runner.ts. */
import { registerFamily } from '../lib/checks/runner.ts';

await registerFamily('isolation');
