/** The checksums check family (lib/checks/families/checksums/family.ts), turned into tests by lib/checks/runner.ts. */
import { registerFamily } from '../lib/checks/runner.ts';

await registerFamily('checksums');
