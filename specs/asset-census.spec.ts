/** The asset-census check family (lib/checks/families/asset-census/family.ts), turned into tests by lib/checks/runner.ts. */
import { registerFamily } from '../lib/checks/runner.ts';

await registerFamily('asset-census');
