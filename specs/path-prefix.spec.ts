/** The path-prefix check family (lib/checks/families/path-prefix/family.ts), turned into tests by lib/checks/runner.ts. */
import { registerFamily } from '../lib/checks/runner.ts';

await registerFamily('path-prefix');
