import path from 'node:path';

/** The project's root folder (where package.json is), whatever the current directory. */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');
