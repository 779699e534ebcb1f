/** vitest loads a reporter by path from its default export: the guarded results.json writer (file-reporters.ts). */
import { GuardedJsonReporter } from './file-reporters.ts';

export default GuardedJsonReporter;
