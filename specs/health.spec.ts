/** The health check family (lib/checks/families/health/family.ts), turned into tests by lib/checks/runner.ts. */
import { registerFamily } from '../lib/checks/runner.ts';

await registerFamily('health');
