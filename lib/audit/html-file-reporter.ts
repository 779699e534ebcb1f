/** vitest loads a reporter by path from its default export: the guarded HTML report writer (file-reporters.ts). */
import { GuardedHtmlReporter } from './file-reporters.ts';

export default GuardedHtmlReporter;
