/** The pgvector check family (lib/checks/families/pgvector/family.ts), turned into tests by lib/checks/runner.ts. */
import { registerFamily } from '../lib/checks/runner.ts';

await registerFamily('pgvector');
